import { expect } from 'chai';
import { MongoServerError, type Collection, type Db, type Document } from 'mongodb';
import { shimsPerSuite, type ShimProcess } from '../libs/index.js';

describe('mongod-shim: queries, cursors and aggregation through the official driver', function () {
  const shims = shimsPerSuite();
  let shim: ShimProcess;
  let db: Db;
  let people: Collection<Document>;

  before(async () => {
    shim = await shims.launch({ setParameters: { cursorTimeoutMillis: 1000, clientCursorMonitorFrequencySecs: 1 } });
    db = (await shim.client()).db('queries');
    people = db.collection('people');
    await people.insertMany([
      { _id: 1, name: 'ada', age: 36, tags: ['math', 'engines'], address: { city: 'london' } },
      { _id: 2, name: 'grace', age: 85, tags: ['cobol'], address: { city: 'new york' } },
      { _id: 3, name: 'alan', age: 41.5, tags: ['math'], address: { city: 'wilmslow' } },
      { _id: 4, name: 'edsger', age: 72, address: { city: 'nuenen' } },
      { _id: 5, name: 'barbara', age: null },
    ] as never[]);
  });

  const ids = async (filter: Document, options: Document = {}): Promise<unknown[]> => (await people.find(filter, options).toArray()).map((document) => document._id);

  it('matches equality, including on array elements and embedded documents', async () => {
    expect(await ids({ name: 'ada' })).to.deep.equal([1]);
    expect(await ids({ tags: 'math' })).to.deep.equal([1, 3]);
    expect(await ids({ address: { city: 'nuenen' } })).to.deep.equal([4]);
    expect(await ids({ 'address.city': 'london' })).to.deep.equal([1]);
  });

  it('compares across numeric types and keeps comparisons within a type', async () => {
    expect(await ids({ age: { $gt: 40 } })).to.deep.equal([2, 3, 4]);
    expect(await ids({ age: { $gte: 36, $lt: 41.5 } })).to.deep.equal([1]);
    expect(await ids({ age: { $lte: 'z' } })).to.deep.equal([]);
  });

  it('supports $ne, $in, $nin, $exists, $and, $or, $nor, $not and $regex', async () => {
    expect(await ids({ age: { $ne: null } })).to.deep.equal([1, 2, 3, 4]);
    expect(await ids({ name: { $in: ['ada', 'alan'] } })).to.deep.equal([1, 3]);
    expect(await ids({ name: { $nin: ['ada', 'alan'] } })).to.deep.equal([2, 4, 5]);
    expect(await ids({ tags: { $exists: false } })).to.deep.equal([4, 5]);
    expect(await ids({ $and: [{ age: { $gt: 30 } }, { tags: 'math' }] })).to.deep.equal([1, 3]);
    expect(await ids({ $or: [{ name: 'grace' }, { age: 72 }] })).to.deep.equal([2, 4]);
    expect(await ids({ $nor: [{ name: 'grace' }, { age: { $gt: 40 } }] })).to.deep.equal([1, 5]);
    expect(await ids({ age: { $not: { $gt: 40 } } })).to.deep.equal([1, 5]);
    expect(await ids({ name: { $regex: '^A', $options: 'i' } })).to.deep.equal([1, 3]);
    expect(await ids({ name: /ar/ })).to.deep.equal([5]);
    expect(await ids({ age: null })).to.deep.equal([5]);
  });

  it('uses _id equality, $in and ranges', async () => {
    expect(await ids({ _id: 3 })).to.deep.equal([3]);
    expect(await ids({ _id: { $in: [5, 1, 9] } })).to.deep.equal([1, 5]);
    expect(await ids({ _id: { $gt: 2, $lte: 4 } })).to.deep.equal([3, 4]);
  });

  it('rejects an unknown query operator with BadValue (2)', async () => {
    const error = await people.find({ age: { $bogus: 1 } }).toArray().catch((caught: unknown) => caught);
    expect((error as MongoServerError).code).to.equal(2);
  });

  it('sorts on several keys in mongod type order, skips and limits', async () => {
    expect(await ids({}, { sort: { age: -1 } })).to.deep.equal([2, 4, 3, 1, 5]);
    expect(await ids({}, { sort: { 'address.city': 1, _id: -1 } })).to.deep.equal([5, 1, 2, 4, 3]);
    expect(await ids({}, { sort: { _id: -1 }, skip: 1, limit: 2 })).to.deep.equal([4, 3]);
  });

  it('projects with inclusion, exclusion and _id suppression', async () => {
    expect(await people.findOne({ _id: 1 as never }, { projection: { name: 1 } })).to.deep.equal({ _id: 1, name: 'ada' });
    expect(await people.findOne({ _id: 1 as never }, { projection: { name: 1, _id: 0, 'address.city': 1 } })).to.deep.equal({ name: 'ada', address: { city: 'london' } });
    expect(await people.findOne({ _id: 4 as never }, { projection: { address: 0, age: 0 } })).to.deep.equal({ _id: 4, name: 'edsger' });
    const error = await people.findOne({}, { projection: { name: 1, age: 0 } }).catch((caught: unknown) => caught);
    expect((error as MongoServerError).code).to.equal(31254);
  });

  it('returns large results in batches through getMore, with cursors surviving across batches', async () => {
    const many = db.collection('many');
    await many.insertMany(Array.from({ length: 1050 }, (_, index) => ({ _id: index, even: index % 2 === 0 })) as never[]);
    const first = await db.command({ find: 'many', filter: { even: true }, batchSize: 100 });
    expect(first.cursor.firstBatch).to.have.length(100);
    expect(first.cursor.id.isZero()).to.equal(false);
    expect(first.cursor.ns).to.equal('queries.many');
    const next = await db.command({ getMore: first.cursor.id, collection: 'many', batchSize: 200 });
    expect(next.cursor.nextBatch).to.have.length(200);
    expect(next.cursor.nextBatch[0]._id).to.equal(200);
    const all = await many.find({ even: true }, { batchSize: 50 }).toArray();
    expect(all).to.have.length(525);
    expect(all.map((document) => document._id)).to.deep.equal(Array.from({ length: 525 }, (_, index) => index * 2));
    await db.command({ killCursors: 'many', cursors: [first.cursor.id] });
    const gone = await db.command({ getMore: first.cursor.id, collection: 'many' }).catch((caught: unknown) => caught);
    expect((gone as MongoServerError).code).to.equal(43);
  });

  it('closes idle cursors after cursorTimeoutMillis', async () => {
    const first = await db.command({ find: 'many', batchSize: 2 });
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const error = await db.command({ getMore: first.cursor.id, collection: 'many' }).catch((caught: unknown) => caught);
    expect((error as MongoServerError).code).to.equal(43);
  });

  it('aggregates with $match, $group, $sort, $project, $skip, $limit and $count', async () => {
    const grouped = await people
      .aggregate([{ $match: { age: { $type: 'number' } } }, { $group: { _id: { $gt: ['$age', 50] }, total: { $sum: 1 }, oldest: { $max: '$age' }, names: { $push: '$name' } } }, { $sort: { _id: 1 } }])
      .toArray();
    expect(grouped).to.deep.equal([
      { _id: false, total: 2, oldest: 41.5, names: ['ada', 'alan'] },
      { _id: true, total: 2, oldest: 85, names: ['grace', 'edsger'] },
    ]);
    const projected = await people.aggregate([{ $sort: { age: -1 } }, { $skip: 1 }, { $limit: 2 }, { $project: { _id: 0, name: 1, decade: { $multiply: ['$age', 0.1] } } }]).toArray();
    expect(projected.map((document) => document.name)).to.deep.equal(['edsger', 'alan']);
    expect(await people.aggregate([{ $match: { tags: 'math' } }, { $count: 'n' }]).toArray()).to.deep.equal([{ n: 2 }]);
    const averaged = await people.aggregate([{ $group: { _id: null, average: { $avg: '$age' }, first: { $first: '$name' }, youngest: { $min: '$age' } } }]).toArray();
    expect(averaged[0]).to.deep.include({ first: 'ada', youngest: 36 });
  });

  it('counts with countDocuments (the driver sends $match + $group)', async () => {
    expect(await people.countDocuments()).to.equal(5);
    expect(await people.countDocuments({ tags: 'math' })).to.equal(2);
    expect(await people.countDocuments({ name: 'nobody' })).to.equal(0);
    expect(await people.countDocuments({}, { skip: 1, limit: 2 })).to.equal(2);
  });

  it('rejects an unknown pipeline stage', async () => {
    const error = await people.aggregate([{ $bogus: {} }]).toArray().catch((caught: unknown) => caught);
    expect((error as MongoServerError).code).to.equal(40324);
  });

  it('rejects a stage with more than one field, first in the pipeline as anywhere else', async () => {
    for (const pipeline of [[{ $match: {}, $limit: 1 }], [{ $limit: 5 }, { $match: {}, $limit: 1 }]]) {
      const error = await people.aggregate(pipeline).toArray().catch((caught: unknown) => caught);
      expect((error as MongoServerError).code, JSON.stringify(pipeline)).to.equal(40323);
    }
  });
});
