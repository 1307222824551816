import { expect } from 'chai';
import { Long, MongoBulkWriteError, MongoServerError, ObjectId, type Db, type Document } from 'mongodb';
import { shimsPerSuite, type ShimProcess } from '../libs/index.js';

describe('mongod-shim: handshake and CRUD through the official driver', function () {
  const shims = shimsPerSuite();
  let shim: ShimProcess;
  let db: Db;

  before(async () => {
    shim = await shims.launch();
    db = (await shim.client()).db('crud');
  });

  it('answers hello with the limits and wire versions a 7.0-level server reports', async () => {
    const hello = await db.admin().command({ hello: 1 });
    expect(hello).to.include({ isWritablePrimary: true, maxBsonObjectSize: 16777216, maxMessageSizeBytes: 48000000, maxWriteBatchSize: 100000, minWireVersion: 0, maxWireVersion: 21, logicalSessionTimeoutMinutes: 30, ok: 1 });
    expect(hello.localTime).to.be.instanceOf(Date);
    expect(hello.connectionId).to.be.a('number');
    expect(hello.topologyVersion.processId).to.be.instanceOf(ObjectId);
  });

  it('answers the legacy isMaster with ismaster: true', async () => {
    const reply = await db.admin().command({ isMaster: 1 });
    expect(reply.ismaster).to.equal(true);
    expect(reply.isWritablePrimary).to.equal(undefined);
  });

  it('inserts and finds documents, generating an ObjectId _id when missing', async () => {
    const people = db.collection('people');
    const result = await people.insertOne({ name: 'ada', born: 1815 });
    expect(result.insertedId).to.be.instanceOf(ObjectId);
    const found = await people.findOne({ name: 'ada' });
    expect(found).to.deep.include({ name: 'ada', born: 1815 });
    expect(Object.keys(found!)[0]).to.equal('_id');
  });

  it('replies to insert, update and delete with mongod reply shapes', async () => {
    const insert = await db.command({ insert: 'shapes', documents: [{ _id: 1, a: 1 }, { _id: 2, a: 2 }] });
    expect(insert).to.deep.equal({ n: 2, ok: 1 });
    const update = await db.command({ update: 'shapes', updates: [{ q: { _id: 1 }, u: { $set: { a: 10 } } }, { q: { _id: 2 }, u: { $set: { a: 2 } } }] });
    expect(update).to.deep.equal({ n: 2, nModified: 1, ok: 1 });
    const upsert = await db.command({ update: 'shapes', updates: [{ q: { _id: 3 }, u: { $set: { a: 3 } }, upsert: true }] });
    expect(upsert).to.deep.equal({ n: 1, nModified: 0, upserted: [{ index: 0, _id: 3 }], ok: 1 });
    const removal = await db.command({ delete: 'shapes', deletes: [{ q: { a: { $gte: 3 } }, limit: 0 }] });
    expect(removal).to.deep.equal({ n: 2, ok: 1 });
  });

  it('refuses a duplicate _id with E11000 in writeErrors, and stops an ordered batch there', async () => {
    await db.collection('unique').insertOne({ _id: 7 as never });
    const reply = await db.command({ insert: 'unique', documents: [{ _id: 8 }, { _id: 7 }, { _id: 9 }] });
    expect(reply.n).to.equal(1);
    expect(reply.writeErrors).to.have.length(1);
    expect(reply.writeErrors[0]).to.include({ index: 1, code: 11000 });
    expect(reply.writeErrors[0].errmsg).to.match(/^E11000 duplicate key error collection: crud\.unique index: _id_ dup key/);
    expect(reply.writeErrors[0].keyValue).to.deep.equal({ _id: 7 });
    expect(await db.collection('unique').countDocuments({ _id: 9 as never })).to.equal(0);

    const error = await db.collection('unique').insertOne({ _id: 7.0 as never }).catch((caught: unknown) => caught);
    expect(error).to.be.instanceOf(MongoServerError);
    expect((error as MongoServerError).code).to.equal(11000);
  });

  it('continues an unordered batch past a duplicate', async () => {
    const error = await db
      .collection('unordered')
      .insertMany([{ _id: 1 }, { _id: 1 }, { _id: 2 }] as never[], { ordered: false })
      .catch((caught: unknown) => caught);
    expect(error).to.be.instanceOf(MongoBulkWriteError);
    expect((error as MongoBulkWriteError).insertedCount).to.equal(2);
  });

  it('updates with $set, $unset, $inc, $push and $setOnInsert, and upserts', async () => {
    const counters = db.collection<Document>('counters');
    await counters.insertOne({ _id: 'a' as never, n: 1, tags: ['x'], stale: true });
    const result = await counters.updateOne({ _id: 'a' as never }, { $inc: { n: 2 }, $push: { tags: 'y' }, $unset: { stale: '' }, $set: { 'meta.touched': true } } as Document);
    expect(result).to.include({ matchedCount: 1, modifiedCount: 1 });
    expect(await counters.findOne({ _id: 'a' as never })).to.deep.equal({ _id: 'a', n: 3, tags: ['x', 'y'], meta: { touched: true } });

    const upsert = await counters.updateOne({ _id: 'b' as never }, { $setOnInsert: { created: true }, $inc: { n: 1 } }, { upsert: true });
    expect(upsert).to.include({ matchedCount: 0, modifiedCount: 0, upsertedCount: 1, upsertedId: 'b' });
    expect(await counters.findOne({ _id: 'b' as never })).to.deep.equal({ _id: 'b', created: true, n: 1 });

    const unchanged = await counters.updateOne({ _id: 'b' as never }, { $set: { n: 1 } });
    expect(unchanged).to.include({ matchedCount: 1, modifiedCount: 0 });

    const many = await counters.updateMany({}, { $set: { all: 1 } });
    expect(many).to.include({ matchedCount: 2, modifiedCount: 2 });

    const replaced = await counters.replaceOne({ _id: 'a' as never }, { only: 'this' });
    expect(replaced.modifiedCount).to.equal(1);
    expect(await counters.findOne({ _id: 'a' as never })).to.deep.equal({ _id: 'a', only: 'this' });
  });

  it('refuses $inc on a string with TypeMismatch and an _id change with ImmutableField', async () => {
    const things = db.collection('things');
    await things.insertOne({ _id: 1 as never, s: 'text' });
    const typeError = await things.updateOne({ _id: 1 as never }, { $inc: { s: 1 } }).catch((caught: unknown) => caught);
    expect((typeError as MongoServerError).code).to.equal(14);
    const immutable = await things.updateOne({ _id: 1 as never }, { $set: { _id: 2 } }).catch((caught: unknown) => caught);
    expect((immutable as MongoServerError).code).to.equal(66);
  });

  it('deletes one or many', async () => {
    const items = db.collection('items');
    await items.insertMany([{ k: 1 }, { k: 1 }, { k: 2 }]);
    expect((await items.deleteOne({ k: 1 })).deletedCount).to.equal(1);
    expect((await items.deleteMany({})).deletedCount).to.equal(2);
  });

  it('keeps numeric types as stored (int, long, double)', async () => {
    const numbers = db.collection('numbers');
    await numbers.insertOne({ _id: 1 as never, int: 1, long: Long.fromNumber(2), double: 2.5 });
    const found = await numbers.findOne({ _id: 1 as never }, { promoteLongs: false });
    expect(found!.long).to.be.instanceOf(Long);
    expect(await numbers.countDocuments({ long: 2 })).to.equal(1);
  });

  it('answers count and distinct', async () => {
    const colors = db.collection('colors');
    await colors.insertMany([{ c: 'red', n: [1, 2] }, { c: 'blue', n: 2 }, { c: 'red', n: 3 }]);
    expect(await colors.estimatedDocumentCount()).to.equal(3);
    expect(await colors.distinct('c')).to.deep.equal(['blue', 'red']);
    expect(await colors.distinct('n', { c: 'red' })).to.deep.equal([1, 2, 3]);
  });

  it('creates and drops collections with NamespaceExists and NamespaceNotFound errors', async () => {
    await db.createCollection('made');
    const exists = await db.command({ create: 'made' }).catch((caught: unknown) => caught);
    expect((exists as MongoServerError).code).to.equal(48);
    expect((exists as MongoServerError).codeName).to.equal('NamespaceExists');
    await db.command({ drop: 'made' });
    const missing = await db.command({ drop: 'made' }).catch((caught: unknown) => caught);
    expect((missing as MongoServerError).code).to.equal(26);
  });

  it('refuses invalid namespaces with InvalidNamespace (73)', async () => {
    for (const name of ['a/b', '..', 'x\\y', 'with$dollar']) {
      const error = await db.command({ insert: name, documents: [{}] }).catch((caught: unknown) => caught);
      expect((error as MongoServerError).code, name).to.equal(73);
    }
  });

  it('answers an unknown command with CommandNotFound (59)', async () => {
    const error = await db.command({ frobnicate: 1 }).catch((caught: unknown) => caught);
    expect(error).to.be.instanceOf(MongoServerError);
    expect((error as MongoServerError).code).to.equal(59);
    expect((error as MongoServerError).codeName).to.equal('CommandNotFound');
  });

  it('lists collections with the engine table URI and UUID in info', async () => {
    await db.collection('listed').insertOne({});
    const collections = (await db.listCollections({ name: 'listed' }).toArray()) as Document[];
    expect(collections).to.have.length(1);
    expect(collections[0]!.info).to.include({ uri: 'table:crud.listed', readOnly: false });
    expect((collections[0]!.info as { uuid: unknown }).uuid).to.exist;
    const names = (await db.listCollections({}, { nameOnly: true }).toArray()).map((collection) => collection.name);
    expect(names).to.include.members(['listed', 'people']);
    const databases = await db.admin().listDatabases();
    expect(databases.databases.map((database) => database.name)).to.include('crud');
  });
});
