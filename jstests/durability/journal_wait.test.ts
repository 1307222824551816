import { expect } from 'chai';
import type { Document, MongoClient, WriteConcernSettings } from 'mongodb';
import { shimsPerTest } from '../libs/index.js';

/**
 * A kill -9 cannot tell a synced journal from one still in the page cache, so this checks the
 * wait itself: with the background flush as slow as it goes (500 ms), each `j: true`,
 * `w: 'majority'` and `fsync: true` write sent one after another needs its own journal fsync
 * before its reply, a `w: 1` write none, and concurrent journaled writers share fsyncs.
 */
async function journal(mongo: MongoClient): Promise<{ syncs: number; waiters: number }> {
  const status = await mongo.db('admin').command({ serverStatus: 1 });
  const section = status['journal'] as Document;
  expect(section['enabled']).to.equal(true);
  return { syncs: Number(section['syncs']), waiters: Number(section['waiters']) };
}

describe('durability: write concerns wait for the journal', function () {
  this.timeout(120_000);
  const shims = shimsPerTest();

  for (const storage of ['disagg', 'local'] as const) {
    it(`${storage}: each journaled write waits for an fsync, w:1 does not, and concurrent writers share them`, async () => {
      const shim = await shims.launch({ storage, replSet: 'rs0', setParameters: { journalCommitIntervalMs: 500, checkpointIntervalSecs: 3600 } });
      const mongo = await shim.client();
      const collection = mongo.db('wait').collection<{ _id: string }>('c');
      await collection.insertOne({ _id: 'warm-up' }, { writeConcern: { journal: true } });

      const concerns: Array<[string, WriteConcernSettings]> = [['j', { journal: true }], ['majority', { w: 'majority' }], ['fsync', { fsync: true } as WriteConcernSettings]];
      for (const [name, writeConcern] of concerns) {
        const before = await journal(mongo);
        for (let i = 0; i < 10; i++) await collection.insertOne({ _id: `${name}-${i}` }, { writeConcern });
        const after = await journal(mongo);
        // Ten sequential waits: ten fsyncs at least (the 500 ms flush could add one or two).
        expect(after.syncs - before.syncs, `${name}: fsyncs for 10 sequential writes`).to.be.at.least(10);
      }

      const quiet = await journal(mongo);
      for (let i = 0; i < 5; i++) await collection.insertOne({ _id: `w1-${i}` }, { writeConcern: { w: 1 } });
      const afterW1 = await journal(mongo);
      expect(afterW1.waiters - quiet.waiters, 'w:1 writes wait for no sync').to.be.at.most(1);

      const clients = await Promise.all(Array.from({ length: 16 }, () => shim.client()));
      const before = await journal(mongo);
      await Promise.all(clients.map(async (client, c) => {
        for (let i = 0; i < 10; i++) await client.db('wait').collection<{ _id: string }>('c').insertOne({ _id: `group-${c}-${i}` }, { writeConcern: { journal: true } });
      }));
      const after = await journal(mongo);
      const syncs = after.syncs - before.syncs;
      const waits = after.waiters - before.waiters;
      expect(waits).to.be.at.least(160);
      expect(syncs, `${waits} waits shared ${syncs} fsyncs`).to.be.below(160);
    });
  }
});
