import { expect } from 'chai';
import { Timestamp, type Document, type MongoClient } from 'mongodb';
import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  allDocuments, copyDbpathSlowly, dataFileHashes, oplogAfter, restoreStream, runReadPath, runShim, shimsPerTest,
} from '../libs/index.js';

/**
 * The fsync-lock backup path: lock, copy the dbpath file by file with pauses across several
 * periodic checkpoint intervals while a client's write waits at the lock, unlock, write more,
 * then magic-restore the copy to a point in time with the oplog written after the lock's
 * checkpoint and check the data.
 */
describe('magic_restore_fsync_lock', function () {
  this.timeout(180_000);
  const shims = shimsPerTest();

  async function snapshot(client: MongoClient): Promise<Record<string, Document[]>> {
    return {
      orders: await allDocuments(client, 'app', 'orders'),
      waiting: await allDocuments(client, 'app', 'waiting'),
    };
  }

  for (const storage of ['disagg', 'local'] as const) {
    it(`${storage}: a slow copy under the fsync lock restores to the point in time`, async () => {
      const common = { storage, replSet: 'rs0', setParameters: { checkpointIntervalSecs: 1 } } as const;
      const source = await shims.launch(common);
      const client = await source.client();
      const app = client.db('app');
      const admin = client.db('admin');
      await app.collection('orders').insertMany(Array.from({ length: 400 }, (_, i) => ({ _id: i, qty: i % 5 })) as never[]);

      const locked = await admin.command({ fsync: 1, lock: true });
      const maxCheckpointTs = locked.checkpointTimestamp as Timestamp;
      const before = await dataFileHashes(source.dbpath);
      // A client's write waits at the lock for the whole copy.
      const writerClient = await source.client();
      const waitingWrite = writerClient.db('app').collection('waiting').insertOne({ _id: 'queued during the copy' } as never);
      const fileCount = Object.keys(before).length;
      const backup = await copyDbpathSlowly(source.dbpath, Math.ceil(3500 / fileCount));
      expect(await dataFileHashes(source.dbpath), 'no file changed during the copy').to.deep.equal(before);
      await admin.command({ fsyncUnlock: 1 });
      await waitingWrite;

      // Writes up to the point in time, and after it.
      await app.collection('orders').updateMany({ qty: 2 }, { $set: { status: 'late' } });
      await app.collection('orders').deleteMany({ _id: { $gte: 390 } } as never);
      const expected = await snapshot(client);
      const upToPointInTime = await oplogAfter(client, maxCheckpointTs);
      const pointInTimeTimestamp = upToPointInTime[upToPointInTime.length - 1]!.ts as Timestamp;
      await app.collection('orders').deleteMany({});
      const entries = await oplogAfter(client, maxCheckpointTs);
      const replicaSetConfig = (await admin.command({ replSetGetConfig: 1 })).config as Document;
      await source.stop();

      const restore = await runShim(['--magicRestore', '--dbpath', backup, '--replSet', 'rs0', '--storage', storage], {
        input: restoreStream({ nodeType: 'replicaSet', replicaSetConfig, maxCheckpointTs, pointInTimeTimestamp }, entries),
      });
      expect(restore.exitCode, restore.stdout.slice(-3000)).to.equal(0);

      const restored = await shims.launch({ ...common, dbpath: backup });
      const restoredClient = await restored.client();
      expect(await snapshot(restoredClient)).to.deep.equal(expected);
      const status = await restoredClient.db('admin').command({ replSetGetStatus: 1 });
      expect((status.lastStableRecoveryTimestamp as Timestamp).equals(pointInTimeTimestamp)).to.equal(true);
      await restored.stop();
      const verify = await runReadPath(['verify', backup]);
      expect(verify.exitCode, verify.stdout + verify.stderr).to.equal(0);
      await rm(dirname(backup), { recursive: true, force: true });
    });
  }
});
