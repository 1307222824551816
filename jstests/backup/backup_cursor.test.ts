import { expect } from 'chai';
import { Binary, MongoServerError, Timestamp, UUID, type Document, type MongoClient } from 'mongodb';
import { readdir, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, relative } from 'node:path';
import {
  allDocuments, closeBackupCursor, copyBackupFiles, openBackupCursor, oplogAfter, runReadPath, shimsPerTest,
} from '../libs/index.js';

const pause = (milliseconds: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, milliseconds));

async function status(client: MongoClient): Promise<{ checkpointId: string; backupCursorOpen: boolean }> {
  const reply = await client.db('admin').command({ serverStatus: 1 });
  return {
    checkpointId: ((reply.disagg as Document).lastCheckpoint as Document).id as string,
    backupCursorOpen: (reply.storageEngine as Document).backupCursorOpen as boolean,
  };
}

async function failure(promise: Promise<unknown>): Promise<MongoServerError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof MongoServerError) return error;
    throw error;
  }
  throw new Error('expected the command to fail');
}

/** The documents of `ns` as of `ts`, rebuilt from the oplog (inserts and updates carry the whole document). */
function replayOplog(entries: Document[], ns: string, upTo: Timestamp): Document[] {
  const documents = new Map<string, Document>();
  for (const entry of entries) {
    if (entry.ns !== ns || (entry.ts as Timestamp).greaterThan(upTo)) continue;
    const id = JSON.stringify((entry.o2 ?? entry.o)._id);
    if (entry.op === 'i' || entry.op === 'u') documents.set(id, entry.o as Document);
    else if (entry.op === 'd') documents.delete(id);
  }
  return [...documents.values()].sort((a, b) => (a._id as number) - (b._id as number));
}

/**
 * `$backupCursor`, MongoDB's non-blocking backup: it pins the last checkpoint, lists the files
 * to copy, and the copy (taken slowly, while a client writes and periodic checkpoints run)
 * restores to exactly that checkpoint. Killing the cursor or its idle timeout releases it.
 */
describe('$backupCursor', function () {
  this.timeout(180_000);
  const shims = shimsPerTest();

  for (const storage of ['disagg', 'local'] as const) {
    it(`${storage}: a copy taken while a client writes restores to exactly the backup's checkpoint`, async () => {
      const source = await shims.launch({ storage, replSet: 'rs0', setParameters: { checkpointIntervalSecs: 1 } });
      const client = await source.client();
      const items = client.db('app').collection<{ _id: number; [key: string]: unknown }>('items');
      await items.insertMany(Array.from({ length: 500 }, (_, i) => ({ _id: i, v: 0, payload: 'p'.repeat(100) })));

      // A client writing all along: inserts, updates of earlier documents and deletes.
      const writerClient = await source.client();
      const written = writerClient.db('app').collection<{ _id: number; [key: string]: unknown }>('items');
      let writing = true;
      let writes = 0;
      const writer = (async () => {
        for (let n = 500; writing; n++) {
          await written.insertOne({ _id: n, v: 0, payload: 'w'.repeat(100) });
          await written.updateOne({ _id: n % 500 }, { $inc: { v: 1 } } as never);
          if (n % 7 === 0) await written.deleteOne({ _id: n - 250 });
          writes++;
        }
      })();
      // Periodic checkpoints run under the writes before the backup opens.
      await pause(1500);

      const backup = await openBackupCursor(client);
      const metadata = backup.metadata;
      expect(metadata.backupId).to.satisfy((id: unknown) => id instanceof UUID || (id instanceof Binary && id.sub_type === 4));
      expect(metadata.dbpath).to.equal(source.dbpath);
      expect(metadata.checkpointTimestamp).to.be.instanceOf(Timestamp);
      expect(metadata).to.include({ disableIncrementalBackup: false, incrementalBackup: false, blockSize: 16 });
      const checkpointTimestamp = metadata.checkpointTimestamp as Timestamp;
      expect((metadata.oplogStart as Document).ts).to.be.instanceOf(Timestamp);
      expect(((metadata.oplogEnd as Document).ts as Timestamp).greaterThan(checkpointTimestamp)).to.equal(false);
      const names = backup.files.map((file) => relative(source.dbpath, file.filename));
      for (const file of backup.files) {
        expect(isAbsolute(file.filename), file.filename).to.equal(true);
        expect(file.fileSize).to.be.a('number').and.be.above(0);
      }
      expect(names).to.include.members(['WiredTiger', 'WiredTiger.backup', 'WiredTiger.wt']);
      const oplogFile = backup.files.find((file) => file.ns === 'local.oplog.rs');
      expect(oplogFile, 'the oplog file names its collection').to.not.equal(undefined);
      expect(oplogFile!.uuid).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-/);
      expect(oplogFile!.required).to.equal(true);
      expect(backup.files.find((file) => file.filename.endsWith('WiredTiger.wt'))).to.include({ ns: '', uuid: '' });
      expect(names).to.not.include.members(['WiredTiger.turtle', 'mongod.lock']);
      if (storage === 'disagg') expect(names).to.include(join('pagelog.backup', 'data.mdb'));
      expect((await status(client)).backupCursorOpen).to.equal(true);
      expect((await failure(client.db('admin').command({ aggregate: 1, pipeline: [{ $backupCursor: {} }], cursor: {} }))).code).to.equal(50886);

      // The copy: file by file, with pauses across several periodic checkpoints.
      const checkpointBefore = (await status(client)).checkpointId;
      const writesBefore = writes;
      const copy = await copyBackupFiles(backup, { pauseMs: Math.ceil(3500 / backup.files.length) });
      expect((await status(client)).checkpointId).to.not.equal(checkpointBefore);
      expect(writes - writesBefore, 'writes went on during the copy').to.be.above(20);
      await closeBackupCursor(client, backup);
      expect((await status(client)).backupCursorOpen).to.equal(false);
      expect(existsSync(join(source.dbpath, 'WiredTiger.backup'))).to.equal(false);

      writing = false;
      await writer;
      const entries = await oplogAfter(client, new Timestamp({ t: 0, i: 0 }));
      const expected = replayOplog(entries, 'app.items', checkpointTimestamp);
      expect(expected.length).to.be.above(500);
      expect((await allDocuments(client, 'app', 'items')).length, 'later writes are not in the backup').to.not.equal(expected.length);
      await source.stop();

      const restored = await shims.launch({ storage, replSet: 'rs0', dbpath: copy });
      const restoredClient = await restored.client();
      expect(await allDocuments(restoredClient, 'app', 'items')).to.deep.equal(expected);
      const replSet = await restoredClient.db('admin').command({ replSetGetStatus: 1 });
      expect((replSet.lastStableRecoveryTimestamp as Timestamp).equals(checkpointTimestamp)).to.equal(true);
      const oplogTop = await restoredClient.db('local').collection('oplog.rs').find({}).sort({ ts: -1 }).limit(1).toArray();
      expect((oplogTop[0]!.ts as Timestamp).equals((metadata.oplogEnd as Document).ts as Timestamp)).to.equal(true);
      await restored.stop();
      const verify = await runReadPath(['verify', copy]);
      expect(verify.exitCode, verify.stdout + verify.stderr).to.equal(0);
      await rm(dirname(copy), { recursive: true, force: true });
    });
  }

  it('is released by killCursors and by the idle cursor timeout', async () => {
    const shim = await shims.launch({ replSet: 'rs0', setParameters: { cursorTimeoutMillis: 1000, clientCursorMonitorFrequencySecs: 1 } });
    const client = await shim.client();
    await client.db('app').collection('c').insertOne({ x: 1 });
    const first = await openBackupCursor(client);
    const killed = await closeBackupCursor(client, first);
    expect(killed.cursorsKilled).to.have.length(1);
    expect((await status(client)).backupCursorOpen).to.equal(false);
    await openBackupCursor(client);
    expect(existsSync(join(shim.dbpath, 'WiredTiger.backup'))).to.equal(true);
    const deadline = Date.now() + 10_000;
    while ((await status(client)).backupCursorOpen) {
      expect(Date.now(), 'the idle timeout closes the cursor').to.be.below(deadline);
      await pause(250);
    }
    expect(existsSync(join(shim.dbpath, 'WiredTiger.backup'))).to.equal(false);
    const third = await openBackupCursor(client);
    await closeBackupCursor(client, third);
  });

  it('leaves nothing of an open backup after a kill -9 and a restart', async () => {
    const shim = await shims.launch({ replSet: 'rs0' });
    let client = await shim.client();
    await client.db('app').collection('c').insertMany([{ _id: 1 }, { _id: 2 }] as never[], { writeConcern: { j: true } });
    await openBackupCursor(client);
    expect(existsSync(join(shim.dbpath, 'WiredTiger.backup'))).to.equal(true);
    expect(existsSync(join(shim.dbpath, 'pagelog.backup'))).to.equal(true);
    await shim.kill();
    await shim.start();
    client = await shim.client();
    expect(existsSync(join(shim.dbpath, 'WiredTiger.backup'))).to.equal(false);
    expect(existsSync(join(shim.dbpath, 'pagelog.backup'))).to.equal(false);
    expect(await client.db('app').collection('c').countDocuments()).to.equal(2);
    expect((await status(client)).backupCursorOpen).to.equal(false);
    const again = await openBackupCursor(client);
    await closeBackupCursor(client, again);
  });

  it('extends to a timestamp once it is durable with the journal files that carry it, which restore to it', async () => {
    const shim = await shims.launch({ replSet: 'rs0', setParameters: { checkpointIntervalSecs: 0 } });
    const client = await shim.client();
    const admin = client.db('admin');
    await client.db('app').collection('c').insertOne({ _id: 1, x: 1 } as never);
    const backup = await openBackupCursor(client);
    const journalName = /^WiredTigerLog\.(\d{10})$/;
    const isJournal = (file: { filename: string }): boolean => journalName.test(relative(shim.dbpath, file.filename));
    expect(backup.files.filter(isJournal), 'the pinned checkpoint opens without journal files').to.deep.equal([]);
    const pinnedTurtle = await readFile(join(shim.dbpath, 'WiredTiger.backup'), 'utf8');
    // WiredTiger's "no log" LSN (a checkpoint taken before the journal began): every journal file carries what follows it.
    const recordedFile = Number(/checkpoint_lsn=\((\d+),/.exec(pinnedTurtle)![1]);
    const firstJournalFile = Math.min(...(await readdir(shim.dbpath)).filter((name) => journalName.test(name)).map((name) => Number(journalName.exec(name)![1])));
    const checkpointFile = recordedFile === 0xffffffff ? firstJournalFile : recordedFile;
    const marker = `after the checkpoint ${new UUID().toHexString()}`;
    const later = await client.db('app').command({ insert: 'c', documents: [{ _id: 2, x: marker }] });
    const extendTo = later.operationTime as Timestamp;
    expect(extendTo.greaterThan(backup.metadata.checkpointTimestamp as Timestamp)).to.equal(true);
    const extended = await admin.command({ aggregate: 1, pipeline: [{ $backupCursorExtend: { backupId: backup.metadata.backupId, timestamp: extendTo } }], cursor: {} });
    const journal = ((extended.cursor as Document).firstBatch as Document[]).map((file) => ({ ...file, fileSize: Number(file.fileSize) })) as unknown as typeof backup.files;
    // Exactly the files from the checkpoint's checkpoint_lsn file through the one holding the
    // oplog entry at the timestamp (found by its document's bytes).
    const names = journal.map((file) => relative(shim.dbpath, file.filename));
    const numbers = names.map((name) => Number(journalName.exec(name)?.[1]));
    let holder: number | undefined;
    for (const number of [...numbers].reverse()) {
      const name = `WiredTigerLog.${String(number).padStart(10, '0')}`;
      if ((await readFile(join(shim.dbpath, name))).includes(Buffer.from(marker))) holder = number;
    }
    expect(holder, `a listed journal file holds the oplog entry at the timestamp: ${names.join(', ')}`).to.not.equal(undefined);
    expect(numbers).to.deep.equal(Array.from({ length: holder! - checkpointFile + 1 }, (_, i) => checkpointFile + i));
    for (const file of journal) expect(file.fileSize, file.filename).to.be.above(0);
    // Checkpoints while the backup is open remove no journal file it lists.
    await admin.command({ fsync: 1 });
    await client.db('app').collection('c').insertOne({ _id: 3, x: 'after the extension' } as never);
    await admin.command({ fsync: 1 });
    for (const file of journal) expect(existsSync(file.filename), `${file.filename} is kept`).to.equal(true);
    const copy = await copyBackupFiles({ ...backup, files: [...backup.files, ...journal] });
    await closeBackupCursor(client, backup);
    await shim.stop();
    const restored = await shims.launch({ replSet: 'rs0', dbpath: copy });
    const restoredClient = await restored.client();
    expect(await allDocuments(restoredClient, 'app', 'c'), 'the copy reaches the timestamp, and not the bytes written after the listing').to.deep.equal([{ _id: 1, x: 1 }, { _id: 2, x: marker }]);
    const oplogTop = await restoredClient.db('local').collection('oplog.rs').find({}).sort({ ts: -1 }).limit(1).toArray();
    expect((oplogTop[0]!.ts as Timestamp).equals(extendTo)).to.equal(true);
    await restored.stop();
    await rm(dirname(copy), { recursive: true, force: true });
  });

  it('refuses the $backupCursor and $backupCursorExtend arguments mongod refuses', async () => {
    const shim = await shims.launch({ replSet: 'rs0', setParameters: { checkpointIntervalSecs: 0 } });
    const client = await shim.client();
    const admin = client.db('admin');
    await client.db('app').collection('c').insertOne({ x: 1 });
    const backup = await openBackupCursor(client);
    const extendTo = (await client.db('app').command({ insert: 'c', documents: [{ x: 2 }] })).operationTime as Timestamp;
    const future = new Timestamp({ t: extendTo.high + 1000, i: 1 });
    const expired = await failure(admin.command({ aggregate: 1, pipeline: [{ $backupCursorExtend: { backupId: backup.metadata.backupId, timestamp: future } }], cursor: {}, maxTimeMS: 300 }));
    expect(expired.code).to.equal(50);
    const unknown = await failure(admin.command({ aggregate: 1, pipeline: [{ $backupCursorExtend: { backupId: new UUID(), timestamp: extendTo } }], cursor: {} }));
    expect(unknown.code).to.equal(51011);
    const missing = await failure(admin.command({ aggregate: 1, pipeline: [{ $backupCursorExtend: { timestamp: extendTo } }], cursor: {} }));
    expect(missing.code).to.equal(40414);
    await closeBackupCursor(client, backup);

    const onCollection = await failure(client.db('app').command({ aggregate: 'c', pipeline: [{ $backupCursor: {} }], cursor: {} }));
    expect(onCollection.code).to.equal(73);
    const unknownOption = await failure(admin.command({ aggregate: 1, pipeline: [{ $backupCursor: { colour: 'blue' } }], cursor: {} }));
    expect(unknownOption.code).to.equal(40415);
    const incremental = await failure(admin.command({ aggregate: 1, pipeline: [{ $backupCursor: { incrementalBackup: true } }], cursor: {} }));
    expect(incremental.code).to.equal(20);
    const named = await failure(admin.command({ aggregate: 1, pipeline: [{ $backupCursor: { thisBackupName: 'b1' } }], cursor: {} }));
    expect(named.code).to.equal(72);
    const notObject = await failure(admin.command({ aggregate: 1, pipeline: [{ $backupCursor: 1 }], cursor: {} }));
    expect(notObject.code).to.equal(9);
    expect((await status(client)).backupCursorOpen).to.equal(false);
  });
});
