import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { execa } from 'execa';
import {
  acquireDbpathLock, currentProcessIdentity, FatalError, formatLockFile, liveLockHolder, lockHolderRuns, parseLockFile, processStartTime,
} from './index.js';
import { startIdleProcess } from '../../engine/testing/processes.js';

function refusal(dbpath: string): FatalError {
  try {
    acquireDbpathLock(dbpath).release();
  } catch (error) {
    expect(error).to.be.instanceOf(FatalError);
    return error as FatalError;
  }
  throw new Error('expected the lock to be refused');
}

describe('lifecycle: dbpath lock file', () => {
  let dbpath: string;
  let sleeper: ChildProcess | undefined;
  beforeEach(() => {
    dbpath = mkdtempSync(join(tmpdir(), 'lock-test-'));
  });
  afterEach(() => {
    sleeper?.kill('SIGKILL');
    sleeper = undefined;
    rmSync(dbpath, { recursive: true, force: true });
  });

  it('writes this PID on the first line, with its start time and boot id, and removes the file on release', () => {
    const lock = acquireDbpathLock(dbpath);
    const text = readFileSync(lock.path, 'utf8');
    expect(Number.parseInt(text, 10)).to.equal(process.pid);
    expect(parseLockFile(text)).to.deep.equal(currentProcessIdentity());
    expect(currentProcessIdentity().startTime).to.match(/^\d+$/);
    expect(lock.replaced).to.equal(undefined);
    lock.release();
    expect(readdirSync(dbpath)).to.deep.equal([]);
  });

  it('refuses a lock naming a live process exactly, with DBPathInUse and exit code 6', async () => {
    sleeper = await startIdleProcess();
    const startTime = processStartTime(sleeper.pid!);
    expect(startTime).to.match(/^\d+$/);
    const identity = { pid: sleeper.pid!, startTime: startTime as string, bootId: currentProcessIdentity().bootId! };
    writeFileSync(join(dbpath, 'mongod.lock'), formatLockFile(identity));
    const error = refusal(dbpath);
    expect(error.exitCode).to.equal(6);
    expect(error.attributes).to.include({ codeName: 'DBPathInUse', pid: sleeper.pid });
    expect(liveLockHolder(dbpath)).to.deep.equal(identity);
    // The refused start leaves the holder's lock as it was.
    expect(readFileSync(join(dbpath, 'mongod.lock'), 'utf8')).to.equal(formatLockFile(identity));
  });

  it('takes over a lock whose PID is alive but is another process: a bare PID, another start time, another boot', async () => {
    sleeper = await startIdleProcess();
    const live = { pid: sleeper.pid!, startTime: processStartTime(sleeper.pid!) as string, bootId: currentProcessIdentity().bootId! };
    for (const text of [
      '1\n',
      `${live.pid}\n`,
      formatLockFile({ ...live, startTime: String(Number(live.startTime) + 1) }),
      formatLockFile({ ...live, bootId: '00000000-0000-0000-0000-000000000000' }),
    ]) {
      writeFileSync(join(dbpath, 'mongod.lock'), text);
      expect(lockHolderRuns(parseLockFile(text)!), text).to.equal(false);
      const lock = acquireDbpathLock(dbpath);
      expect(lock.replaced).to.equal(text);
      expect(parseLockFile(readFileSync(lock.path, 'utf8'))!.pid).to.equal(process.pid);
      lock.release();
      expect(existsSync(lock.path)).to.equal(false);
    }
  });

  it('takes over a stale lock whose process is gone, an empty one and garbage, leaving no other file', () => {
    for (const text of ['2147483646\n', '', 'garbage\n', formatLockFile({ pid: 2147483646, startTime: '5', bootId: currentProcessIdentity().bootId! })]) {
      writeFileSync(join(dbpath, 'mongod.lock'), text);
      const lock = acquireDbpathLock(dbpath);
      expect(lock.replaced).to.equal(text);
      expect(readdirSync(dbpath)).to.deep.equal(['mongod.lock']);
      lock.release();
    }
  });

  it('clears a takeover file left by a process that died while taking over', () => {
    writeFileSync(join(dbpath, 'mongod.lock'), '2147483646\n');
    writeFileSync(join(dbpath, 'mongod.lock.takeover'), '2147483645\n');
    const lock = acquireDbpathLock(dbpath);
    expect(readdirSync(dbpath)).to.deep.equal(['mongod.lock']);
    lock.release();
  });

  it('lets exactly one of eight processes racing over a stale lock take it', async () => {
    writeFileSync(join(dbpath, 'mongod.lock'), '2147483646\n');
    const here = fileURLToPath(import.meta.url);
    const module = pathToFileURL(join(dirname(here), `lock_file${extname(here)}`)).href;
    // Each racer waits for the same moment, tries once, and holds what it got for a while.
    const start = Date.now() + 1500;
    const script = `const { acquireDbpathLock } = await import(${JSON.stringify(module)});
      while (Date.now() < ${start}) {}
      try { const lock = acquireDbpathLock(${JSON.stringify(dbpath)}); console.log('held'); await new Promise((r) => setTimeout(r, 1500)); lock.release(); }
      catch (error) { console.log(error.attributes?.codeName ?? error.message); }`;
    const loader = extname(here) === '.ts' ? ['--import', 'tsx'] : [];
    const racers = Array.from({ length: 8 }, () => execa(process.execPath, [...loader, '--input-type=module', '-e', script], { reject: false }));
    const outcomes = (await Promise.all(racers)).map((result) => String(result.stdout).trim() || String(result.stderr));
    expect(outcomes.filter((outcome) => outcome === 'held'), outcomes.join('\n')).to.have.length(1);
    expect(outcomes.filter((outcome) => outcome === 'DBPathInUse'), outcomes.join('\n')).to.have.length(7);
    expect(readdirSync(dbpath)).to.deep.equal([]);
  });

  it('removes lock texts written aside by processes killed before they put them in place', () => {
    writeFileSync(join(dbpath, 'mongod.lock.2147483646.new'), '2147483646\n');
    writeFileSync(join(dbpath, 'mongod.lock.takeover.2147483645.new'), '2147483645\n');
    writeFileSync(join(dbpath, 'mongod.lock.1.new'), 'a live process may still be starting\n');
    const lock = acquireDbpathLock(dbpath);
    expect(readdirSync(dbpath).sort()).to.deep.equal(['mongod.lock', 'mongod.lock.1.new']);
    lock.release();
  });

  it('exits 6 naming the file when the lock does not read (a directory in its place)', () => {
    mkdirSync(join(dbpath, 'mongod.lock'));
    const error = refusal(dbpath);
    expect(error.exitCode).to.equal(6);
    expect(error.attributes).to.include({ file: join(dbpath, 'mongod.lock') });
  });

  it('reads the start time of a process whose command holds spaces and parentheses', async () => {
    const child = spawn(process.execPath, ['-e', 'process.title = "a (b) c"; setTimeout(() => {}, 120000)'], { stdio: 'ignore' });
    sleeper = child;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(processStartTime(child.pid!)).to.match(/^\d+$/);
    expect(processStartTime(2147483646)).to.equal(null);
  });
});
