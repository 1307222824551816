import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, FatalError } from './exit_codes.js';

/** The lock file a running server keeps in its dbpath, holding its PID (as mongod does). */
export const lockFileName = 'mongod.lock';

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

/** A held lock; `release` removes the file (at clean exit). */
export interface DbpathLock {
  readonly path: string;
  release(): void;
}

/**
 * Takes the dbpath's `mongod.lock`: creates it holding this PID, or takes over a stale one
 * whose PID no longer runs (a killed server). Throws FatalError (DBPathInUse, exit 6) when the
 * PID in the file is alive.
 */
export function acquireDbpathLock(dbpath: string): DbpathLock {
  const path = join(dbpath, lockFileName);
  for (let attempt = 0; attempt < 5; attempt += 1) {
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new FatalError(`Unable to create the lock file ${path}: ${(error as Error).message}`, ExitCode.Fatal, { file: path });
      }
      const holder = Number.parseInt(readLock(path), 10);
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && processIsAlive(holder)) {
        throw new FatalError(`Unable to lock the lock file: ${path}. Another mongod-shim instance (pid ${holder}) is already running on the dbpath`, ExitCode.Fatal, {
          code: 98,
          codeName: 'DBPathInUse',
          file: path,
          pid: holder,
        });
      }
      // Stale (its process is gone) or empty: remove it and try to create ours again. If another
      // starting server wins that race, the next attempt sees its live PID.
      try {
        unlinkSync(path);
      } catch (unlinkError) {
        if ((unlinkError as NodeJS.ErrnoException).code !== 'ENOENT') throw unlinkError;
      }
      continue;
    }
    try {
      writeSync(fd, `${process.pid}\n`);
    } finally {
      closeSync(fd);
    }
    return {
      path,
      release: () => {
        try {
          if (readLock(path).trim() === String(process.pid)) unlinkSync(path);
        } catch {
          // Already gone.
        }
      },
    };
  }
  throw new FatalError(`Unable to lock the lock file ${path}: it keeps changing under us`, ExitCode.Fatal, { file: path });
}

function readLock(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
