import { expect } from 'chai';
import { Timestamp, type Document, type MongoClient } from 'mongodb';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  allDocuments, closeBackupCursor, copyBackupFiles, oplogAfter, openBackupCursor, parseLogLines, restoreStream, runReadPath, runShim,
  shimsPerTest,
} from '../libs/index.js';

/**
 * The headline flow: load data and cluster parameters, open a `$backupCursor` and copy its
 * files slowly while a client goes on writing and periodic checkpoints run, write more,
 * magic-restore the copy to a point in time with the oplog written after the backup's
 * checkpoint, restart, check the data and the cleaned parameters, run both repair variants
 * through the server, restart, and verify every artifact with wt-readpath. The fsync-lock
 * backup path is `magic_restore_fsync_lock.test.ts`.
 */
describe('magic_restore_clean_params', function () {
  this.timeout(180_000);
  const shims = shimsPerTest();
  const setParameters = { enableTestCommands: 1, enableRepairCommands: 1, checkpointIntervalSecs: 1 };
  const common = { replSet: 'rs0', keyProvider: 'example', setParameters } as const;

  async function snapshot(client: MongoClient): Promise<Record<string, Document[]>> {
    return {
      orders: await allDocuments(client, 'app', 'orders'),
      customers: await allDocuments(client, 'app', 'customers'),
      events: await allDocuments(client, 'app', 'events'),
    };
  }

  it('restores to the point in time, cleans the cluster parameters, repairs through the server and leaves verifiable files', async () => {
    // Data and cluster parameters, allowed and not.
    const source = await shims.launch(common);
    let client = await source.client();
    const app = client.db('app');
    await app.collection('orders').insertMany(Array.from({ length: 300 }, (_, i) => ({ _id: i, item: `item ${i}`, qty: i % 7 })) as never[]);
    await app.collection('customers').insertMany(Array.from({ length: 120 }, (_, i) => ({ _id: `c${i}`, name: `customer ${i}` })) as never[]);
    const admin = client.db('admin');
    await admin.command({ setClusterParameter: { changeStreamOptions: { preAndPostImages: { expireAfterSeconds: 30 } } } });
    await admin.command({ setClusterParameter: { defaultMaxTimeMS: { readOperations: 5000 } } });
    await admin.command({ setClusterParameter: { changeStreams: { expireAfterSeconds: 10 } } });
    await admin.command({ setClusterParameter: { testIntClusterParameter: { intData: 42 } } });

    // The backup: a $backupCursor on a checkpoint holding the load, its files copied one by one
    // across several periodic checkpoints while another client writes.
    await admin.command({ fsync: 1 });
    const writerClient = await source.client();
    let writing = true;
    let eventCount = 0;
    const writer = (async () => {
      while (writing) {
        await writerClient.db('app').collection('events').insertOne({ _id: eventCount, kind: 'during the copy' } as never);
        eventCount += 1;
      }
    })();
    const backupCursor = await openBackupCursor(client);
    const maxCheckpointTs = backupCursor.metadata.checkpointTimestamp as Timestamp;
    expect(maxCheckpointTs).to.be.instanceOf(Timestamp);
    const backup = await copyBackupFiles(backupCursor, { pauseMs: Math.ceil(3000 / backupCursor.files.length) });
    await closeBackupCursor(client, backupCursor);
    writing = false;
    await writer;
    expect(eventCount, 'writes went on during the copy').to.be.above(10);

    // Writes up to the point in time...
    await app.collection('orders').insertMany(Array.from({ length: 40 }, (_, i) => ({ _id: 1000 + i, item: `late ${i}`, qty: 1 })) as never[]);
    await app.collection('orders').updateMany({ qty: 3 }, { $set: { status: 'shipped' }, $inc: { qty: 10 } });
    await app.collection('orders').deleteMany({ _id: { $lt: 20 } } as never);
    await app.collection('customers').updateOne({ _id: 'c5' } as never, { $set: { vip: true } });
    await app.createCollection('audit');
    await app.collection('audit').insertOne({ _id: 'a1', note: 'created after the backup' } as never);
    await admin.command({ setClusterParameter: { testStrClusterParameter: { strData: 'written after the backup' } } });
    const expected = await snapshot(client);
    const expectedAudit = await allDocuments(client, 'app', 'audit');
    const upToPointInTime = await oplogAfter(client, maxCheckpointTs);
    const pointInTimeTimestamp = upToPointInTime[upToPointInTime.length - 1]!.ts as Timestamp;

    // ...and after it, which the restore must not apply.
    await app.collection('orders').deleteMany({});
    await app.collection('customers').insertOne({ _id: 'too-late' } as never);
    await app.dropCollection('audit');
    const entries = await oplogAfter(client, maxCheckpointTs);
    expect(entries.length).to.be.greaterThan(upToPointInTime.length);
    const replicaSetConfig = (await admin.command({ replSetGetConfig: 1 })).config as Document;
    await client.close();
    await source.stop();

    // The restore, through the PIT write path.
    const restore = await runShim(['--magicRestore', '--dbpath', backup, '--replSet', 'rs0', '--keyProvider', 'example'], {
      input: restoreStream({ nodeType: 'replicaSet', replicaSetConfig, maxCheckpointTs, pointInTimeTimestamp }, entries),
    });
    expect(restore.exitCode, restore.stdout.slice(-3000)).to.equal(0);
    const logs = parseLogLines(restore.stdout);
    expect(logs.some((l) => l.c === 'RESTORE' && l.msg === 'Beginning magic restore')).to.equal(true);
    const finished = logs.find((l) => l.c === 'RESTORE' && l.msg === 'Finished magic restore');
    expect(finished, 'the finished line').to.not.equal(undefined);
    expect(finished!.attr).to.have.property('steps');

    // Restart on the restored files: the data of the point in time, the parameters cleaned.
    const restored = await shims.launch({ ...common, dbpath: backup });
    client = await restored.client();
    expect(await snapshot(client)).to.deep.equal(expected);
    expect(await allDocuments(client, 'app', 'audit')).to.deep.equal(expectedAudit);
    const parameters = await client.db('config').collection('clusterParameters').find({}).sort({ _id: 1 }).toArray();
    expect(parameters.map((p) => p._id)).to.deep.equal(['changeStreamOptions', 'defaultMaxTimeMS']);
    const status = await client.db('admin').command({ replSetGetStatus: 1 });
    expect((status.lastStableRecoveryTimestamp as Timestamp).equals(pointInTimeTimestamp)).to.equal(true);
    const oplogTop = await client.db('local').collection('oplog.rs').find({}).sort({ ts: -1 }).limit(1).toArray();
    expect((oplogTop[0]!.ts as Timestamp).equals(pointInTimeTimestamp)).to.equal(true);

    // Repair variant A: create a table through the PIT path.
    const created = await client.db('admin').command({ repairMetadata: 1, action: 'create', uri: 'table:repair_probe', config: 'key_format=S,value_format=S', local: true });
    expect(created.checkpointId).to.be.a('string');
    // Variant B: inject a collision between the two collections' tables, detect it, modify.
    const collections = await client.db('app').listCollections().toArray();
    const uriOf = (name: string): string => ((collections.find((c) => c.name === name) as Document).info as Document).uri as string;
    await client.db('admin').command({ injectFault: 'idCollision', uris: [uriOf('orders'), uriOf('customers')] });
    const detected = await client.db('admin').command({ repairMetadata: 1, action: 'detect' });
    const collision = (detected.findings as Document[]).find((f) => f.kind === 'idCollision')!;
    expect(collision.uris).to.have.members([uriOf('orders'), uriOf('customers')]);
    const modified = await client.db('admin').command({ repairMetadata: 1, action: 'modify', uri: uriOf('customers'), set: { id: collision.suggestedId } });
    expect(modified.checkpointId).to.be.a('string');
    expect(Number(modified.checkpointId)).to.be.greaterThan(Number(created.checkpointId));
    await client.close();
    await restored.restart();
    client = await restored.client();
    expect(await snapshot(client)).to.deep.equal(expected);
    expect((await client.db('admin').command({ repairMetadata: 1, action: 'detect' })).findings).to.deep.equal([]);
    await client.close();
    await restored.stop();

    // The artifacts, read directly.
    for (const args of [['verify', backup], ['turtle', backup], ['keys', backup], ['header', join(backup, 'repair_probe.wt')]]) {
      const result = await runReadPath(args);
      expect(result.exitCode, `wt-readpath ${args[0]}: ${result.stdout}${result.stderr}`).to.equal(0);
    }
    const list = await runReadPath(['list', backup, '--json']);
    const ids = (JSON.parse(list.stdout) as Document[]).filter((e) => e.id !== undefined && String(e.uri).startsWith('file:') && e.uri !== 'file:WiredTiger.wt').map((e) => e.id);
    expect(new Set(ids).size).to.equal(ids.length);
    await rm(dirname(backup), { recursive: true, force: true });
  });
});
