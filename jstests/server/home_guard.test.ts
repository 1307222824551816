import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseLogLines, runReadPath, runShim, shimsPerTest, type LogLine, type ToolResult } from '../libs/index.js';
import { startIdleProcess } from '../../engine/testing/processes.js';

/** Starts a server on `dbpath` that must fail at start-up; its fatal log line. */
async function failedStart(dbpath: string, storage: 'local' | 'disagg' = 'disagg'): Promise<{ result: ToolResult; fatal: LogLine | undefined }> {
  const result = await runShim(['--dbpath', dbpath, '--port', '0', '--storage', storage], { timeoutMs: 30_000 });
  expect(result.signal, `the server died by a signal: ${result.stdout.slice(-2000)}${result.stderr}`).to.equal(undefined);
  expect(result.stdout + result.stderr, 'no stack trace').not.to.match(/\n\s+at .*\.js:\d+/);
  return { result, fatal: parseLogLines(result.stdout).find((line) => line.s === 'F') };
}

describe('mongod-shim and wt-readpath: a damaged page-log store', function () {
  const shims = shimsPerTest();

  /** A stopped disaggregated server whose dbpath holds a few documents. */
  async function stoppedHome(): Promise<string> {
    const shim = await shims.launch({ storage: 'disagg' });
    await (await shim.client()).db('app').collection('c').insertMany([{ _id: 1 }, { _id: 2 }, { _id: 3 }] as never[]);
    await shim.stop();
    return shim.dbpath;
  }

  it('exits 6 with a fatal line naming data.mdb and both sizes on a truncated store; wt-readpath verify exits 2', async () => {
    const dbpath = await stoppedHome();
    const dataFile = join(dbpath, 'pagelog', 'data.mdb');
    const size = statSync(dataFile).size;
    truncateSync(dataFile, Math.floor(size / 2));
    const { result, fatal } = await failedStart(dbpath);
    expect(result.exitCode, result.stdout.slice(-2000)).to.equal(6);
    expect(fatal?.msg).to.match(/Failed to open the storage engine/).and.include('data.mdb');
    expect(fatal?.attr).to.include({ engineErrorCode: 'FORMAT_TRUNCATED', errorClass: 'corruption' });
    expect((fatal?.attr as { location: Record<string, unknown> }).location).to.include({ file: dataFile, actual: Math.floor(size / 2) });
    const verify = await runReadPath(['verify', dbpath]);
    expect(verify.exitCode, verify.stdout + verify.stderr).to.equal(2);
    expect(verify.stdout).to.include('PAGE_LOG_UNREADABLE').and.include(`${Math.floor(size / 2)} bytes`);
  });

  it('exits 6 on a garbage store and on a store cut below its meta pages, never by a signal', async () => {
    const dbpath = await stoppedHome();
    const dataFile = join(dbpath, 'pagelog', 'data.mdb');
    const size = statSync(dataFile).size;
    writeFileSync(dataFile, Buffer.alloc(size, 0xc3));
    let { result, fatal } = await failedStart(dbpath);
    expect(result.exitCode).to.equal(6);
    expect(fatal?.attr).to.include({ engineErrorCode: 'CORRUPTION', errorClass: 'corruption' });
    truncateSync(dataFile, 100);
    ({ result, fatal } = await failedStart(dbpath));
    expect(result.exitCode).to.equal(6);
    expect(fatal?.attr).to.include({ engineErrorCode: 'FORMAT_TRUNCATED' });
    expect((await runReadPath(['verify', dbpath])).exitCode).to.equal(2);
  });

  it('refuses a disaggregated dbpath whose pagelog/ is gone (exit 6), and wt-readpath verify agrees (exit 2)', async () => {
    const dbpath = await stoppedHome();
    rmSync(join(dbpath, 'pagelog'), { recursive: true });
    const { result, fatal } = await failedStart(dbpath);
    expect(result.exitCode).to.equal(6);
    expect(fatal?.msg).to.match(/Failed to open the storage engine/);
    const verify = await runReadPath(['verify', dbpath]);
    expect(verify.exitCode, verify.stdout + verify.stderr).to.equal(2);
    expect(verify.stdout).to.include('PAGE_LOG_MISSING');
  });
});

describe('mongod-shim: the dbpath lock names the exact process', function () {
  const shims = shimsPerTest();
  let sleeper: ChildProcess | undefined;
  afterEach(() => {
    sleeper?.kill('SIGKILL');
    sleeper = undefined;
  });

  function lockText(dbpath: string): string {
    return readFileSync(join(dbpath, 'mongod.lock'), 'utf8');
  }

  it('restarts after kill -9, logging that it replaced the stale lock', async () => {
    const shim = await shims.launch();
    const before = lockText(shim.dbpath);
    expect((await shim.kill()).signal).to.equal('SIGKILL');
    expect(lockText(shim.dbpath), 'a crash leaves the lock').to.equal(before);
    await shim.start();
    const takeover = shim.logLines().find((line) => line.msg.startsWith('Replaced a stale lock file'));
    expect(takeover?.attr?.previous).to.deep.equal(before.trim().split('\n'));
    expect(Number.parseInt(lockText(shim.dbpath), 10)).not.to.equal(Number.parseInt(before, 10));
    await shim.stop();
  });

  it('starts when mongod.lock names a live process that is not a server: `echo 1`, or a PID reused after a kill -9', async () => {
    const shim = await shims.launch();
    await shim.kill();
    writeFileSync(join(shim.dbpath, 'mongod.lock'), '1\n');
    await shim.start();
    const held = lockText(shim.dbpath);
    await shim.kill();
    // Another process now has the killed server's PID number: same lock text, another PID's start time.
    sleeper = await startIdleProcess();
    writeFileSync(join(shim.dbpath, 'mongod.lock'), held.replace(/^\d+/, String(sleeper.pid)));
    await shim.start();
    expect(shim.state).to.equal('running');
    // wt-readpath agrees: the lock of the running server holds the home.
    expect((await runReadPath(['verify', shim.dbpath])).exitCode).to.equal(1);
    await shim.stop();
  });

  it('refuses a second live server on the same dbpath (exit 6, DBPathInUse) and lets exactly one of two servers starting together over a stale lock run', async () => {
    const first = await shims.launch();
    const second = await runShim(['--dbpath', first.dbpath, '--port', '0'], { timeoutMs: 30_000 });
    expect(second.exitCode).to.equal(6);
    expect(parseLogLines(second.stdout).find((line) => line.s === 'F')?.attr).to.include({ codeName: 'DBPathInUse' });
    expect(await (await first.client()).db('admin').command({ ping: 1 })).to.deep.include({ ok: 1 });
    await first.kill();

    const racers = [shims.create({ dbpath: first.dbpath }), shims.create({ dbpath: first.dbpath })];
    const outcomes = await Promise.allSettled(racers.map((racer) => racer.start()));
    const running = racers.filter((racer) => racer.state === 'running');
    expect(running, outcomes.map((o) => (o.status === 'rejected' ? String(o.reason) : 'ran')).join('\n')).to.have.length(1);
    const loser = racers.find((racer) => racer.state !== 'running')!;
    expect(loser.exit?.exitCode).to.equal(6);
    expect(loser.logLines().find((line) => line.s === 'F')?.attr).to.include({ codeName: 'DBPathInUse' });
    await running[0]!.stop();
  });
});
