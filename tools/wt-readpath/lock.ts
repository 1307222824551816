import { join } from 'node:path';
import { liveLockHolder, lockFileName } from '../../server-shim/lifecycle/lock_file.js';
import { UsageError } from './output.js';

/**
 * The server's lock: `mongod-shim` keeps `HOME/mongod.lock` while it runs, naming its PID, start
 * time and boot, and removes it on a clean shutdown. The server's own reading of that file
 * decides whether a server holds the home, so the tool and the server never disagree; a PID
 * alone, or one a different process now has, holds nothing. WiredTiger's own
 * `WiredTiger.lock` is only a byte-range lock target and says nothing about whether a process
 * holds the home.
 */
export const SERVER_LOCK_FILE = lockFileName;

/** The PID of the live server holding `home`, or undefined when none does. */
export function liveServerPid(home: string): number | undefined {
  return liveLockHolder(home)?.pid;
}

/** Throws `UsageError` when a running server holds `home`: its files are changing under us. */
export function refuseLiveHome(home: string): void {
  const pid = liveServerPid(home);
  if (pid !== undefined) {
    throw new UsageError(`${home} is in use by a running server (${join(home, SERVER_LOCK_FILE)} names live process ${pid}); stop it first`);
  }
}
