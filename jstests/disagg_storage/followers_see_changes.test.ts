import { expect } from 'chai';
import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Document, MongoClient } from 'mongodb';
import {
  allDocuments, serverError, checkpointOn, copyDbpath, disaggStatus, launchFollower, oplogAfter, restoreStream, runReadPath, runShim, shimsPerTest, waitForPickUp,
} from '../libs/index.js';

type Doc = { _id: number | string; total?: number; name?: string };

async function tableUri(client: MongoClient, db: string, collection: string): Promise<string> {
  const [info] = await client.db(db).listCollections({ name: collection }).toArray();
  return ((info as Document).info as Document).uri as string;
}

describe('disaggregated storage: what followers see of the leader\'s changes', function () {
  this.timeout(240_000);
  const shims = shimsPerTest();

  it('follows a key rotation: each follower loads the new key-provider page at its next pick-up', async () => {
    const leader = await shims.launch({ keyProvider: 'example', setParameters: { enableTestCommands: 1 } });
    const leaderClient = await leader.client();
    await leaderClient.db('app').collection<Doc>('c').insertOne({ _id: 1 });
    const first = await checkpointOn(leaderClient);
    const followers = [await launchFollower(shims, leader), await launchFollower(shims, leader)];
    const clients = await Promise.all(followers.map((follower) => follower.client()));
    const leaderKey = async (): Promise<Document> => (await disaggStatus(leaderClient)).keyProvider as Document;
    const before = await leaderKey();
    for (const client of clients) {
      const status = await waitForPickUp(client, first);
      expect(status.keyVersion).to.equal(before.keyVersion);
      expect((status.keyProvider as Document).pageLsn).to.equal(before.pageLsn);
    }
    for (let rotation = 1; rotation <= 2; rotation++) {
      const rotated = await leaderClient.db('admin').command({ rotateKey: 1, checkpoint: true });
      const after = await leaderKey();
      expect(after.keyVersion).to.equal(before.keyVersion + rotation);
      for (const client of clients) {
        const status = await waitForPickUp(client, String((rotated.lastCheckpoint as Document).id));
        expect(status.keyVersion, `rotation ${rotation}`).to.equal(after.keyVersion);
        expect((status.keyProvider as Document).pageLsn).to.equal(after.pageLsn);
        expect((status.checkpoint as Document).keyProviderPageLsn).to.equal(after.pageLsn);
      }
    }
    for (const follower of followers) {
      expect(follower.logLines().filter((line) => line.msg === 'Loaded the key of a picked-up checkpoint')).to.have.length(3);
      await follower.stop();
    }
    await leader.stop();
  });

  it('sees the repair flow of seed 000 (a collision, then a modify that moves pages) and creates, after pick-up', async () => {
    const leader = await shims.launch({ setParameters: { enableRepairCommands: 1, enableTestCommands: 1 }, args: ['--pageLogRetain', '1'] });
    const leaderClient = await leader.client();
    const shop = leaderClient.db('shop');
    await shop.collection<Doc>('orders').insertMany(Array.from({ length: 400 }, (_, i) => ({ _id: i, total: i * 3 })));
    await shop.collection<Doc>('customers').insertMany(Array.from({ length: 300 }, (_, i) => ({ _id: `c${i}`, name: `customer ${i}` })));
    const expected = { orders: await allDocuments(leaderClient, 'shop', 'orders'), customers: await allDocuments(leaderClient, 'shop', 'customers') };
    const base = await checkpointOn(leaderClient);
    const follower = await launchFollower(shims, leader, { setParameters: { disaggPickUpIntervalMs: 100 } });
    const client = await follower.client();
    await waitForPickUp(client, base);
    // A cursor opened before the repair stays on the checkpoint it started on.
    const held = client.db('shop').collection<Doc>('customers').find({}, { batchSize: 20 }).sort({ _id: 1 });
    const heldDocuments: Document[] = [await held.next() as Document];

    const [orders, customers] = [await tableUri(leaderClient, 'shop', 'orders'), await tableUri(leaderClient, 'shop', 'customers')];
    const injected = await leaderClient.db('admin').command({ injectFault: 'idCollision', uris: [orders, customers] });
    const detect = await leaderClient.db('admin').command({ repairMetadata: 1, action: 'detect' });
    const collision = (detect.findings as Document[]).find((finding) => finding.kind === 'idCollision')!;
    expect(collision).to.include({ id: injected.id });
    const modified = await leaderClient.db('admin').command({ repairMetadata: 1, action: 'modify', uri: customers, set: { id: collision.suggestedId } });
    // Later checkpoints prune to one: the old pages stay only for the follower's lease.
    await shop.collection<Doc>('orders').insertOne({ _id: 'after repair', total: -1 });
    const later = await checkpointOn(leaderClient);
    await checkpointOn(leaderClient);
    await waitForPickUp(client, later);
    for (let next = await held.next(); next !== null; next = await held.next()) heldDocuments.push(next);
    expect(heldDocuments).to.deep.equal(expected.customers);
    expect(BigInt(String(modified.checkpointId)) > BigInt(base)).to.equal(true);

    expect(await allDocuments(client, 'shop', 'customers')).to.deep.equal(expected.customers);
    expect(await allDocuments(client, 'shop', 'orders')).to.deep.equal([...expected.orders, { _id: 'after repair', total: -1 }]);
    const followerIds = await client.db('shop').listCollections().toArray();
    expect(followerIds.map((c) => c.name).sort()).to.deep.equal(['customers', 'orders']);
    // A repair is the leader's: on a follower it is refused.
    const refused = await serverError(client.db('admin').command({ repairMetadata: 1, action: 'modify', uri: customers, set: { id: 900 } }));
    expect(refused.code).to.be.oneOf([10107, 20]);

    // A create (and a drop) on the leader appears on the follower after pick-up.
    await leaderClient.db('shop').createCollection('returns');
    await leaderClient.db('shop').collection<Doc>('returns').insertOne({ _id: 'r1' });
    await leaderClient.db('shop').collection<Doc>('orders').drop();
    const created = await checkpointOn(leaderClient);
    await waitForPickUp(client, created);
    expect((await client.db('shop').listCollections().toArray()).map((c) => c.name).sort()).to.deep.equal(['customers', 'returns']);
    expect(await allDocuments(client, 'shop', 'returns')).to.deep.equal([{ _id: 'r1' }]);
    await follower.stop();
    await leader.stop();
    const verify = await runReadPath(['verify', leader.dbpath]);
    expect(verify.exitCode, verify.stdout + verify.stderr).to.equal(0);
  });

  it('serves followers started on the page log of a magic-restored backup', async () => {
    const source = await shims.launch({ replSet: 'rs0' });
    const sourceClient = await source.client();
    const orders = sourceClient.db('app').collection<Doc>('orders');
    await orders.insertMany(Array.from({ length: 100 }, (_, i) => ({ _id: i, total: i })));
    const admin = sourceClient.db('admin');
    const locked = await admin.command({ fsync: 1, lock: true });
    const dbpath = await copyDbpath(source.dbpath);
    await admin.command({ fsyncUnlock: 1 });
    await orders.insertMany(Array.from({ length: 20 }, (_, i) => ({ _id: 1000 + i, total: -i })));
    const pointInTime = (await admin.command({ serverStatus: 1 })).disagg.stableTimestamp;
    const entries = await oplogAfter(sourceClient, locked.checkpointTimestamp);
    const replicaSetConfig = (await admin.command({ replSetGetConfig: 1 })).config as Document;
    const atPointInTime = await allDocuments(sourceClient, 'app', 'orders');
    await source.stop();

    const restore = await runShim(['--magicRestore', '--dbpath', dbpath, '--replSet', 'rs0'], {
      input: restoreStream({ nodeType: 'replicaSet', replicaSetConfig, maxCheckpointTs: locked.checkpointTimestamp, pointInTimeTimestamp: pointInTime }, entries),
    });
    expect(restore.exitCode, restore.stdout.slice(-3000)).to.equal(0);
    const restored = await shims.launch({ replSet: 'rs0', dbpath });
    const restoredClient = await restored.client();
    expect(await allDocuments(restoredClient, 'app', 'orders')).to.deep.equal(atPointInTime);
    const followers = [await launchFollower(shims, restored), await launchFollower(shims, restored)];
    const newest = String((await disaggStatus(restoredClient)).checkpoint.id);
    for (const follower of followers) {
      const client = await follower.client();
      await waitForPickUp(client, newest);
      expect(await allDocuments(client, 'app', 'orders')).to.deep.equal(atPointInTime);
      await follower.stop();
    }
    await restored.stop();
    await rm(dirname(dbpath), { recursive: true, force: true });
  });
});
