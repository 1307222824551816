import { expect } from 'chai';
import type { Collection, MongoClient } from 'mongodb';
import { shimsPerTest } from '../libs/index.js';

/**
 * `count` with an empty filter answers from the collection's record count: it must equal the
 * documents really stored (counted here by an aggregation that reads every document) after
 * inserts (grouped and one by one), duplicate keys, deletes, drops, a clean restart and a
 * kill -9 with journaled writes since the last checkpoint.
 */
describe('mongod-shim: count without a filter', () => {
  const shims = shimsPerTest();

  async function countBoth(client: MongoClient, name: string): Promise<{ fast: number; scanned: number }> {
    const database = client.db('counting');
    const fast = (await database.command({ count: name })).n as number;
    const scanned = (await database.collection(name).aggregate([{ $group: { _id: null, n: { $sum: 1 } } }]).toArray())[0]?.n ?? 0;
    return { fast, scanned };
  }

  async function expectExact(client: MongoClient, name: string, expected: number): Promise<void> {
    expect(await countBoth(client, name)).to.deep.equal({ fast: expected, scanned: expected });
  }

  for (const storage of ['disagg', 'local'] as const) {
    it(`${storage}: stays exact across grouped inserts, duplicate keys, deletes, skip and limit, drops and a clean restart`, async () => {
      const shim = await shims.launch({ storage, replSet: 'rs0', setParameters: { checkpointIntervalSecs: 3600 } });
      let client = await shim.client();
      const items = (): Collection<{ _id: number; v: number }> => client.db('counting').collection('items');
      await expectExact(client, 'items', 0);
      await items().insertMany(Array.from({ length: 1000 }, (_, i) => ({ _id: i, v: i % 7 })));
      await expectExact(client, 'items', 1000);
      // An unordered batch with duplicates in the middle of a group: only the new ones count.
      const batch = Array.from({ length: 200 }, (_, i) => ({ _id: 900 + i, v: 1 }));
      const failure = await items().insertMany(batch, { ordered: false }).catch((error: unknown) => error as { insertedCount?: number; result?: { insertedCount: number } });
      expect(failure).to.have.nested.property('result.insertedCount', 100);
      await expectExact(client, 'items', 1100);
      // An ordered batch stops at its duplicate: the documents before it count.
      await items().insertMany([{ _id: 5000, v: 1 }, { _id: 5001, v: 1 }, { _id: 3, v: 1 }, { _id: 5002, v: 1 }]).catch(() => undefined);
      await expectExact(client, 'items', 1102);
      await items().insertOne({ _id: 6000, v: 2 });
      await items().deleteMany({ v: 0 });
      const zeros = Array.from({ length: 1000 }, (_, i) => i).filter((i) => i % 7 === 0).length;
      await expectExact(client, 'items', 1103 - zeros);
      await items().deleteOne({ _id: 123456 });
      await expectExact(client, 'items', 1103 - zeros);
      const database = client.db('counting');
      expect((await database.command({ count: 'items', skip: 900 })).n).to.equal(1103 - zeros - 900);
      expect((await database.command({ count: 'items', skip: 5000 })).n).to.equal(0);
      expect((await database.command({ count: 'items', skip: 10, limit: 5 })).n).to.equal(5);
      expect((await database.command({ count: 'items', limit: -7 })).n).to.equal(7);
      expect((await database.command({ count: 'items', query: { v: 1 } })).n).to.equal(await items().countDocuments({ v: 1 }));
      await items().drop();
      await expectExact(client, 'items', 0);
      await items().insertMany([{ _id: 1, v: 1 }, { _id: 2, v: 2 }]);
      await expectExact(client, 'items', 2);
      await shim.restart();
      client = await shim.client();
      await expectExact(client, 'items', 2);
      await items().insertOne({ _id: 3, v: 3 });
      await expectExact(client, 'items', 3);
    });

    it(`${storage}: is exact after a kill -9 with journaled writes since the last checkpoint`, async () => {
      const shim = await shims.launch({ storage, replSet: 'rs0', setParameters: { checkpointIntervalSecs: 3600 } });
      let client = await shim.client();
      const items = (): Collection<{ _id: number }> => client.db('counting').collection('items');
      await items().insertMany(Array.from({ length: 500 }, (_, i) => ({ _id: i })));
      await client.db('admin').command({ fsync: 1 });
      // Counted (and so kept in memory) before the writes that only the journal holds.
      await expectExact(client, 'items', 500);
      await items().insertMany(Array.from({ length: 700 }, (_, i) => ({ _id: 1000 + i })), { writeConcern: { journal: true } });
      await items().deleteMany({ _id: { $lt: 100 } }, { writeConcern: { journal: true } });
      await expectExact(client, 'items', 1100);
      await shim.kill();
      await shim.start();
      client = await shim.client();
      await expectExact(client, 'items', 1100);
      await items().insertOne({ _id: 5000 }, { writeConcern: { journal: true } });
      await expectExact(client, 'items', 1101);
      const ids = await items().find({}, { projection: { _id: 1 } }).toArray();
      expect(ids).to.have.length(1101);
    });
  }
});
