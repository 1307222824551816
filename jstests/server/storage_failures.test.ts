import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MongoClient } from 'mongodb';
import { shimsPerTest, type LogLine, type ShimProcess } from '../libs/index.js';

/**
 * Storage that vanishes, is replaced or fills while the server runs: the failing checkpoint
 * replies with an error, serverStatus and the log say why, the server stays up serving reads,
 * and nothing the server acknowledged as durable is lost. The disk-full cases run on a real
 * tmpfs the test mounts and unmounts itself (this needs root: without it they fail, naming the
 * reason, and are never skipped).
 */

interface CommandFailure {
  code?: number;
  codeName?: string;
  errmsg?: string;
  engineError?: { code?: string };
}

async function commandFailure(work: () => Promise<unknown>): Promise<CommandFailure> {
  try {
    await work();
  } catch (error) {
    const failure = error as CommandFailure & { errorResponse?: CommandFailure };
    return { ...failure, ...(failure.errorResponse ?? {}) };
  }
  return expect.fail('expected the command to fail');
}

async function rejection(work: () => Promise<unknown>): Promise<string> {
  try {
    await work();
  } catch (error) {
    return (error as Error).message;
  }
  return expect.fail('expected a rejection');
}

function linesWith(shim: ShimProcess, msg: string): LogLine[] {
  return shim.logLines().filter((line) => line.msg === msg);
}

async function count(client: MongoClient): Promise<number> {
  return client.db('app').collection('c').countDocuments({});
}

async function insertRound(client: MongoClient, first: number, size = 20_000, docs = 50): Promise<void> {
  await client.db('app').collection<{ _id: number; pad: string }>('c').insertMany(Array.from({ length: docs }, (_, i) => ({ _id: first + i, pad: 'x'.repeat(size) })));
}

/** A tmpfs of `megabytes` mounted by the test; `unmount` lazily detaches it and removes the mount point. */
function mountTmpfs(megabytes: number): { path: string; unmount: () => void } {
  const path = mkdtempSync(join(tmpdir(), 'jstest-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${megabytes}m`, 'tmpfs', path], { stdio: 'pipe' });
  } catch (error) {
    rmSync(path, { recursive: true, force: true });
    throw new Error(`this test mounts a ${megabytes} MB tmpfs and needs root for it: mount -t tmpfs failed: ${(error as Error).message}`);
  }
  return {
    path,
    unmount: () => {
      execFileSync('umount', ['-l', path], { stdio: 'pipe' });
      rmSync(path, { recursive: true, force: true });
    },
  };
}

/** Inserts rounds of documents with an fsync after each until one fsync fails; returns what happened. */
async function fillUntilCheckpointFails(client: MongoClient): Promise<{ failure: CommandFailure; durable: number; inserted: number }> {
  let durable = await count(client);
  let inserted = durable;
  for (let round = 0; round < 60; round++) {
    try {
      await insertRound(client, inserted);
      inserted += 50;
    } catch (error) {
      return expect.fail(`an insert failed before any checkpoint did: ${(error as Error).message}`);
    }
    try {
      await client.db('admin').command({ fsync: 1 });
      durable = inserted;
    } catch (error) {
      const failure = error as CommandFailure & { errorResponse?: CommandFailure };
      return { failure: { ...failure, ...(failure.errorResponse ?? {}) }, durable, inserted };
    }
  }
  return expect.fail('the file system never filled up');
}

describe('mongod-shim: storage that vanishes, is replaced or fills while running', function () {
  this.timeout(180_000);
  const shims = shimsPerTest();

  it('fails a test whose server logs an unhandled promise rejection (the harness check)', async () => {
    const shim = await shims.launch({ setParameters: { enableTestCommands: 1 } });
    const client = await shim.client();
    await client.db('admin').command({ injectFault: 'unhandledRejection' }).catch(() => undefined);
    const exit = await shim.waitForExit();
    expect(exit.exitCode).to.equal(100);
    const reported = shim.takeUncaughtErrors();
    expect(reported).to.have.length(1);
    expect(reported[0]).to.contain('Unhandled promise rejection').and.to.contain('injected unhandled rejection');
  });

  it('refuses to checkpoint into a page log deleted while running: fsync fails, serverStatus and the log say why, writes are refused, reads go on, shutdown exits 6, and the restart refuses the home', async () => {
    const shim = await shims.launch({ storage: 'disagg', replSet: 'rs0' });
    const client = await shim.client();
    await insertRound(client, 0, 100);
    await client.db('admin').command({ fsync: 1 });
    rmSync(join(shim.dbpath, 'pagelog'), { recursive: true });

    const failure = await commandFailure(() => client.db('admin').command({ fsync: 1 }));
    expect(failure.code).to.equal(96);
    expect(failure.engineError?.code).to.equal('STORAGE_REPLACED');
    expect(failure.errmsg).to.contain('pagelog').and.to.contain('no longer exists');
    const status = await client.db('admin').command({ serverStatus: 1 });
    expect(status.disagg.storageFailure.code).to.equal('STORAGE_REPLACED');
    expect(status.disagg.storageFailure.message).to.contain('pagelog');
    expect(linesWith(shim, 'Storage failed: writes are refused until the server restarts')).to.have.length(1);
    expect(linesWith(shim, 'Checkpoint failed')[0]!.attr!.engineErrorCode).to.equal('STORAGE_REPLACED');

    const refused = await commandFailure(() => client.db('app').collection('c').insertOne({ _id: 'after' as never }));
    expect(refused.errmsg).to.contain('writes are refused until the server restarts');
    expect(await count(client), 'reads are still served').to.equal(50);

    expect(await rejection(() => shim.stop())).to.match(/exit code 6/);
    const fatal = shim.logLines().find((line) => line.s === 'F')!;
    expect(fatal.msg).to.contain('the final checkpoint failed').and.to.contain('pagelog');
    expect(await rejection(() => shim.start())).to.match(/exited during start-up with code 6/);
    expect(shim.logLines().find((line) => line.s === 'F')!.msg).to.contain('pagelog');
  });

  it('refuses to checkpoint into a home directory replaced while running (local): the new directory gets nothing, the moved one keeps the data', async () => {
    const shim = await shims.launch({ storage: 'local', replSet: 'rs0' });
    const client = await shim.client();
    await insertRound(client, 0, 100);
    await client.db('admin').command({ fsync: 1 });
    const moved = `${shim.dbpath}.moved`;
    renameSync(shim.dbpath, moved);
    mkdirSync(shim.dbpath);

    const failure = await commandFailure(() => client.db('admin').command({ fsync: 1 }));
    expect(failure.engineError?.code).to.equal('STORAGE_REPLACED');
    expect(failure.errmsg).to.contain('device and inode changed');
    expect((await client.db('admin').command({ serverStatus: 1 })).disagg.storageFailure.code).to.equal('STORAGE_REPLACED');
    expect(await rejection(() => shim.stop())).to.match(/exit code 6/);

    // The empty directory stayed empty (no new database beside nothing); the data moved with the home.
    expect(execFileSync('ls', ['-A', shim.dbpath]).toString().trim().split('\n').filter((name) => name !== '' && name !== 'mongod.lock')).to.deep.equal([]);
    rmSync(shim.dbpath, { recursive: true });
    renameSync(moved, shim.dbpath);
    await shim.start();
    expect(await count(await shim.client())).to.equal(50);
  });

  it('on a full disk (a real 30 MB tmpfs, local): fsync replies OutOfDiskSpace 14031, reads and writes go on, and once space is freed the next checkpoint succeeds', async () => {
    const tmpfs = mountTmpfs(30);
    const dbpath = join(tmpfs.path, 'db');
    mkdirSync(dbpath);
    const shim = shims.create({ storage: 'local', replSet: 'rs0', dbpath });
    try {
      await shim.start();
      const client = await shim.client();
      writeFileSync(join(tmpfs.path, 'filler'), Buffer.alloc(18 * 1024 * 1024, 1));
      const { failure, durable, inserted } = await fillUntilCheckpointFails(client);
      expect(failure.code).to.equal(14031);
      expect(failure.codeName).to.equal('OutOfDiskSpace');
      expect(failure.engineError?.code).to.equal('NO_SPACE');
      expect(durable).to.be.above(0);
      const status = await client.db('admin').command({ serverStatus: 1 });
      expect(status.disagg.lastCheckpointFailure.code).to.equal('NO_SPACE');
      expect(status.disagg.storageFailure, 'a full disk alone does not stop writes in local mode').to.equal(null);
      expect(linesWith(shim, 'Checkpoint failed').at(-1)!.attr!.engineErrorCode).to.equal('NO_SPACE');
      expect(await count(client), 'reads are served').to.equal(inserted);

      rmSync(join(tmpfs.path, 'filler'));
      await client.db('app').collection('c').insertOne({ _id: -1 as never, after: 'space was freed' });
      await client.db('admin').command({ fsync: 1 });
      expect((await client.db('admin').command({ serverStatus: 1 })).disagg.lastCheckpointFailure).to.equal(null);
      await shim.kill();
      await shim.start();
      expect(await count(await shim.client()), 'the checkpoint after the freed space holds everything').to.equal(inserted + 1);
      await shim.stop();
    } finally {
      if (shim.state === 'running' || shim.state === 'starting') await shim.kill();
      tmpfs.unmount();
    }
  });

  it('on a full disk (a real 30 MB tmpfs, disaggregated): fsync replies 14031, reads go on, writes are refused until a restart, and the restart holds the last durable checkpoint', async () => {
    const tmpfs = mountTmpfs(30);
    const dbpath = join(tmpfs.path, 'db');
    mkdirSync(dbpath);
    const shim = shims.create({ storage: 'disagg', replSet: 'rs0', dbpath });
    try {
      await shim.start();
      const client = await shim.client();
      writeFileSync(join(tmpfs.path, 'filler'), Buffer.alloc(18 * 1024 * 1024, 1));
      const { failure, durable, inserted } = await fillUntilCheckpointFails(client);
      expect(failure.code).to.equal(14031);
      expect(failure.engineError?.code).to.equal('NO_SPACE');
      expect(await count(client), 'reads are served').to.equal(inserted);
      const status = await client.db('admin').command({ serverStatus: 1 });
      expect(status.disagg.storageFailure.code).to.equal('NO_SPACE');
      const refused = await commandFailure(() => client.db('app').collection('c').insertOne({ _id: -1 as never }));
      expect(refused.code).to.equal(14031);
      expect(shim.state, 'the server stayed up').to.equal('running');

      expect(await rejection(() => shim.stop())).to.match(/exit code 6/);
      rmSync(join(tmpfs.path, 'filler'));
      await shim.start();
      const restarted = await shim.client();
      expect(await count(restarted), 'the last durable checkpoint').to.equal(durable);
      await restarted.db('app').collection('c').insertOne({ _id: -1 as never, after: 'restart' });
      await restarted.db('admin').command({ fsync: 1 });
      await shim.stop();
    } finally {
      if (shim.state === 'running' || shim.state === 'starting') await shim.kill();
      tmpfs.unmount();
    }
  });
});
