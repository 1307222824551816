import { expect } from 'chai';
import { execa } from 'execa';
import { BSON, Long, ObjectId, Timestamp, UUID, type Document } from 'mongodb';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import {
  allDocuments, builtPaths, closeBackupCursor, copyBackupFiles, copyDbpath, oplogAfter, openBackupCursor, parseLogLines, restoreStream,
  runReadPath, runShim, shimsPerSuite, shimsPerTest, type ShimProcess,
} from '../libs/index.js';

/** A backup taken under fsync lock, with the oplog written after it and the state to expect. */
interface Backup {
  dbpath: string;
  maxCheckpointTs: Timestamp;
  entries: Document[];
  replicaSetConfig: Document;
  /** The orders at the backup. */
  atBackup: Document[];
  /** The orders after every entry. */
  atEnd: Document[];
}

async function makeBackup(shim: ShimProcess, extraWrites = 200): Promise<Backup> {
  const client = await shim.client();
  const orders = client.db('app').collection('orders');
  await orders.insertMany(Array.from({ length: 100 }, (_, i) => ({ _id: i, qty: i })) as never[]);
  const admin = client.db('admin');
  const locked = await admin.command({ fsync: 1, lock: true });
  const dbpath = await copyDbpath(shim.dbpath);
  await admin.command({ fsyncUnlock: 1 });
  const atBackup = await allDocuments(client, 'app', 'orders');
  for (let i = 0; i < extraWrites; i += 50) {
    await orders.insertMany(Array.from({ length: 50 }, (_, j) => ({ _id: 1000 + i + j, qty: j })) as never[]);
  }
  await orders.updateMany({ qty: { $lt: 5 } }, { $inc: { qty: 100 } });
  const maxCheckpointTs = locked.checkpointTimestamp as Timestamp;
  const entries = await oplogAfter(client, maxCheckpointTs);
  const atEnd = await allDocuments(client, 'app', 'orders');
  const replicaSetConfig = (await admin.command({ replSetGetConfig: 1 })).config as Document;
  await client.close();
  return { dbpath, maxCheckpointTs, entries, replicaSetConfig, atBackup, atEnd };
}

/** A digest of every file of a dbpath (lock files aside), to show a refused restore changed nothing. */
function digestFiles(dbpath: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name !== 'mongod.lock' && name !== 'lock.mdb') out[relative(dbpath, path)] = createHash('sha256').update(readFileSync(path)).digest('hex');
    }
  };
  walk(dbpath);
  return out;
}

const restoreArgs = (dbpath: string): string[] => ['--magicRestore', '--dbpath', dbpath, '--replSet', 'rs0'];

describe('magic restore: variants', function () {
  this.timeout(180_000);
  const shims = shimsPerTest();

  it('restores to maxCheckpointTs when no point in time is given, ignoring the entries', async () => {
    const source = await shims.launch({ replSet: 'rs0' });
    const backup = await makeBackup(source);
    await source.stop();
    const config = { nodeType: 'replicaSet', replicaSetConfig: backup.replicaSetConfig, maxCheckpointTs: backup.maxCheckpointTs };
    const result = await runShim(restoreArgs(backup.dbpath), { input: restoreStream(config, backup.entries) });
    expect(result.exitCode, result.stdout.slice(-2000)).to.equal(0);
    const restored = await shims.launch({ replSet: 'rs0', dbpath: backup.dbpath });
    const client = await restored.client();
    expect(await allDocuments(client, 'app', 'orders')).to.deep.equal(backup.atBackup);
    const status = await client.db('admin').command({ replSetGetStatus: 1 });
    expect((status.lastStableRecoveryTimestamp as Timestamp).equals(backup.maxCheckpointTs)).to.equal(true);
    await client.close();
    await restored.stop();
    expect((await runReadPath(['verify', backup.dbpath])).exitCode).to.equal(0);
    await rm(dirname(backup.dbpath), { recursive: true, force: true });
  });

  it('restores to a higher term: the no-op entry, the minvalid document and the config as mongod writes them', async () => {
    const source = await shims.launch({ replSet: 'rs0' });
    const backup = await makeBackup(source);
    await source.stop();
    const lastEntry = backup.entries[backup.entries.length - 1]!;
    const pointInTimeTimestamp = lastEntry.ts as Timestamp;
    const config = {
      nodeType: 'replicaSet', replicaSetConfig: backup.replicaSetConfig, maxCheckpointTs: backup.maxCheckpointTs,
      pointInTimeTimestamp, restoreToHigherTermThan: Long.fromNumber(20),
    };
    const result = await runShim(restoreArgs(backup.dbpath), { input: restoreStream(config, backup.entries) });
    expect(result.exitCode, result.stdout.slice(-2000)).to.equal(0);
    const restored = await shims.launch({ replSet: 'rs0', dbpath: backup.dbpath });
    const client = await restored.client();
    expect(await allDocuments(client, 'app', 'orders')).to.deep.equal(backup.atEnd);
    const oplog = client.db('local').collection('oplog.rs');
    const top = (await oplog.find({}).sort({ ts: -1 }).limit(1).toArray())[0]!;
    // One second after the last entry with increment 1, max(20, the source's term 1) + 100, the wall clock one second later.
    expect(Object.keys(top)).to.deep.equal(['op', 'ns', 'o', 'ts', 't', 'v', 'wall']);
    expect(top).to.deep.include({ op: 'n', ns: '', o: { msg: 'restore incrementing term' } });
    expect((top.ts as Timestamp).equals(new Timestamp({ t: pointInTimeTimestamp.t + 1, i: 1 }))).to.equal(true);
    expect(Number(top.t)).to.equal(120);
    expect(Number(top.v)).to.equal(2);
    expect((top.wall as Date).getTime()).to.equal((lastEntry.wall as Date).getTime() + 1000);
    const status = await client.db('admin').command({ replSetGetStatus: 1 });
    expect((status.lastStableRecoveryTimestamp as Timestamp).equals(top.ts as Timestamp)).to.equal(true);
    // mongod's deliberately invalid minvalid document, alone in its collection.
    const minvalid = await client.db('local').collection('replset.minvalid').find({}).toArray();
    expect(minvalid).to.deep.equal([{ _id: new ObjectId('000000000000000000000000'), t: -1, ts: new Timestamp({ t: 0, i: 1 }) }]);
    // The configuration as given; the term is the node's.
    const restoredConfig = (await client.db('admin').command({ replSetGetConfig: 1 })).config as Document;
    expect({ ...restoredConfig, term: backup.replicaSetConfig.term }).to.deep.equal(backup.replicaSetConfig);
    expect(Number(restoredConfig.term)).to.equal(120);
    // New writes carry the raised term.
    await client.db('app').collection('orders').insertOne({ _id: 'after-restore' } as never);
    const latest = (await oplog.find({}).sort({ ts: -1 }).limit(1).toArray())[0]!;
    expect(Number(latest.t)).to.equal(120);
    await client.close();
    await restored.stop();
    await rm(dirname(backup.dbpath), { recursive: true, force: true });
  });

  it('creates the systemUuids collections that are missing with their UUIDs and leaves existing ones alone', async () => {
    const source = await shims.launch({ replSet: 'rs0' });
    const backup = await makeBackup(source, 50);
    const sourceClient = await source.client();
    const ordersBefore = await sourceClient.db('app').listCollections({ name: 'orders' }).toArray();
    await sourceClient.close();
    await source.stop();
    const systemUuids = [
      { ns: 'admin.system.users', uuid: new UUID() },
      { ns: 'admin.system.roles', uuid: new UUID() },
      { ns: 'config.settings', uuid: new UUID() },
      { ns: 'app.orders', uuid: new UUID() },
    ];
    const config = { nodeType: 'replicaSet', replicaSetConfig: backup.replicaSetConfig, maxCheckpointTs: backup.maxCheckpointTs, systemUuids };
    const result = await runShim(restoreArgs(backup.dbpath), { input: restoreStream(config) });
    expect(result.exitCode, result.stdout.slice(-2000)).to.equal(0);
    const logs = parseLogLines(result.stdout);
    expect(logs.filter((l) => l.id === 8816901).map((l) => l.attr!.ns)).to.deep.equal(['admin.system.users', 'admin.system.roles', 'config.settings']);
    expect(logs.filter((l) => l.id === 8816902).map((l) => l.attr!.ns)).to.deep.equal(['app.orders']);

    const restored = await shims.launch({ replSet: 'rs0', dbpath: backup.dbpath });
    const client = await restored.client();
    const uuidOf = async (ns: string): Promise<UUID | undefined> => {
      const [db, name] = [ns.slice(0, ns.indexOf('.')), ns.slice(ns.indexOf('.') + 1)];
      const [collection] = await client.db(db).listCollections({ name }).toArray();
      return collection ? ((collection as Document).info as Document).uuid as UUID : undefined;
    };
    for (const { ns, uuid } of systemUuids.slice(0, 3)) {
      const restoredUuid = await uuidOf(ns);
      expect(restoredUuid, ns).to.not.equal(undefined);
      expect(restoredUuid!.toHexString(), ns).to.equal(uuid.toHexString());
    }
    const ordersUuid = ((ordersBefore[0] as Document).info as Document).uuid as UUID;
    expect((await uuidOf('app.orders'))!.toHexString()).to.equal(ordersUuid.toHexString());
    expect(await allDocuments(client, 'app', 'orders')).to.deep.equal(backup.atBackup);
    await client.close();
    await restored.stop();
    expect((await runReadPath(['verify', backup.dbpath])).exitCode).to.equal(0);
    await rm(dirname(backup.dbpath), { recursive: true, force: true });
  });

  it('restores a copy carrying journal files past the checkpoint to maxCheckpointTs, without the journaled writes', async () => {
    const source = await shims.launch({ replSet: 'rs0', setParameters: { checkpointIntervalSecs: 0 } });
    const client = await source.client();
    const admin = client.db('admin');
    await client.db('app').collection('orders').insertOne({ _id: 1, at: 'the checkpoint' } as never);
    await admin.command({ fsync: 1 });
    const backupCursor = await openBackupCursor(client);
    const maxCheckpointTs = backupCursor.metadata.checkpointTimestamp as Timestamp;
    const later = await client.db('app').command({ insert: 'orders', documents: [{ _id: 2, at: 'journaled after the checkpoint' }] });
    const extended = await admin.command({
      aggregate: 1, pipeline: [{ $backupCursorExtend: { backupId: backupCursor.metadata.backupId, timestamp: later.operationTime } }], cursor: {},
    });
    const journal = ((extended.cursor as Document).firstBatch as Document[]).map((file) => ({ ...file, fileSize: Number(file.fileSize) }));
    expect(journal.length, 'journal files to copy').to.be.above(0);
    const copy = await copyBackupFiles({ ...backupCursor, files: [...backupCursor.files, ...journal] as typeof backupCursor.files });
    await closeBackupCursor(client, backupCursor);
    const replicaSetConfig = (await admin.command({ replSetGetConfig: 1 })).config as Document;
    await client.close();
    await source.stop();

    const result = await runShim(restoreArgs(copy), { input: restoreStream({ nodeType: 'replicaSet', replicaSetConfig, maxCheckpointTs }) });
    expect(result.exitCode, result.stdout.slice(-2000)).to.equal(0);
    const restored = await shims.launch({ replSet: 'rs0', dbpath: copy });
    const restoredClient = await restored.client();
    expect(await allDocuments(restoredClient, 'app', 'orders')).to.deep.equal([{ _id: 1, at: 'the checkpoint' }]);
    expect(await oplogAfter(restoredClient, maxCheckpointTs), 'no oplog entry after maxCheckpointTs').to.deep.equal([]);
    await restoredClient.close();
    await restored.stop();
    await rm(dirname(copy), { recursive: true, force: true });
  });

  it('survives a kill -9 during the restore: a rerun on the same dbpath succeeds', async () => {
    const source = await shims.launch({ replSet: 'rs0' });
    const backup = await makeBackup(source, 3000);
    await source.stop();
    const pointInTimeTimestamp = backup.entries[backup.entries.length - 1]!.ts as Timestamp;
    const input = restoreStream({
      nodeType: 'replicaSet', replicaSetConfig: backup.replicaSetConfig, maxCheckpointTs: backup.maxCheckpointTs, pointInTimeTimestamp,
    }, backup.entries);
    const child = execa('node', [builtPaths.mongodShim, ...restoreArgs(backup.dbpath)], { input, reject: false });
    await new Promise<void>((resolve) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        // Killed once the stream is read and the plan is being built or applied.
        if (chunk.toString().includes('Magic restore step: read the restore stream')) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      void child.then(() => resolve());
    });
    const killed = await child;
    expect(killed.signal === 'SIGKILL' || killed.exitCode === 0).to.equal(true);
    const rerun = await runShim(restoreArgs(backup.dbpath), { input });
    expect(rerun.exitCode, rerun.stdout.slice(-2000)).to.equal(0);
    const restored = await shims.launch({ replSet: 'rs0', dbpath: backup.dbpath });
    const client = await restored.client();
    expect(await allDocuments(client, 'app', 'orders')).to.deep.equal(backup.atEnd);
    await client.close();
    await restored.stop();
    expect((await runReadPath(['verify', backup.dbpath])).exitCode).to.equal(0);
    await rm(dirname(backup.dbpath), { recursive: true, force: true });
  });
});

describe('magic restore: invalid input is refused with exit 6 and changes nothing', function () {
  this.timeout(180_000);
  const shims = shimsPerSuite();
  let backup: Backup;
  let initialFiles: Record<string, string>;

  before(async () => {
    const source = await shims.launch({ replSet: 'rs0' });
    backup = await makeBackup(source, 50);
    await source.stop();
    initialFiles = digestFiles(backup.dbpath);
  });

  after(async () => {
    if (backup) await rm(dirname(backup.dbpath), { recursive: true, force: true });
  });

  const valid = (): Document => ({ nodeType: 'replicaSet', replicaSetConfig: backup.replicaSetConfig, maxCheckpointTs: backup.maxCheckpointTs });
  const shardIdentityDocument = { shardName: 'shard1', clusterId: new ObjectId(), configsvrConnectionString: 'cfg/localhost:27019' };
  const shardingRename = [{ sourceShardName: 'shard0', destinationShardName: 'shard1', destinationShardConnectionString: 'rs1/localhost:27018' }];
  const automationCredentials = {
    createRoleCommands: [{ createRole: 'automation', $db: 'admin', privileges: [], roles: [] }],
    createUserCommands: [{ createUser: 'agent', $db: 'admin', pwd: 'secret', roles: ['automation'] }],
  };
  const authCollectionUuids = (): Document[] => [{ ns: 'admin.system.roles', uuid: new UUID() }, { ns: 'admin.system.users', uuid: new UUID() }];
  const secondsFrom = (ts: Timestamp, seconds: number): Timestamp => new Timestamp({ t: ts.t + seconds, i: ts.i });
  /** What is refused, the input, the code, and what the fatal line says (its id where mongod has its own line for it). */
  const cases: Array<[string, () => Buffer, number, { id?: number; msg: RegExp }?]> = [
    ['a configuration without nodeType', () => { const c = valid(); delete c.nodeType; return restoreStream(c); }, 40414],
    ['nodeType "shard" (not supported)', () => restoreStream({ ...valid(), nodeType: 'shard' }), 115],
    ['nodeType "configServer" (not supported)', () => restoreStream({ ...valid(), nodeType: 'configServer' }), 115],
    ['an unknown nodeType', () => restoreStream({ ...valid(), nodeType: 'standalone' }), 2],
    ['a configuration without replicaSetConfig', () => { const c = valid(); delete c.replicaSetConfig; return restoreStream(c); }, 40414],
    ['a replicaSetConfig naming another set', () => restoreStream({ ...valid(), replicaSetConfig: { ...backup.replicaSetConfig, _id: 'other' } }), 2],
    ['a configuration without maxCheckpointTs', () => { const c = valid(); delete c.maxCheckpointTs; return restoreStream(c); }, 40414],
    ['maxCheckpointTs that is not a Timestamp', () => restoreStream({ ...valid(), maxCheckpointTs: 5 }), 14],
    ['maxCheckpointTs newer than the backup\'s checkpoint', () => restoreStream({ ...valid(), maxCheckpointTs: secondsFrom(backup.maxCheckpointTs, 1) }), 8290700,
      { id: 8290700, msg: /recovery timestamp of the data files .* must match the maxCheckpointTs/ }],
    ['maxCheckpointTs older than the backup\'s checkpoint', () => restoreStream({ ...valid(), maxCheckpointTs: secondsFrom(backup.maxCheckpointTs, -1) }), 8290700,
      { id: 8290700, msg: /must match the maxCheckpointTs/ }],
    ['pointInTimeTimestamp equal to maxCheckpointTs', () => restoreStream({ ...valid(), pointInTimeTimestamp: backup.maxCheckpointTs }), 8290601],
    ['pointInTimeTimestamp before maxCheckpointTs', () => restoreStream({ ...valid(), pointInTimeTimestamp: new Timestamp({ t: 1, i: 1 }) }), 8290601],
    ['restoreToHigherTermThan 0', () => restoreStream({ ...valid(), restoreToHigherTermThan: Long.fromNumber(0) }), 2,
      { msg: /BSON field 'restoreToHigherTermThan' value must be >= 1, actual value '0'/ }],
    ['a negative restoreToHigherTermThan', () => restoreStream({ ...valid(), restoreToHigherTermThan: Long.fromNumber(-1) }), 2],
    ['restoreToHigherTermThan as a 32-bit int (the IDL declares a long)', () => restoreStream({ ...valid(), restoreToHigherTermThan: 20 }), 14],
    ['shardIdentityDocument on a replicaSet node', () => restoreStream({ ...valid(), shardIdentityDocument }), 8290602,
      { msg: /If the 'shardIdentityDocument', 'shardingRename', or 'balancerSettings' fields exist in the restore configuration, the node type must be either 'shard', 'configServer', or 'configShard'./ }],
    ['shardingRename on a replicaSet node', () => restoreStream({ ...valid(), shardingRename }), 8290602],
    ['balancerSettings on a replicaSet node', () => restoreStream({ ...valid(), balancerSettings: { stopped: true } }), 8290602],
    ['shardingRename without shardIdentityDocument on a shard', () => restoreStream({ ...valid(), nodeType: 'shard', shardingRename }), 8290603,
      { msg: /If 'shardingRename' exists in the restore configuration, 'shardIdentityDocument' must also be passed in./ }],
    ['automationCredentials without the auth collections', () => restoreStream({ ...valid(), automationCredentials }), 8816900,
      { id: 8816900, msg: /Internal replicated collection does not exist/ }],
    ['automationCredentials with the auth collections from systemUuids (no authentication here)', () => restoreStream({
      ...valid(), automationCredentials, systemUuids: authCollectionUuids(),
    }), 115, { msg: /automationCredentials is not supported/ }],
    ['systemUuids with a uuid that is not a UUID', () => restoreStream({ ...valid(), systemUuids: [{ ns: 'admin.system.users', uuid: 'not a uuid' }] }), 14],
    ['collectionsToRestore (not supported)', () => restoreStream({ ...valid(), collectionsToRestore: [{ ns: 'app.orders', uuid: new UUID() }] }), 115],
    ['an unknown field', () => restoreStream({ ...valid(), surprise: true }), 40415],
    ['an empty stream', () => Buffer.alloc(0), 8290500],
    ['a stream cut inside a document', () => restoreStream(valid()).subarray(0, 20), 8290500],
    ['a stream cut inside a length prefix', () => Buffer.concat([restoreStream(valid()), Buffer.from([1, 0])]), 8290500],
    ['a document length below 5', () => Buffer.from([4, 0, 0, 0]), 8290501],
    ['a document length above 16 MB', () => Buffer.from([0, 0, 0, 0x7f, 0]), 8290501],
    ['bytes that are not BSON', () => { const b = Buffer.from(BSON.serialize(valid())); b[4] = 0x99; return b; }, 8290502],
    ['an entry that is not an oplog entry', () => restoreStream(valid(), [{ hello: 1 }]), 2],
  ];
  for (const [what, input, code, fatalLine] of cases) {
    it(`refuses ${what} with code ${code}`, async () => {
      const result = await runShim(restoreArgs(backup.dbpath), { input: input() });
      expect(result.exitCode, result.stdout.slice(-1500)).to.equal(6);
      const fatal = parseLogLines(result.stdout).find((line) => line.s === 'F');
      expect(fatal, 'a fatal log line').to.not.equal(undefined);
      expect(fatal!.attr).to.include({ code });
      if (fatalLine) {
        if (fatalLine.id !== undefined) expect(fatal!.id).to.equal(fatalLine.id);
        expect(fatal!.msg).to.match(fatalLine.msg);
      }
      expect(digestFiles(backup.dbpath)).to.deep.equal(initialFiles);
    });
  }

  it('names both timestamps when the backup\'s checkpoint is not maxCheckpointTs', async () => {
    const claimed = secondsFrom(backup.maxCheckpointTs, 5);
    const result = await runShim(restoreArgs(backup.dbpath), { input: restoreStream({ ...valid(), maxCheckpointTs: claimed }) });
    expect(result.exitCode).to.equal(6);
    const fatal = parseLogLines(result.stdout).find((line) => line.s === 'F')!;
    expect(fatal.c).to.equal('CONTROL');
    expect((fatal.attr!.recoveryTimestamp as { $timestamp: { t: number; i: number } }).$timestamp).to.deep.equal({ t: backup.maxCheckpointTs.t, i: backup.maxCheckpointTs.i });
    expect((fatal.attr!.maxCheckpointTs as { $timestamp: { t: number; i: number } }).$timestamp).to.deep.equal({ t: claimed.t, i: claimed.i });
    expect(digestFiles(backup.dbpath)).to.deep.equal(initialFiles);
  });

  it('still restores from the same files after all those refusals', async () => {
    const result = await runShim(restoreArgs(backup.dbpath), { input: restoreStream(valid(), backup.entries) });
    expect(result.exitCode, result.stdout.slice(-1500)).to.equal(0);
  });
});
