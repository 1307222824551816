import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireDbpathLock, FatalError } from './index.js';

describe('lifecycle: dbpath lock file', () => {
  let dbpath: string;
  beforeEach(() => {
    dbpath = mkdtempSync(join(tmpdir(), 'lock-test-'));
  });
  afterEach(() => rmSync(dbpath, { recursive: true, force: true }));

  it('writes this PID and removes the file on release', () => {
    const lock = acquireDbpathLock(dbpath);
    expect(readFileSync(lock.path, 'utf8').trim()).to.equal(String(process.pid));
    lock.release();
    expect(existsSync(lock.path)).to.equal(false);
  });

  it('refuses a lock held by a live process with DBPathInUse and exit code 6', () => {
    // PID 1 is always alive.
    writeFileSync(join(dbpath, 'mongod.lock'), '1\n');
    let thrown: unknown;
    try {
      acquireDbpathLock(dbpath);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).to.be.instanceOf(FatalError);
    expect((thrown as FatalError).exitCode).to.equal(6);
    expect((thrown as FatalError).attributes).to.include({ codeName: 'DBPathInUse', pid: 1 });
  });

  it('takes over a stale lock whose process is gone, and an empty one', () => {
    writeFileSync(join(dbpath, 'mongod.lock'), '2147483646\n');
    acquireDbpathLock(dbpath).release();
    writeFileSync(join(dbpath, 'mongod.lock'), '');
    const lock = acquireDbpathLock(dbpath);
    expect(readFileSync(lock.path, 'utf8').trim()).to.equal(String(process.pid));
    lock.release();
  });
});
