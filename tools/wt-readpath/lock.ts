import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from './output.js';

/**
 * The server's lock: `mongod-shim` writes its PID to `HOME/mongod.lock` while it runs and
 * empties it on a clean shutdown. WiredTiger's own `WiredTiger.lock` is only a byte-range lock
 * target and says nothing about whether a process holds the home.
 */
export const SERVER_LOCK_FILE = 'mongod.lock';

/** The PID a live server holding `home` has written, or undefined when none does. */
export function liveServerPid(home: string): number | undefined {
  const path = join(home, SERVER_LOCK_FILE);
  if (!existsSync(path)) return undefined;
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
  if (!/^\d+$/.test(text)) return undefined;
  const pid = Number(text);
  if (pid <= 0 || pid === process.pid) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else; it still holds the home.
    return (error as NodeJS.ErrnoException).code === 'EPERM' ? pid : undefined;
  }
}

/** Throws `UsageError` when a running server holds `home`: its files are changing under us. */
export function refuseLiveHome(home: string): void {
  const pid = liveServerPid(home);
  if (pid !== undefined) {
    throw new UsageError(`${home} is in use by a running server (${SERVER_LOCK_FILE} names live process ${pid}); stop it first`);
  }
}
