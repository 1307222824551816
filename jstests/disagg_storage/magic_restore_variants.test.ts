import { expect } from 'chai';
import { execa } from 'execa';
import { BSON, Long, Timestamp, type Document } from 'mongodb';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import {
  allDocuments, builtPaths, copyDbpath, oplogAfter, parseLogLines, restoreStream, runReadPath, runShim, shimsPerSuite,
  shimsPerTest, type ShimProcess,
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

  it('restores to a higher term, writing the no-op entry with the raised term', async () => {
    const source = await shims.launch({ replSet: 'rs0' });
    const backup = await makeBackup(source);
    await source.stop();
    const pointInTimeTimestamp = backup.entries[backup.entries.length - 1]!.ts as Timestamp;
    const config = {
      nodeType: 'replicaSet', replicaSetConfig: backup.replicaSetConfig, maxCheckpointTs: backup.maxCheckpointTs,
      pointInTimeTimestamp, restoreToHigherTermThan: Long.fromNumber(20),
    };
    const result = await runShim(restoreArgs(backup.dbpath), { input: restoreStream(config, backup.entries) });
    expect(result.exitCode, result.stdout.slice(-2000)).to.equal(0);
    const restored = await shims.launch({ replSet: 'rs0', dbpath: backup.dbpath });
    const client = await restored.client();
    expect(await allDocuments(client, 'app', 'orders')).to.deep.equal(backup.atEnd);
    const top = (await client.db('local').collection('oplog.rs').find({}).sort({ ts: -1 }).limit(1).toArray())[0]!;
    expect(top.op).to.equal('n');
    expect(Number(top.t)).to.equal(120);
    expect((top.ts as Timestamp).greaterThan(pointInTimeTimestamp)).to.equal(true);
    // New writes carry the raised term.
    await client.db('app').collection('orders').insertOne({ _id: 'after-restore' } as never);
    const latest = (await client.db('local').collection('oplog.rs').find({}).sort({ ts: -1 }).limit(1).toArray())[0]!;
    expect(Number(latest.t)).to.equal(120);
    const config2 = (await client.db('admin').command({ replSetGetConfig: 1 })).config as Document;
    expect(Number(config2.term)).to.equal(120);
    await client.close();
    await restored.stop();
    await rm(dirname(backup.dbpath), { recursive: true, force: true });
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
  const cases: Array<[string, () => Buffer, number]> = [
    ['a configuration without nodeType', () => { const c = valid(); delete c.nodeType; return restoreStream(c); }, 40414],
    ['nodeType "shard" (not supported)', () => restoreStream({ ...valid(), nodeType: 'shard' }), 115],
    ['nodeType "configServer" (not supported)', () => restoreStream({ ...valid(), nodeType: 'configServer' }), 115],
    ['an unknown nodeType', () => restoreStream({ ...valid(), nodeType: 'standalone' }), 2],
    ['a configuration without replicaSetConfig', () => { const c = valid(); delete c.replicaSetConfig; return restoreStream(c); }, 40414],
    ['a replicaSetConfig naming another set', () => restoreStream({ ...valid(), replicaSetConfig: { ...backup.replicaSetConfig, _id: 'other' } }), 2],
    ['a configuration without maxCheckpointTs', () => { const c = valid(); delete c.maxCheckpointTs; return restoreStream(c); }, 40414],
    ['maxCheckpointTs that is not a Timestamp', () => restoreStream({ ...valid(), maxCheckpointTs: 5 }), 2],
    ['pointInTimeTimestamp equal to maxCheckpointTs', () => restoreStream({ ...valid(), pointInTimeTimestamp: backup.maxCheckpointTs }), 8290601],
    ['pointInTimeTimestamp before maxCheckpointTs', () => restoreStream({ ...valid(), pointInTimeTimestamp: new Timestamp({ t: 1, i: 1 }) }), 8290601],
    ['a negative restoreToHigherTermThan', () => restoreStream({ ...valid(), restoreToHigherTermThan: -1 }), 2],
    ['collectionsToRestore (not supported)', () => restoreStream({ ...valid(), collectionsToRestore: [{ ns: 'app.orders' }] }), 115],
    ['an unknown field', () => restoreStream({ ...valid(), surprise: true }), 40415],
    ['an empty stream', () => Buffer.alloc(0), 8290500],
    ['a stream cut inside a document', () => restoreStream(valid()).subarray(0, 20), 8290500],
    ['a stream cut inside a length prefix', () => Buffer.concat([restoreStream(valid()), Buffer.from([1, 0])]), 8290500],
    ['a document length below 5', () => Buffer.from([4, 0, 0, 0]), 8290501],
    ['a document length above 16 MB', () => Buffer.from([0, 0, 0, 0x7f, 0]), 8290501],
    ['bytes that are not BSON', () => { const b = Buffer.from(BSON.serialize(valid())); b[4] = 0x99; return b; }, 8290502],
    ['an entry that is not an oplog entry', () => restoreStream(valid(), [{ hello: 1 }]), 2],
  ];
  for (const [what, input, code] of cases) {
    it(`refuses ${what} with code ${code}`, async () => {
      const result = await runShim(restoreArgs(backup.dbpath), { input: input() });
      expect(result.exitCode, result.stdout.slice(-1500)).to.equal(6);
      const fatal = parseLogLines(result.stdout).find((line) => line.s === 'F');
      expect(fatal, 'a fatal log line').to.not.equal(undefined);
      expect(fatal!.attr).to.include({ code });
      expect(digestFiles(backup.dbpath)).to.deep.equal(initialFiles);
    });
  }

  it('still restores from the same files after all those refusals', async () => {
    const result = await runShim(restoreArgs(backup.dbpath), { input: restoreStream(valid(), backup.entries) });
    expect(result.exitCode, result.stdout.slice(-1500)).to.equal(0);
  });
});
