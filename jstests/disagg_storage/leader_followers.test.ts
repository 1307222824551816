import { expect } from 'chai';
import type { Document, MongoClient } from 'mongodb';
import {
  allDocuments, serverError, checkpointOn, expectStartFailure, disaggStatus, launchFollower, pageLogOf, runReadPath, shimsPerTest, waitForPickUp, waitUntil,
} from '../libs/index.js';

/** Documents with any `_id` (the driver's default schema wants an ObjectId). */
type Doc = { _id: number | string; qty?: number; body?: string };

describe('disaggregated storage: a leader and followers on one page log', function () {
  this.timeout(180_000);
  const shims = shimsPerTest();

  it('serves each follower exactly the leader\'s data as of the checkpoint it picked up, and refuses its writes', async () => {
    const leader = await shims.launch({ replSet: 'rs0' });
    const leaderClient = await leader.client();
    const orders = leaderClient.db('app').collection<Doc>('orders');
    await orders.insertMany(Array.from({ length: 500 }, (_, i) => ({ _id: i, qty: i % 7 })));
    const first = await checkpointOn(leaderClient);
    const atFirst = await allDocuments(leaderClient, 'app', 'orders');

    const followers = [await launchFollower(shims, leader), await launchFollower(shims, leader)];
    const clients: MongoClient[] = [];
    for (const follower of followers) clients.push(await follower.client());
    for (const client of clients) {
      const status = await waitForPickUp(client, first);
      expect(status).to.include({ role: 'follower', waitingForCheckpoint: false });
      expect((status.checkpoint as Document).id).to.equal(first);
      expect(await allDocuments(client, 'app', 'orders')).to.deep.equal(atFirst);
      const hello = await client.db('admin').command({ hello: 1 });
      expect(hello).to.include({ isWritablePrimary: false, secondary: true });
    }

    // Written but not checkpointed: no follower sees it.
    await orders.updateMany({ qty: 0 }, { $set: { qty: 100 } });
    await orders.deleteMany({ _id: { $gte: 400 } });
    await orders.insertOne({ _id: 'late' });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    for (const client of clients) expect(await allDocuments(client, 'app', 'orders')).to.deep.equal(atFirst);

    const second = await checkpointOn(leaderClient);
    const atSecond = await allDocuments(leaderClient, 'app', 'orders');
    for (const client of clients) {
      const status = await waitForPickUp(client, second);
      expect((status.lag as Document).checkpoints).to.equal(0);
      expect(await allDocuments(client, 'app', 'orders')).to.deep.equal(atSecond);
      expect(await client.db('app').collection<Doc>('orders').countDocuments({ qty: 100 })).to.equal(atSecond.filter((d) => d.qty === 100).length);
    }

    // Writes to shared collections on a follower: NotWritablePrimary, nothing applied.
    const followerOrders = clients[0]!.db('app').collection<Doc>('orders');
    for (const write of [
      () => followerOrders.insertOne({ _id: 'x' }),
      () => followerOrders.updateOne({ _id: 1 }, { $set: { qty: -1 } }),
      () => followerOrders.deleteOne({ _id: 1 }),
      () => clients[0]!.db('app').createCollection('fresh'),
      () => followerOrders.drop(),
    ]) {
      expect((await serverError(write())).code, String(write)).to.equal(10107);
    }
    expect(await allDocuments(clients[0]!, 'app', 'orders')).to.deep.equal(atSecond);
    for (const follower of followers) await follower.stop();
    await leader.stop();

    // The node records: one term, the leader's; every lease ended by its node's clean stop.
    const log = await runReadPath(['log', leader.dbpath, '--json']);
    expect(log.exitCode, log.stderr).to.equal(0);
    const nodes = JSON.parse(log.stdout) as { terms: Document[]; leases: Document[]; records: Document[] };
    expect(nodes.terms.map((term) => term.term)).to.deep.equal([1]);
    expect(nodes.leases).to.deep.equal([]);
    expect(nodes.records.filter((record) => record.kind === 'complete').every((record) => record.term === 1)).to.equal(true);

    // The shared log reads from any node's dbpath: the leader's own, a follower's with --page-log.
    for (const dbpath of [leader.dbpath, ...followers.map((follower) => follower.dbpath)]) {
      const args = dbpath === leader.dbpath ? [] : ['--page-log', pageLogOf(leader)];
      const verify = await runReadPath(['verify', dbpath, ...args]);
      expect(verify.exitCode, verify.stdout + verify.stderr).to.equal(0);
      const dump = await runReadPath(['dump', dbpath, 'table:app.orders', '--json', ...args]);
      expect(dump.exitCode, dump.stderr).to.equal(0);
      expect((JSON.parse(dump.stdout) as { records: unknown[] }).records, dbpath).to.have.length(atSecond.length);
    }
  });

  it('keeps a follower\'s open cursor on the checkpoint it started on across many leader checkpoints, pruning included', async () => {
    const leader = await shims.launch({ args: ['--pageLogRetain', '1'] });
    const leaderClient = await leader.client();
    const docs = leaderClient.db('app').collection<Doc>('docs');
    const original = Array.from({ length: 3_000 }, (_, i) => ({ _id: i, body: `original ${i}`.padEnd(200, '.') }));
    await docs.insertMany(original);
    const start = await checkpointOn(leaderClient);
    const follower = await launchFollower(shims, leader, { setParameters: { disaggPickUpIntervalMs: 100 } });
    const client = await follower.client();
    await waitForPickUp(client, start);

    const cursor = client.db('app').collection<Doc>('docs').find({}, { batchSize: 100 }).sort({ _id: 1 });
    const seen: Document[] = [await cursor.next() as Document];
    let last = start;
    for (let round = 0; round < 12; round++) {
      // Rewrite, delete and re-create documents so every page of the table is replaced.
      await docs.updateMany({}, { $set: { body: `round ${round}` } });
      await docs.deleteMany({ _id: { $lt: (round + 1) * 200 } });
      last = await checkpointOn(leaderClient);
      await waitForPickUp(client, last);
      // A batch now and then, while the leader goes on.
      if (round % 3 === 0) for (let i = 0; i < 100; i++) seen.push(await cursor.next() as Document);
    }
    const held = await disaggStatus(client);
    expect(held.heldCheckpoints).to.deep.equal([start]);
    for (let next = await cursor.next(); next !== null; next = await cursor.next()) seen.push(next);
    expect(seen).to.deep.equal(original);
    await cursor.close();
    await waitUntil('the follower lets the old checkpoint go', async () => ((await disaggStatus(client)).heldCheckpoints as string[]).length === 0);
    expect(await allDocuments(client, 'app', 'docs')).to.deep.equal(await allDocuments(leaderClient, 'app', 'docs'));
    await follower.stop();
    await leader.stop();
  });

  it('picks up a checkpoint by its id on command, and refuses an id that does not exist or was pruned', async () => {
    const leader = await shims.launch({ args: ['--pageLogRetain', '2'] });
    const leaderClient = await leader.client();
    const items = leaderClient.db('app').collection<Doc>('items');
    await items.insertMany(Array.from({ length: 10 }, (_, i) => ({ _id: i })));
    const a = await checkpointOn(leaderClient);
    await items.insertMany(Array.from({ length: 10 }, (_, i) => ({ _id: 100 + i })));
    const b = await checkpointOn(leaderClient);
    const follower = await launchFollower(shims, leader, { setParameters: { disaggPickUpIntervalMs: 0 }, disaggCheckpoint: a });
    const client = await follower.client();
    const admin = client.db('admin');
    expect(((await disaggStatus(client)).checkpoint as Document).id).to.equal(a);
    expect(await client.db('app').collection<Doc>('items').countDocuments()).to.equal(10);
    expect(((await disaggStatus(client)).lag as Document).checkpoints).to.equal(1);

    const picked = await admin.command({ disaggPickUpCheckpoint: 1, checkpointId: b });
    expect((picked.checkpoint as Document).id).to.equal(b);
    expect(await client.db('app').collection<Doc>('items').countDocuments()).to.equal(20);
    const back = await admin.command({ disaggPickUpCheckpoint: 1, checkpointId: a });
    expect((back.checkpoint as Document).id, 'an older kept checkpoint can be read again').to.equal(a);
    expect(await client.db('app').collection<Doc>('items').countDocuments()).to.equal(10);

    const unknown = await serverError(admin.command({ disaggPickUpCheckpoint: 1, checkpointId: '999999' }));
    expect(unknown.code).to.equal(4);
    expect(unknown.message).to.contain('999999').and.contain('no checkpoint has completed with that id');
    expect((await serverError(admin.command({ disaggPickUpCheckpoint: 1, checkpointId: 'abc' }))).code).to.equal(2);
    // Two more checkpoints: with two kept (and the follower's lease on `a` given up), `b`'s predecessor goes.
    await admin.command({ disaggPickUpCheckpoint: 1 });
    await items.insertOne({ _id: 'c' });
    await checkpointOn(leaderClient);
    await items.insertOne({ _id: 'd' });
    const newest = await checkpointOn(leaderClient);
    await admin.command({ disaggPickUpCheckpoint: 1 });
    expect(((await disaggStatus(client)).checkpoint as Document).id).to.equal(newest);
    const pruned = await serverError(admin.command({ disaggPickUpCheckpoint: 1, checkpointId: a }));
    expect(pruned.code).to.equal(4);
    expect(pruned.message).to.contain('pruned');
    // On the leader the command is refused.
    expect((await serverError(leaderClient.db('admin').command({ disaggPickUpCheckpoint: 1 }))).code).to.equal(20);
    await follower.stop();
    await leader.stop();
  });

  it('waits for the leader\'s first checkpoint, saying so and serving no shared data until then', async () => {
    const leader = await shims.launch({ setParameters: { checkpointIntervalSecs: 0 } });
    const leaderClient = await leader.client();
    await leaderClient.db('app').collection<Doc>('early').insertOne({ _id: 1 });
    const follower = await launchFollower(shims, leader);
    const client = await follower.client();
    const waiting = await disaggStatus(client);
    expect(waiting).to.include({ role: 'follower', waitingForCheckpoint: true, checkpoint: null });
    expect((await client.db('app').listCollections().toArray()).map((c) => c.name)).to.deep.equal([]);
    expect(await client.db('app').collection<Doc>('early').find().toArray()).to.deep.equal([]);
    expect(follower.logLines().some((line) => line.msg === 'Waiting for the first checkpoint of the page log')).to.equal(true);
    const first = await checkpointOn(leaderClient);
    await waitForPickUp(client, first);
    expect(await allDocuments(client, 'app', 'early')).to.deep.equal([{ _id: 1 }]);
    await follower.stop();
    await leader.stop();
  });

  it('refuses bad starts with clear codes: a second leader, another database\'s log, an unknown checkpoint id', async () => {
    const leader = await shims.launch();
    const leaderClient = await leader.client();
    await leaderClient.db('app').collection<Doc>('c').insertOne({ _id: 1 });
    await checkpointOn(leaderClient);

    const second = shims.create({ pageLog: pageLogOf(leader) });
    const refused = await expectStartFailure(second, 6);
    expect((refused.attr as Document).engineErrorCode).to.equal('LEADER_ACTIVE');
    expect(refused.msg).to.contain('another leader holds the page log');

    const unknownId = shims.create({ disaggRole: 'follower', pageLog: pageLogOf(leader), disaggCheckpoint: '987654' });
    const missing = await expectStartFailure(unknownId, 6);
    expect((missing.attr as Document).engineErrorCode).to.equal('CHECKPOINT_NOT_FOUND');

    // A follower that served database A, restarted on database B's log.
    const follower = await launchFollower(shims, leader);
    await follower.stop();
    const other = await shims.launch();
    const otherClient = await other.client();
    await otherClient.db('app').collection<Doc>('c').insertOne({ _id: 2 });
    await checkpointOn(otherClient);
    const moved = shims.create({ dbpath: follower.dbpath, disaggRole: 'follower', pageLog: pageLogOf(other) });
    const mismatch = await expectStartFailure(moved, 6);
    expect((mismatch.attr as Document).engineErrorCode).to.equal('PAGE_LOG_MISMATCH');
    await other.stop();

    // Option errors exit 2 before anything opens.
    for (const args of [['--disaggCheckpoint', '5'], ['--disaggRole', 'follower', '--storage', 'local'], ['--disaggRole', 'follower', '--repair']]) {
      const bad = shims.create({ args });
      await bad.start().then(() => undefined, () => undefined);
      expect(bad.exit?.exitCode, args.join(' ')).to.equal(2);
    }
    await leader.stop();
    // The shared log reads clean from the leader's dbpath once everything stopped.
    const verify = await runReadPath(['verify', leader.dbpath]);
    expect(verify.exitCode, verify.stdout + verify.stderr).to.equal(0);
  });
});
