import { closeSync, linkSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ExitCode, FatalError } from './exit_codes.js';

/**
 * The dbpath lock: `mongod.lock` names the server that holds the dbpath, and says exactly which
 * process that is, so that a PID reused by another process after a crash never looks like a
 * server.
 *
 * The file holds the PID on its first line (as mongod's does), then `start_time=` (field 22 of
 * `/proc/PID/stat`: the process's start, in clock ticks since boot) and `boot_id=` (the
 * kernel's boot id). The lock is held only while a process with that PID, that start time and
 * that boot runs: a PID alone (`echo 1 > mongod.lock`), a process started since, or a reboot
 * all make the lock stale. Where `/proc` does not exist the PID alone decides.
 *
 * The file is created whole and at once (written aside, then hard-linked into place, which
 * fails if a lock exists), so a reader never sees it half written. A stale lock is replaced
 * only by the process that holds `mongod.lock.takeover` (created the same way), after it reads
 * the lock again and finds it unchanged, so two servers starting together over a stale lock
 * cannot both take it.
 */

/** The lock file a running server keeps in its dbpath. */
export const lockFileName = 'mongod.lock';
/** Held for the instant a starting server replaces a stale lock. */
const takeoverFileName = `${lockFileName}.takeover`;
/** How often acquiring re-reads a lock that changes under it before giving up. */
const MAX_ATTEMPTS = 100;
const RETRY_DELAY_MS = 20;

/** Which process holds a lock: its PID and, where the system tells, its start and boot. */
export interface ProcessIdentity {
  pid: number;
  /** Field 22 of `/proc/PID/stat`. */
  startTime?: string;
  /** `/proc/sys/kernel/random/boot_id`. */
  bootId?: string;
}

/** True when a process with this PID exists (signal 0 probes without signalling). */
export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The kernel's boot id, or undefined where `/proc` does not give it. */
export function currentBootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The start time of process `pid` (field 22 of `/proc/PID/stat`); `null` when no such process
 * runs; undefined when the system does not tell (no `/proc`, or the entry is hidden).
 */
export function processStartTime(pid: number): string | null | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' && currentBootId() !== undefined ? null : undefined;
  }
  // Field 2 is the command in parentheses and may hold spaces or parentheses: count after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[22 - 3];
}

/** The identity of this process. */
export function currentProcessIdentity(): ProcessIdentity {
  const identity: ProcessIdentity = { pid: process.pid };
  const startTime = processStartTime(process.pid);
  const bootId = currentBootId();
  if (typeof startTime === 'string') identity.startTime = startTime;
  if (bootId !== undefined) identity.bootId = bootId;
  return identity;
}

/** The text of a lock file naming `identity`. */
export function formatLockFile(identity: ProcessIdentity): string {
  let text = `${identity.pid}\n`;
  if (identity.startTime !== undefined) text += `start_time=${identity.startTime}\n`;
  if (identity.bootId !== undefined) text += `boot_id=${identity.bootId}\n`;
  return text;
}

/** The identity a lock file's text names; undefined when its first line is not a PID. */
export function parseLockFile(text: string): ProcessIdentity | undefined {
  const [first, ...rest] = text.split('\n');
  if (first === undefined || !/^\s*\d+\s*$/.test(first)) return undefined;
  const identity: ProcessIdentity = { pid: Number(first.trim()) };
  for (const line of rest) {
    const equals = line.indexOf('=');
    if (equals < 0) continue;
    const [key, value] = [line.slice(0, equals).trim(), line.slice(equals + 1).trim()];
    if (key === 'start_time') identity.startTime = value;
    if (key === 'boot_id') identity.bootId = value;
  }
  return identity;
}

/**
 * True while the process a lock names still runs: the same PID, started at the same time, in
 * the same boot. On a system with `/proc`, a lock that does not say when its process started
 * proves nothing and is stale.
 */
export function lockHolderRuns(holder: ProcessIdentity): boolean {
  if (!Number.isSafeInteger(holder.pid) || holder.pid <= 0) return false;
  const bootId = currentBootId();
  if (bootId === undefined) return processIsAlive(holder.pid);
  if (holder.startTime === undefined || holder.bootId === undefined || holder.bootId !== bootId) return false;
  const startTime = processStartTime(holder.pid);
  // Hidden from us (a /proc mounted with hidepid): the PID is all there is to go by.
  if (startTime === undefined) return processIsAlive(holder.pid);
  return startTime === holder.startTime;
}

/**
 * The live server holding `dbpath`, as its `mongod.lock` names it; undefined when the lock is
 * missing, empty, unreadable or stale.
 */
export function liveLockHolder(dbpath: string): ProcessIdentity | undefined {
  const holder = parseLockFile(readLock(join(dbpath, lockFileName)) ?? '');
  if (holder === undefined || holder.pid === process.pid) return undefined;
  return lockHolderRuns(holder) ? holder : undefined;
}

/** A held lock; `release` removes the file (at clean exit). */
export interface DbpathLock {
  readonly path: string;
  /** The stale lock this one replaced: the text it held (for the log); undefined when there was none. */
  readonly replaced?: string;
  release(): void;
}

/**
 * Takes the dbpath's `mongod.lock`: creates it naming this process, or replaces a stale one
 * (its process is gone, or it names no process exactly). Throws FatalError (DBPathInUse, exit
 * 6) when the process it names runs.
 */
export function acquireDbpathLock(dbpath: string): DbpathLock {
  const path = join(dbpath, lockFileName);
  const content = formatLockFile(currentProcessIdentity());
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
    if (createWhole(path, content)) return heldLock(path, content, undefined);
    const existing = readExistingLock(path);
    // Removed since the create failed: try again.
    if (existing === undefined) continue;
    const holder = parseLockFile(existing);
    if (holder !== undefined && holder.pid !== process.pid && lockHolderRuns(holder)) {
      throw new FatalError(`Unable to lock the lock file: ${path}. Another mongod-shim instance (pid ${holder.pid}) is already running on the dbpath`, ExitCode.Fatal, {
        code: 98,
        codeName: 'DBPathInUse',
        file: path,
        pid: holder.pid,
      });
    }
    if (replaceStale(dbpath, existing, content)) return heldLock(path, content, existing);
    sleep(RETRY_DELAY_MS);
  }
  throw new FatalError(`Unable to lock the lock file ${path}: it keeps changing under us`, ExitCode.Fatal, { file: path });
}

function heldLock(path: string, content: string, replaced: string | undefined): DbpathLock {
  removeAbandonedAsideFiles(path);
  return {
    path,
    ...(replaced === undefined ? {} : { replaced }),
    release: () => {
      try {
        if (readLock(path) === content) unlinkSync(path);
      } catch {
        // Already gone.
      }
    },
  };
}

/**
 * Creates `path` holding `content`, whole, unless it exists: false then. The text is written
 * to a file of this process's own first and linked into place, so nobody reads it half written.
 */
function createWhole(path: string, content: string): boolean {
  const aside = writeAside(path, content);
  try {
    linkSync(aside, path);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS') return createExclusive(path, content);
    throw lockFileError(path, error);
  } finally {
    removeQuietly(aside);
  }
}

/** For file systems without hard links: an exclusive create, then the write. */
function createExclusive(path: string, content: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw lockFileError(path, error);
  }
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Replaces the stale lock whose text was `stale` with `content`, holding the takeover file
 * meanwhile. False when another process is taking over, or the lock changed since it was read.
 */
function replaceStale(dbpath: string, stale: string, content: string): boolean {
  const path = join(dbpath, lockFileName);
  const takeover = join(dbpath, takeoverFileName);
  if (!createWhole(takeover, content)) {
    // A process that died while taking over leaves the takeover file: clear it for the next attempt.
    const holder = parseLockFile(readLock(takeover) ?? '');
    if (holder === undefined || !lockHolderRuns(holder)) removeQuietly(takeover);
    return false;
  }
  try {
    if (readLock(path) !== stale) return false;
    const aside = writeAside(path, content);
    try {
      renameSync(aside, path);
    } catch (error) {
      removeQuietly(aside);
      throw lockFileError(path, error);
    }
    return true;
  } finally {
    removeQuietly(takeover);
  }
}

/** Lock texts written aside by processes killed before they linked or renamed them into place. */
function removeAbandonedAsideFiles(path: string): void {
  const directory = dirname(path);
  const pattern = new RegExp(`^${basename(path).replace(/\./g, '\\.')}(?:\\.takeover)?\\.(\\d+)\\.new$`);
  let names: string[];
  try {
    names = readdirSync(directory);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(pattern.exec(name)?.[1]);
    // Only the lock holder clears them, and never one whose writer may still be starting.
    if (Number.isSafeInteger(pid) && pid !== process.pid && !processIsAlive(pid)) removeQuietly(join(directory, name));
  }
}

function writeAside(path: string, content: string): string {
  const aside = `${path}.${process.pid}.new`;
  try {
    const fd = openSync(aside, 'w');
    try {
      writeSync(fd, content);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    throw lockFileError(path, error);
  }
  return aside;
}

function lockFileError(path: string, error: unknown): FatalError {
  return new FatalError(`Unable to create the lock file ${path}: ${(error as Error).message}`, ExitCode.Fatal, { file: path });
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone.
  }
}

/** The lock file's text; undefined when it does not exist. A lock that does not read is fatal. */
function readExistingLock(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new FatalError(`Unable to read the lock file ${path}: ${(error as Error).message}`, ExitCode.Fatal, { file: path });
  }
}

/** The lock file's text; undefined when it does not exist or does not read. */
function readLock(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
