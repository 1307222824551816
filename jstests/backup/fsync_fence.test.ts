import { expect } from 'chai';
import { MongoServerError, type Document, type MongoClient } from 'mongodb';
import { dataFileHashes, shimsPerTest } from '../libs/index.js';

const pause = (milliseconds: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, milliseconds));

async function lastCheckpointId(client: MongoClient): Promise<string> {
  const status = await client.db('admin').command({ serverStatus: 1 });
  return ((status.disagg as Document).lastCheckpoint as Document).id as string;
}

/**
 * The fsync lock is a fence a backup can rely on: while it holds, no file of the dbpath changes
 * (no periodic checkpoint, no prune, no eviction write) across several checkpoint intervals,
 * writes wait (and give up with MaxTimeMSExpired when their maxTimeMS runs out), currentOp says
 * so, and everything resumes at fsyncUnlock.
 */
describe('the fsync lock as a backup fence', function () {
  this.timeout(120_000);
  const shims = shimsPerTest();

  for (const storage of ['disagg', 'local'] as const) {
    it(`${storage}: holds every file still across checkpoint intervals, bounds waiting writes by maxTimeMS and reports fsyncLock`, async () => {
      const shim = await shims.launch({ storage, replSet: 'rs0', setParameters: { checkpointIntervalSecs: 1 }, args: ['--cacheSizeMB', '1'] });
      const client = await shim.client();
      const writer = await shim.client();
      const items = client.db('app').collection<{ _id: number; [key: string]: unknown }>('items');
      await items.insertMany(Array.from({ length: 3000 }, (_, i) => ({ _id: i, payload: 'x'.repeat(200) })));
      const admin = client.db('admin');

      const locked = await admin.command({ fsync: 1, lock: true });
      expect(locked.lockCount.toString()).to.equal('1');
      const checkpointAtLock = await lastCheckpointId(client);
      expect(checkpointAtLock).to.equal(locked.checkpointId);
      const before = await dataFileHashes(shim.dbpath);

      // A write without maxTimeMS waits for the unlock; one with maxTimeMS gives up.
      let blockedDone = false;
      const blocked = writer
        .db('app')
        .collection<{ _id: string }>('items')
        .insertOne({ _id: 'written while locked' })
        .then(() => (blockedDone = true));
      const started = Date.now();
      let expired: unknown;
      try {
        await writer.db('app').collection<{ _id: string }>('items').insertOne({ _id: 'gives up' }, { maxTimeMS: 400 });
      } catch (error) {
        expired = error;
      }
      expect(expired).to.be.instanceOf(MongoServerError);
      expect((expired as MongoServerError).code).to.equal(50);
      expect((expired as MongoServerError).codeName).to.equal('MaxTimeMSExpired');
      expect(Date.now() - started).to.be.within(350, 5000);

      const current = await admin.command({ currentOp: 1 });
      expect(current.fsyncLock).to.equal(true);
      const waiting = (current.inprog as Document[]).filter((op) => op.waitingForLock === true);
      expect(waiting.map((op) => (op.command as Document).insert)).to.deep.equal(['items']);
      expect(waiting[0]).to.include({ op: 'insert', ns: 'app.items', active: true });
      const filtered = await admin.command({ currentOp: 1, waitingForLock: true });
      expect((filtered.inprog as Document[]).length).to.equal(1);

      // Reads under a 1 MB cache meanwhile, over three periodic checkpoint intervals.
      for (let round = 0; round < 6; round++) {
        expect(await items.countDocuments()).to.equal(3000);
        await pause(600);
      }
      expect(blockedDone).to.equal(false);
      expect(await dataFileHashes(shim.dbpath)).to.deep.equal(before);
      expect(await lastCheckpointId(client)).to.equal(checkpointAtLock);
      const fsyncAgain = await admin.command({ fsync: 1 });
      expect(fsyncAgain.checkpointId).to.equal(checkpointAtLock);

      await admin.command({ fsyncUnlock: 1 });
      await blocked;
      expect(await items.findOne({ _id: 'written while locked' } as never)).to.not.equal(null);
      expect(await items.findOne({ _id: 'gives up' } as never)).to.equal(null);
      const afterUnlock = await admin.command({ currentOp: 1 });
      expect(afterUnlock).to.not.have.property('fsyncLock');
      // The periodic checkpoint resumes.
      const deadline = Date.now() + 10_000;
      while ((await lastCheckpointId(client)) === checkpointAtLock) {
        expect(Date.now()).to.be.below(deadline);
        await pause(200);
      }
      expect(await dataFileHashes(shim.dbpath)).to.not.deep.equal(before);
    });
  }

  it('grants a lock asked for while the first one is still checkpointing only once the files are frozen, at that checkpoint', async () => {
    const shim = await shims.launch({ replSet: 'rs0', setParameters: { checkpointIntervalSecs: 0 } });
    const clients = await Promise.all([shim.client(), shim.client(), shim.client()]);
    const before = await clients[0]!.db('admin').command({ fsync: 1 });
    await clients[0]!.db('app').collection('c').insertMany(Array.from({ length: 5000 }, (_, i) => ({ _id: i, pad: 'q'.repeat(200) })) as never[]);
    // Three at once: the first takes the checkpoint, the others arrive while it runs.
    const [first, second, plain] = await Promise.all([
      clients[0]!.db('admin').command({ fsync: 1, lock: true }),
      clients[1]!.db('admin').command({ fsync: 1, lock: true }),
      clients[2]!.db('admin').command({ fsync: 1 }),
    ]);
    expect(first.checkpointId).to.not.equal(before.checkpointId);
    expect(second.checkpointId, 'the second lock names the checkpoint the files are frozen at').to.equal(first.checkpointId);
    expect(plain.checkpointId, 'an fsync under the pending lock answers with that checkpoint too').to.equal(first.checkpointId);
    expect(String(second.lockCount)).to.equal('2');
    expect(String((await clients[0]!.db('admin').command({ fsyncUnlock: 1 })).lockCount)).to.equal('1');
    expect(String((await clients[0]!.db('admin').command({ fsyncUnlock: 1 })).lockCount)).to.equal('0');
    await Promise.all(clients.map((client) => client.close()));
  });

  it('counts nested locks, refuses a backup cursor under the lock and an fsync lock under a backup cursor', async () => {
    const shim = await shims.launch({ replSet: 'rs0' });
    const client = await shim.client();
    const admin = client.db('admin');
    await client.db('app').collection('c').insertOne({ x: 1 });
    await admin.command({ fsync: 1, lock: true });
    const second = await admin.command({ fsync: 1, lock: true });
    expect(second.lockCount.toString()).to.equal('2');
    // A large waiting command is shown truncated, as mongod shows it.
    const writer = await shim.client();
    const bulk = writer.db('app').collection('bulk').insertMany(Array.from({ length: 20 }, (_, i) => ({ _id: i, pad: 'p'.repeat(100) })) as never[]);
    let shown: Document[] = [];
    for (let attempt = 0; attempt < 50 && shown.length === 0; attempt++) {
      shown = (await admin.command({ currentOp: 1, waitingForLock: true })).inprog as Document[];
      if (shown.length === 0) await pause(50);
    }
    expect(shown).to.have.length(1);
    expect((shown[0]!.command as Document).$truncated).to.be.a('string').and.contain('"insert":"bulk"');
    let refused: unknown;
    try {
      await admin.command({ aggregate: 1, pipeline: [{ $backupCursor: {} }], cursor: {} });
    } catch (error) {
      refused = error;
    }
    expect((refused as MongoServerError).code).to.equal(50887);
    expect((await admin.command({ fsyncUnlock: 1 })).lockCount.toString()).to.equal('1');
    expect((await admin.command({ currentOp: 1 })).fsyncLock).to.equal(true);
    expect((await admin.command({ fsyncUnlock: 1 })).lockCount.toString()).to.equal('0');
    expect((await bulk).insertedCount).to.equal(20);
    try {
      await admin.command({ fsyncUnlock: 1 });
      expect.fail('a third unlock');
    } catch (error) {
      expect((error as MongoServerError).code).to.equal(20);
    }
    const backup = await admin.command({ aggregate: 1, pipeline: [{ $backupCursor: {} }], cursor: {} });
    try {
      await admin.command({ fsync: 1, lock: true });
      expect.fail('fsync lock under a backup cursor');
    } catch (error) {
      expect((error as MongoServerError).code).to.equal(50884);
    }
    await admin.command({ killCursors: '$cmd.aggregate', cursors: [(backup.cursor as Document).id] });
    expect((await admin.command({ fsync: 1, lock: true })).lockCount.toString()).to.equal('1');
    await admin.command({ fsyncUnlock: 1 });
  });
});
