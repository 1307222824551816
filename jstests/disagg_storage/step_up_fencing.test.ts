import { expect } from 'chai';
import type { Document, MongoServerError } from 'mongodb';
import {
  allDocuments, serverError, checkpointOn, disaggStatus, launchFollower, pageLogOf, runReadPath, shimsPerTest, waitForPickUp, waitUntil, type ShimProcess,
} from '../libs/index.js';

type Doc = { _id: number | string; v?: number };

async function isWritablePrimary(shim: ShimProcess): Promise<boolean> {
  const client = await shim.client();
  try {
    return (await client.db('admin').command({ hello: 1 })).isWritablePrimary === true;
  } finally {
    await client.close();
  }
}

describe('disaggregated storage: step-up, fencing and leases', function () {
  this.timeout(240_000);
  const shims = shimsPerTest();

  it('fences the old leader at a step-up while it still runs: its checkpoint is refused naming both terms, and nothing it wrote after becomes visible', async () => {
    const leader = await shims.launch({ replSet: 'rs0', setParameters: { checkpointIntervalSecs: 0 } });
    const leaderClient = await leader.client();
    const items = leaderClient.db('app').collection<Doc>('items');
    await items.insertMany(Array.from({ length: 200 }, (_, i) => ({ _id: i, v: 1 })));
    const kept = await checkpointOn(leaderClient);
    const [next, other] = [await launchFollower(shims, leader), await launchFollower(shims, leader)];
    const nextClient = await next.client();
    const otherClient = await other.client();
    await waitForPickUp(nextClient, kept);
    await waitForPickUp(otherClient, kept);
    // Acknowledged by the old leader, never checkpointed by it.
    await items.insertOne({ _id: 'old-leader-1' });

    const up = await nextClient.db('admin').command({ replSetStepUp: 1 });
    expect(up).to.include({ checkpointId: kept });
    expect(Number(up.term)).to.equal(2);
    expect(await isWritablePrimary(next)).to.equal(true);
    expect((await disaggStatus(nextClient))).to.include({ role: 'leader' });

    const refused = await leaderClient.db('admin').command({ fsync: 1 }).then(() => undefined, (error: unknown) => error as MongoServerError);
    if (refused !== undefined) {
      expect(refused.code).to.equal(10107);
      expect(refused.message).to.contain('term 1 was fenced by term 2');
    } else {
      // Its lease renewal met the new term first and it stepped down before the fsync, which
      // then had nothing of its own to checkpoint: a fenced leader's checkpoint never succeeds.
      expect(leader.logLines().some((line) => line.id === 21402), 'stepped down before the fsync').to.equal(true);
    }
    await waitUntil('the old leader steps down', async () => !(await isWritablePrimary(leader)));
    expect(leader.logLines().some((line) => line.id === 21402)).to.equal(true);
    expect((await serverError(items.insertOne({ _id: 'old-leader-2' }))).code).to.equal(10107);

    await nextClient.db('app').collection<Doc>('items').insertOne({ _id: 'new-leader' });
    const after = await checkpointOn(nextClient);
    const expected = [...Array.from({ length: 200 }, (_, i) => ({ _id: i, v: 1 })), { _id: 'new-leader' }];
    for (const client of [otherClient, leaderClient]) {
      await waitForPickUp(client, after);
      const documents = await allDocuments(client, 'app', 'items');
      expect(documents.map((d) => d._id)).to.deep.equal(expected.map((d) => d._id));
    }
    // The old leader, restarted as a leader, is refused: the new one lives.
    await leader.stop();
    const again = shims.create({ dbpath: leader.dbpath, replSet: 'rs0' });
    await again.start().then(() => undefined, () => undefined);
    expect(again.exit?.exitCode).to.equal(6);
    expect(again.logLines().find((line) => line.s === 'F')?.attr?.engineErrorCode).to.equal('LEADER_ACTIVE');
    for (const shim of [next, other]) await shim.stop();
  });

  it('steps up after the leader is killed with -9: no write of a completed checkpoint is lost, writes resume, and the old leader rejoins as a follower', async () => {
    const leader = await shims.launch({ replSet: 'rs0', setParameters: { disaggLeaseMs: 1_500 } });
    const leaderClient = await leader.client();
    const items = leaderClient.db('app').collection<Doc>('items');
    await items.insertMany(Array.from({ length: 300 }, (_, i) => ({ _id: i, v: 1 })));
    await items.updateMany({ _id: { $lt: 100 } }, { $set: { v: 2 } });
    const kept = await checkpointOn(leaderClient);
    const atCheckpoint = await allDocuments(leaderClient, 'app', 'items');
    const follower = await launchFollower(shims, leader);
    const followerClient = await follower.client();
    await waitForPickUp(followerClient, kept);
    await items.insertOne({ _id: 'journaled, not checkpointed' }, { writeConcern: { j: true } });
    await leader.kill();

    await followerClient.db('admin').command({ replSetStepUp: 1 });
    expect(await allDocuments(followerClient, 'app', 'items')).to.deep.equal(atCheckpoint);
    const resumed = followerClient.db('app').collection<Doc>('items');
    await resumed.insertMany(Array.from({ length: 50 }, (_, i) => ({ _id: 1000 + i, v: 3 })));
    await resumed.deleteMany({ _id: { $lt: 10 } });
    const written = await checkpointOn(followerClient);
    const expected = await allDocuments(followerClient, 'app', 'items');

    // The old leader's home comes back as a follower of the new leader's log.
    const rejoined = shims.create({ dbpath: leader.dbpath, replSet: 'rs0', disaggRole: 'follower', pageLog: pageLogOf(leader) });
    await rejoined.start();
    const rejoinedClient = await rejoined.client();
    await waitForPickUp(rejoinedClient, written);
    expect(await allDocuments(rejoinedClient, 'app', 'items')).to.deep.equal(expected);
    await rejoined.stop();
    await follower.stop();
    const verify = await runReadPath(['verify', leader.dbpath]);
    expect(verify.exitCode, verify.stdout + verify.stderr).to.equal(0);
  });

  it('lets a leader killed with -9 be replaced by a new leader once its lease expired', async () => {
    const leader = await shims.launch({ setParameters: { disaggLeaseMs: 1_000 } });
    const client = await leader.client();
    await client.db('app').collection<Doc>('items').insertOne({ _id: 1 });
    const kept = await checkpointOn(client);
    await leader.kill();
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    // Another home on the same log: it claims the next term and continues from the last checkpoint.
    const successor = await shims.launch({ pageLog: pageLogOf(leader) });
    const successorClient = await successor.client();
    const status = await disaggStatus(successorClient);
    expect(status).to.include({ role: 'leader', adoptedCheckpoint: true });
    expect(Number(status.term)).to.equal(2);
    expect((status.checkpoint as Document).id).to.equal(kept);
    expect(await allDocuments(successorClient, 'app', 'items')).to.deep.equal([{ _id: 1 }]);
    await successorClient.db('app').collection<Doc>('items').insertOne({ _id: 2 });
    await checkpointOn(successorClient);
    await successor.stop();
  });

  it('ends the writer role cleanly at replSetStepDown: the final checkpoint holds every write, and a follower steps up from it', async () => {
    const leader = await shims.launch({ replSet: 'rs0', setParameters: { checkpointIntervalSecs: 0 } });
    const leaderClient = await leader.client();
    const items = leaderClient.db('app').collection<Doc>('items');
    await items.insertMany(Array.from({ length: 100 }, (_, i) => ({ _id: i })));
    const first = await checkpointOn(leaderClient);
    const follower = await launchFollower(shims, leader);
    const followerClient = await follower.client();
    await waitForPickUp(followerClient, first);
    await items.insertOne({ _id: 'before step-down' });
    await leaderClient.db('admin').command({ replSetStepDown: 60 });
    expect(await isWritablePrimary(leader)).to.equal(false);
    expect((await serverError(items.insertOne({ _id: 'refused' }))).code).to.equal(10107);
    expect((await serverError(leaderClient.db('admin').command({ replSetStepDown: 60 }))).code).to.equal(10107);
    await followerClient.db('admin').command({ replSetStepUp: 1 });
    const ids = (await allDocuments(followerClient, 'app', 'items')).map((d) => d._id);
    expect(ids).to.have.length(101);
    expect(ids).to.include('before step-down');
    await follower.stop();
    await leader.stop();
  });

  it('stops pinning a checkpoint once the lease of a follower killed with -9 expires', async () => {
    const leader = await shims.launch({ args: ['--pageLogRetain', '1'] });
    const leaderClient = await leader.client();
    const items = leaderClient.db('app').collection<Doc>('items');
    await items.insertMany(Array.from({ length: 100 }, (_, i) => ({ _id: i })));
    const pinned = await checkpointOn(leaderClient);
    // This follower stays on `pinned` (no periodic pick-up) with a short lease.
    const pinner = await launchFollower(shims, leader, { setParameters: { disaggPickUpIntervalMs: 0, disaggLeaseMs: 1_500 } });
    const pinnerClient = await pinner.client();
    expect(((await disaggStatus(pinnerClient)).checkpoint as Document).id).to.equal(pinned);
    const probe = await launchFollower(shims, leader, { setParameters: { disaggPickUpIntervalMs: 0 } });
    const probeAdmin = (await probe.client()).db('admin');

    for (let round = 0; round < 3; round++) {
      await items.updateMany({}, { $set: { v: round } });
      await checkpointOn(leaderClient);
    }
    const leases = (await disaggStatus(leaderClient)).leases as Document[];
    expect(leases.find((lease) => (lease.checkpoints as string[]).includes(pinned))).to.include({ role: 'follower', live: true });
    // Kept through three checkpoints and prunes to one: another follower can still read it.
    const readable = await probeAdmin.command({ disaggPickUpCheckpoint: 1, checkpointId: pinned });
    expect((readable.checkpoint as Document).id).to.equal(pinned);
    await probeAdmin.command({ disaggPickUpCheckpoint: 1 });

    await pinner.kill();
    await waitUntil('the killed follower\'s lease expires', async () => {
      const all = (await disaggStatus(leaderClient)).leases as Document[];
      return all.every((lease) => !(lease.checkpoints as string[]).includes(pinned) || lease.live === false);
    });
    await items.updateMany({}, { $set: { v: 99 } });
    await checkpointOn(leaderClient);
    const gone = await serverError(probeAdmin.command({ disaggPickUpCheckpoint: 1, checkpointId: pinned }));
    expect(gone.code).to.equal(4);
    expect(gone.message).to.contain('pruned');
    await probe.stop();
    await leader.stop();
  });
});
