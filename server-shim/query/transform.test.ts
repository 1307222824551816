import { expect } from 'chai';
import { Double, Int32, Long, ObjectId } from 'bson';
import { CommandError } from '../errors/index.js';
import { decodeDocument, encodeDocument, type Document } from '../values/index.js';
import { compilePipeline, compileProjection, compileSort, compileUpdate, planAccess, upsertSeed } from './index.js';

const stored = (document: Document): Document => decodeDocument(encodeDocument(document));
/** Plain JSON-like values for deep comparisons (BSON numbers become numbers). */
const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value, (_key, inner) => (inner instanceof Long ? inner.toNumber() : inner)));

describe('query: sort', () => {
  const documents = [{ _id: 1, a: 2 }, { _id: 2, a: 'x' }, { _id: 3 }, { _id: 4, a: [5, 0] }, { _id: 5, a: new Double(1.5) }].map(stored);

  it('sorts ascending by mongod type order, arrays by their smallest element, missing as null', () => {
    const sort = compileSort({ a: 1, _id: 1 })!;
    expect([...documents].sort(sort.compare).map((document) => Number(document._id))).to.deep.equal([3, 4, 5, 1, 2]);
  });

  it('sorts descending with arrays by their largest element', () => {
    const sort = compileSort({ a: -1 })!;
    expect([...documents].sort(sort.compare).map((document) => Number(document._id))).to.deep.equal([2, 4, 1, 5, 3]);
  });

  it('rejects a direction other than 1 or -1', () => {
    expect(() => compileSort({ a: 2 })).to.throw(CommandError, /ordering must be 1/);
  });
});

describe('query: projection', () => {
  const document = stored({ _id: 1, a: 1, b: { c: 2, d: 3 }, e: [{ f: 1, g: 2 }, { f: 3 }], h: 'x' });

  it('includes fields in document order and keeps _id', () => {
    expect(plain(compileProjection({ h: 1, a: 1 })!(document))).to.deep.equal({ _id: 1, a: 1, h: 'x' });
  });

  it('drops _id on request', () => {
    expect(plain(compileProjection({ a: 1, _id: 0 })!(document))).to.deep.equal({ a: 1 });
  });

  it('includes dotted paths inside documents and arrays of documents', () => {
    expect(plain(compileProjection({ 'b.c': 1, 'e.f': 1 })!(document))).to.deep.equal({ _id: 1, b: { c: 2 }, e: [{ f: 1 }, { f: 3 }] });
  });

  it('excludes fields', () => {
    expect(plain(compileProjection({ b: 0, e: 0, h: 0 })!(document))).to.deep.equal({ _id: 1, a: 1 });
    expect(plain(compileProjection({ 'b.d': 0, _id: 0, e: 0 })!(document))).to.deep.equal({ a: 1, b: { c: 2 }, h: 'x' });
  });

  it('computes fields from expressions', () => {
    expect(plain(compileProjection({ total: { $add: ['$a', '$b.c'] }, name: '$h' })!(document))).to.deep.equal({ _id: 1, total: 3, name: 'x' });
  });

  it('refuses to mix inclusion and exclusion', () => {
    expect(() => compileProjection({ a: 1, b: 0 })).to.throw(CommandError).with.property('code', 31254);
    expect(() => compileProjection({ a: 0, b: 1 })).to.throw(CommandError).with.property('code', 31253);
  });
});

describe('query: updates', () => {
  const original = stored({ _id: 1, a: 1, b: { c: 'x' }, list: [1, 2] });

  it('replaces a document and keeps its _id first', () => {
    const result = compileUpdate(stored({ z: 1 })).apply(original, false);
    expect(Object.keys(result)).to.deep.equal(['_id', 'z']);
  });

  it('refuses a replacement that changes _id', () => {
    expect(() => compileUpdate(stored({ _id: 2 })).apply(original, false)).to.throw(CommandError).with.property('code', 66);
  });

  it('applies $set, $unset, $inc and $push', () => {
    const result = compileUpdate(stored({ $set: { 'b.d': 5, n: 'new' }, $unset: { a: '' }, $inc: { count: 2 }, $push: { list: 3 } })).apply(original, false);
    expect(plain(result)).to.deep.equal({ _id: 1, b: { c: 'x', d: 5 }, list: [1, 2, 3], count: 2, n: 'new' });
  });

  it('keeps integer types through $inc and widens on overflow', () => {
    const result = compileUpdate(stored({ $inc: { a: 2147483647 } })).apply(original, false);
    expect(result.a).to.be.instanceOf(Long);
    const small = compileUpdate(stored({ $inc: { a: 1 } })).apply(original, false);
    expect(small.a).to.be.instanceOf(Int32);
  });

  it('refuses $inc on a string with TypeMismatch', () => {
    expect(() => compileUpdate(stored({ $inc: { 'b.c': 1 } })).apply(original, false)).to.throw(CommandError).with.property('code', 14);
  });

  it('refuses an unknown modifier with FailedToParse', () => {
    expect(() => compileUpdate(stored({ $frobnicate: { a: 1 } }))).to.throw(CommandError, /Unknown modifier/).with.property('code', 9);
  });

  it('refuses conflicting paths', () => {
    expect(() => compileUpdate(stored({ $set: { a: 1 }, $inc: { 'a.b': 1 } }))).to.throw(CommandError).with.property('code', 40);
  });

  it('refuses to change _id with $set', () => {
    expect(() => compileUpdate(stored({ $set: { _id: 5 } })).apply(original, false)).to.throw(CommandError).with.property('code', 66);
  });

  it('applies $setOnInsert only when inserting', () => {
    const update = compileUpdate(stored({ $setOnInsert: { created: true } }));
    expect(update.apply(original, false).created).to.equal(undefined);
    expect(update.apply(original, true).created).to.equal(true);
  });

  it('seeds an upsert from the equality fields of the filter', () => {
    expect(plain(upsertSeed(stored({ a: 1, 'b.c': 2, d: { $gt: 1 } })))).to.deep.equal({ a: 1, b: { c: 2 } });
  });

  it('applies a pipeline update', () => {
    const result = compileUpdate([{ $set: { sum: { $add: ['$a', 10] } } }]).apply(original, false);
    expect(plain(result.sum)).to.equal(11);
  });
});

describe('query: pipeline', () => {
  const input = [
    { _id: 1, team: 'a', score: 10 },
    { _id: 2, team: 'b', score: 5 },
    { _id: 3, team: 'a', score: 7 },
    { _id: 4, team: 'c', score: 1, tags: ['x', 'y'] },
  ].map(stored);

  it('groups with $sum, $avg, $min, $max, $first and $push', () => {
    const pipeline = compilePipeline([
      { $group: { _id: '$team', total: { $sum: '$score' }, average: { $avg: '$score' }, low: { $min: '$score' }, high: { $max: '$score' }, first: { $first: '$_id' }, ids: { $push: '$_id' } } },
      { $sort: { _id: 1 } },
    ]);
    expect(plain([...pipeline(input)])).to.deep.equal([
      { _id: 'a', total: 17, average: 8.5, low: 7, high: 10, first: 1, ids: [1, 3] },
      { _id: 'b', total: 5, average: 5, low: 5, high: 5, first: 2, ids: [2] },
      { _id: 'c', total: 1, average: 1, low: 1, high: 1, first: 4, ids: [4] },
    ]);
  });

  it('counts like the driver countDocuments pipeline', () => {
    const pipeline = compilePipeline([{ $match: { team: 'a' } }, { $group: { _id: 1, n: { $sum: 1 } } }]);
    expect(plain([...pipeline(input)])).to.deep.equal([{ _id: 1, n: 2 }]);
  });

  it('gives no document for $count over nothing', () => {
    expect([...compilePipeline([{ $match: { team: 'z' } }, { $count: 'n' }])(input)]).to.deep.equal([]);
  });

  it('sorts, skips, limits, projects and adds fields', () => {
    const pipeline = compilePipeline([{ $sort: { score: -1 } }, { $skip: 1 }, { $limit: 2 }, { $addFields: { double: { $multiply: ['$score', 2] } } }, { $project: { _id: 0, double: 1 } }]);
    expect(plain([...pipeline(input)])).to.deep.equal([{ double: 14 }, { double: 10 }]);
  });

  it('keeps only the top documents for a sort followed by a limit', () => {
    const pipeline = compilePipeline([{ $sort: { score: 1 } }, { $limit: 2 }]);
    expect([...pipeline(input)].map((document) => Number(document._id))).to.deep.equal([4, 2]);
  });

  it('unwinds arrays', () => {
    expect([...compilePipeline([{ $unwind: '$tags' }])(input)].map((document) => document.tags)).to.deep.equal(['x', 'y']);
  });

  it('rejects an unknown stage with code 40324', () => {
    expect(() => compilePipeline([{ $bogus: {} }])).to.throw(CommandError).with.property('code', 40324);
  });
});

describe('query: access planning', () => {
  it('uses point lookups for _id equality and $in', () => {
    expect(planAccess({ _id: 5 }, '_id')).to.deep.equal({ kind: 'points', values: [5] });
    const id = new ObjectId();
    expect(planAccess({ $and: [{ _id: { $in: [3, 1, 3] } }] }, '_id')).to.deep.equal({ kind: 'points', values: [1, 3] });
    expect(planAccess({ _id: id, a: 1 }, '_id').kind).to.equal('points');
  });

  it('uses a range for _id comparisons', () => {
    const plan = planAccess({ _id: { $gt: 1, $lte: 9 } }, '_id');
    expect(plan).to.deep.include({ kind: 'range' });
    expect(plan.kind === 'range' && plan.lower).to.deep.equal({ value: 1, inclusive: false });
    expect(plan.kind === 'range' && plan.upper).to.deep.equal({ value: 9, inclusive: true });
  });

  it('reads nothing for ranges in different type brackets', () => {
    expect(planAccess({ _id: { $gt: 1, $lt: 'a' } }, '_id')).to.deep.equal({ kind: 'points', values: [] });
  });

  it('scans for anything else', () => {
    expect(planAccess({ a: 1 }, '_id')).to.deep.equal({ kind: 'scan' });
    expect(planAccess({ _id: /x/ }, '_id')).to.deep.equal({ kind: 'scan' });
  });
});
