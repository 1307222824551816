import { expect } from 'chai';
import { MongoServerError, type Collection, type Db, type Document } from 'mongodb';
import { shimsPerSuite, type ShimProcess } from '../libs/index.js';

interface Item {
  _id: number;
  group: number;
  name: string;
}

/**
 * `explain` through the official driver's `.explain()` and the `explain` command, against a
 * real server process: mongod 8.0's shape, a plan that is the one that runs (an `_id`
 * equality examines one document, a scan every one), each verbosity, and mongod's errors.
 */
describe('mongod-shim: explain for find, aggregate and count', function () {
  const shims = shimsPerSuite();
  let shim: ShimProcess;
  let db: Db;
  let items: Collection<Item>;
  const total = 600;

  before(async () => {
    shim = await shims.launch({ replSet: 'rs0' });
    db = (await shim.client()).db('explaining');
    items = db.collection<Item>('items');
    await items.insertMany(Array.from({ length: total }, (_, i) => ({ _id: i, group: i % 3, name: `item${i}` })));
  });

  const verbosities = ['queryPlanner', 'executionStats', 'allPlansExecution'] as const;

  /** The top-level fields every explain reply has. */
  function expectEnvelope(explain: Document, command: string): void {
    expect(explain.ok).to.equal(1);
    expect(explain.explainVersion).to.equal('1');
    expect(explain.command).to.have.property(command);
    expect(explain.command.$db).to.equal('explaining');
    expect(explain.serverInfo).to.include.keys('host', 'port', 'version', 'gitVersion');
    expect(explain.serverInfo.port).to.equal(shim.port);
  }

  for (const verbosity of verbosities) {
    const executed = verbosity !== 'queryPlanner';

    it(`find ${verbosity}: an _id equality is one point lookup on the express path (EXPRESS_IXSCAN, 1 key and 1 document)`, async () => {
      const explain = await items.find({ _id: 123 }).explain(verbosity);
      expectEnvelope(explain, 'find');
      expect(explain.queryPlanner).to.deep.include({ namespace: 'explaining.items', parsedQuery: { _id: { $eq: 123 } }, rejectedPlans: [] });
      expect(explain.queryPlanner.winningPlan).to.deep.equal({ isCached: false, stage: 'EXPRESS_IXSCAN', keyPattern: '{ _id: 1 }', indexName: '_id_' });
      if (!executed) {
        expect(explain).to.not.have.property('executionStats');
        return;
      }
      const stats = explain.executionStats;
      expect(stats).to.deep.include({ executionSuccess: true, nReturned: 1, totalKeysExamined: 1, totalDocsExamined: 1 });
      expect(stats.executionTimeMillis).to.be.a('number');
      expect(stats.executionStages).to.deep.include({ stage: 'EXPRESS_IXSCAN', nReturned: 1, keysExamined: 1, docsExamined: 1 });
      expect(Object.hasOwn(stats, 'allPlansExecution')).to.equal(verbosity === 'allPlansExecution');
    });

    it(`find ${verbosity}: any other filter is a collection scan (COLLSCAN examines all ${total} documents)`, async () => {
      const explain = await items.find({ group: 1, name: { $regex: '^item1' } }).explain(verbosity);
      expectEnvelope(explain, 'find');
      const parsed = { $and: [{ group: { $eq: 1 } }, { name: { $regex: '^item1' } }] };
      expect(explain.queryPlanner.parsedQuery).to.deep.equal(parsed);
      expect(explain.queryPlanner.winningPlan).to.deep.equal({ isCached: false, stage: 'COLLSCAN', filter: parsed, direction: 'forward' });
      if (!executed) return;
      const expected = (await items.find({ group: 1, name: { $regex: '^item1' } }).toArray()).length;
      const stats = explain.executionStats;
      expect(stats).to.deep.include({ nReturned: expected, totalKeysExamined: 0, totalDocsExamined: total });
      expect(stats.executionStages).to.deep.include({ stage: 'COLLSCAN', nReturned: expected, docsExamined: total, advanced: expected, isEOF: 1, works: total + 1 });
    });

    it(`count ${verbosity}: RECORD_STORE_FAST_COUNT without a query, COUNT over IDHACK or COLLSCAN with one`, async () => {
      const fast = await db.command({ explain: { count: 'items', skip: 10 }, verbosity });
      expectEnvelope(fast, 'count');
      expect(fast.queryPlanner.winningPlan).to.deep.equal({ isCached: false, stage: 'RECORD_STORE_FAST_COUNT' });
      const byId = await db.command({ explain: { count: 'items', query: { _id: 7 } }, verbosity });
      expect(byId.queryPlanner.winningPlan).to.deep.equal({ isCached: false, stage: 'COUNT', inputStage: { stage: 'IDHACK' } });
      const scanned = await db.command({ explain: { count: 'items', query: { group: 2 }, limit: 50 }, verbosity });
      expect(scanned.queryPlanner.winningPlan).to.deep.equal({
        isCached: false, stage: 'COUNT', inputStage: { stage: 'COLLSCAN', filter: { group: { $eq: 2 } }, direction: 'forward' },
      });
      if (!executed) return;
      expect(fast.executionStats).to.deep.include({ totalDocsExamined: 0, totalKeysExamined: 0 });
      expect(fast.executionStats.executionStages).to.deep.include({ nCounted: total - 10, nSkipped: 10 });
      expect(byId.executionStats).to.deep.include({ totalDocsExamined: 1, totalKeysExamined: 1 });
      expect(byId.executionStats.executionStages).to.deep.include({ stage: 'COUNT', nCounted: 1, nSkipped: 0 });
      // The count stops at its limit: the scan reads up to the 50th match (_id 149) and no further.
      expect(scanned.executionStats.executionStages).to.deep.include({ nCounted: 50 });
      expect(scanned.executionStats.totalDocsExamined).to.equal(150);
      expect(scanned.executionStats.executionStages.inputStage).to.deep.include({ stage: 'COLLSCAN', docsExamined: 150, nReturned: 50, isEOF: 0 });
    });

    it(`aggregate ${verbosity}: a lone $match is explained as a find, a longer pipeline as $cursor and its stages`, async () => {
      const lone = await items.aggregate([{ $match: { _id: 42 } }]).explain(verbosity);
      expectEnvelope(lone, 'aggregate');
      expect(lone.queryPlanner.winningPlan.stage).to.equal('EXPRESS_IXSCAN');
      const pipeline = [{ $match: { group: 0 } }, { $group: { _id: null, n: { $sum: 1 } } }];
      const grouped = await items.aggregate(pipeline).explain(verbosity);
      expectEnvelope(grouped, 'aggregate');
      expect(grouped.stages).to.have.length(2);
      const cursor = grouped.stages[0].$cursor;
      expect(cursor.queryPlanner.winningPlan).to.deep.equal({ isCached: false, stage: 'COLLSCAN', filter: { group: { $eq: 0 } }, direction: 'forward' });
      expect(grouped.stages[1].$group).to.deep.equal(pipeline[1]!.$group);
      if (!executed) {
        expect(grouped.stages[1]).to.not.have.property('nReturned');
        return;
      }
      expect(lone.executionStats).to.deep.include({ nReturned: 1, totalDocsExamined: 1 });
      expect(cursor.executionStats).to.deep.include({ nReturned: total / 3, totalDocsExamined: total });
      expect(grouped.stages[0].nReturned).to.equal(total / 3);
      expect(grouped.stages[1].nReturned).to.equal(1);
      const byKey = await items.aggregate([{ $match: { _id: { $in: [3, 4, 5000] } } }, { $project: { name: 1 } }]).explain(verbosity);
      const fetch = byKey.stages[0].$cursor.executionStats.executionStages;
      expect(fetch).to.deep.include({ stage: 'FETCH', nReturned: 2, docsExamined: 2 });
      expect(fetch.inputStage).to.deep.include({ stage: 'IXSCAN', indexName: '_id_', indexBounds: { _id: ['[3, 3]', '[4, 4]', '[5000, 5000]'] }, keysExamined: 2 });
    });
  }

  it('explain with no verbosity is allPlansExecution, and the driver\'s explain(true) asks for it too', async () => {
    const bare = await db.command({ explain: { find: 'items', filter: { _id: 1 } } });
    expect(bare.executionStats.allPlansExecution).to.deep.equal([]);
    const viaDriver = await items.find({ _id: 1 }).explain(true);
    expect(viaDriver.executionStats.allPlansExecution).to.deep.equal([]);
  });

  it('sort, skip, limit and projection appear as the stages that run them, above the access stage', async () => {
    const explain = await items.find({ group: 2 }).sort({ name: -1 }).skip(5).limit(3).project({ name: 1 }).explain('executionStats');
    const stages: Document[] = [];
    for (let stage = explain.executionStats.executionStages; stage !== undefined; stage = stage.inputStage) stages.push(stage);
    expect(stages.map((stage) => stage.stage)).to.deep.equal(['PROJECTION_DEFAULT', 'LIMIT', 'SKIP', 'SORT', 'COLLSCAN']);
    expect(stages[0]).to.deep.include({ transformBy: { name: 1 }, nReturned: 3 });
    expect(stages[1]).to.deep.include({ limitAmount: 3, nReturned: 3 });
    expect(stages[2]).to.deep.include({ skipAmount: 5, nReturned: 3 });
    expect(stages[3]).to.deep.include({ sortPattern: { name: -1 }, limitAmount: 8, nReturned: 8 });
    expect(stages[4]).to.deep.include({ docsExamined: total, nReturned: total / 3 });
    // A sort on _id alone follows key order: a backward scan, no SORT stage.
    const backward = await items.find({}).sort({ _id: -1 }).limit(2).explain('executionStats');
    expect(backward.queryPlanner.winningPlan).to.deep.equal({ isCached: false, stage: 'LIMIT', limitAmount: 2, inputStage: { stage: 'COLLSCAN', direction: 'backward' } });
    expect(backward.executionStats.totalDocsExamined).to.equal(2);
    // A key range reads only its keys.
    const range = await items.find({ _id: { $gte: 10, $lt: 20 } }).explain('executionStats');
    expect(range.queryPlanner.winningPlan.inputStage.indexBounds).to.deep.equal({ _id: ['[10, 20)'] });
    expect(range.executionStats).to.deep.include({ nReturned: 10, totalKeysExamined: 10, totalDocsExamined: 10 });
  });

  it('aggregate with explain: true explains at queryPlanner verbosity, and explain of a missing collection is EOF', async () => {
    const reply = await db.command({ aggregate: 'items', pipeline: [{ $match: { group: 1 } }], explain: true });
    expect(reply.queryPlanner.winningPlan.stage).to.equal('COLLSCAN');
    expect(reply).to.not.have.property('executionStats');
    const missing = await db.collection('nothing').find({ a: 1 }).explain('executionStats');
    expect(missing.queryPlanner.winningPlan).to.deep.equal({ isCached: false, stage: 'EOF' });
    expect(missing.executionStats).to.deep.include({ nReturned: 0, totalDocsExamined: 0 });
  });

  it('an explain changes nothing and returns no documents; the explained query still runs as planned', async () => {
    const before = await items.countDocuments();
    await db.command({ explain: { find: 'items', filter: {} }, verbosity: 'executionStats' });
    expect(await items.countDocuments()).to.equal(before);
    expect(await items.find({ _id: 123 }).toArray()).to.deep.equal([{ _id: 123, group: 0, name: 'item123' }]);
  });

  async function failure(command: Document): Promise<MongoServerError> {
    const error = await db.command(command).catch((caught: unknown) => caught);
    expect(error).to.be.instanceOf(MongoServerError);
    return error as MongoServerError;
  }

  it('refuses an unknown verbosity with BadValue (2) and a verbosity that is not a string with TypeMismatch (14)', async () => {
    const unknown = await failure({ explain: { find: 'items' }, verbosity: 'everything' });
    expect(unknown.code).to.equal(2);
    expect(unknown.message).to.equal("Enumeration value 'everything' for field 'explain.verbosity' is not a valid value.");
    expect((await failure({ explain: { find: 'items' }, verbosity: 1 })).code).to.equal(14);
    const viaDriver = await items.find({}).explain('everything' as never).catch((caught: unknown) => caught);
    expect(viaDriver).to.be.instanceOf(MongoServerError).with.property('code', 2);
  });

  it('refuses to explain a command without an explain (IllegalOperation, 20), an unknown command (CommandNotFound, 59) and a non-object (TypeMismatch, 14)', async () => {
    const ping = await failure({ explain: { ping: 1 }, verbosity: 'queryPlanner' });
    expect(ping.code).to.equal(20);
    expect(ping.message).to.equal('Cannot explain cmd: ping');
    const bogus = await failure({ explain: { bogusCommand: 'items' } });
    expect(bogus.code).to.equal(59);
    expect(bogus.message).to.equal('Explain failed due to unknown command: bogusCommand');
    expect((await failure({ explain: 1 })).code).to.equal(14);
    expect((await failure({ explain: { find: 'items' }, bogusField: 1 })).code).to.equal(40415);
    // The explained command is checked as it would be when run.
    expect((await failure({ explain: { find: 'items', bogusField: 1 } })).code).to.equal(40415);
    expect((await failure({ explain: { find: 'items', filter: { a: { $bogus: 1 } } } })).code).to.equal(2);
  });
});
