import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { liveLockHolder, lockFileName, lockHolderRuns, parseLockFile, type ProcessIdentity } from './lock_file.js';

/**
 * Running the server in the background, as mongod's `--fork` and `--shutdown` do, so that a
 * shell script can start a server, use it, and stop it without watching its log.
 *
 * `--fork`: the process starts the same command line without `--fork` as a detached child (its
 * own session, no terminal, logging to `--logpath`) and waits until the child is listening; it
 * then prints the child's PID and exits 0. A child that exits before it is ready makes the
 * parent exit with the child's exit code, so a script sees exactly why the start failed.
 *
 * `--shutdown`: reads `mongod.lock` in the dbpath, sends SIGTERM to the server it names (the
 * same clean shutdown as the `shutdown` command: a last checkpoint, then exit) and waits until
 * that process has ended: exit 0 when it removed its lock (a clean shutdown), 1 when it left
 * the lock behind (its final checkpoint failed).
 */

/** Set in the child's environment: where `notifyParentReady` reports to. */
const FORKED_CHILD_ENVIRONMENT = 'MONGOD_SHIM_FORKED_CHILD';

/** How long `--shutdown` waits for the server to end before it gives up. */
const SHUTDOWN_WAIT_MS = 120_000;
const SHUTDOWN_POLL_MS = 50;

/** What a background operation prints and the exit code it ends with. */
export interface BackgroundOutcome {
  exitCode: number;
  stdout: string;
}

/** Starts `scriptPath argv` (argv without `--fork`) detached and waits until it is ready. */
export async function startInBackground(scriptPath: string, argv: string[]): Promise<BackgroundOutcome> {
  // Loaded here, not at start-up: only `--fork` starts a process.
  const { spawn } = await import('node:child_process');
  const childArgv = argv.filter((argument) => argument !== '--fork');
  const child = spawn(process.execPath, [...process.execArgv, scriptPath, ...childArgv], {
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    env: { ...process.env, [FORKED_CHILD_ENVIRONMENT]: '1' },
  });
  let stdout = 'about to fork child process, waiting until server is ready for connections.\n';
  stdout += `forked process: ${child.pid}\n`;
  const outcome = await new Promise<{ ready: true } | { ready: false; code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('message', () => resolve({ ready: true }));
    child.once('exit', (code, signal) => resolve({ ready: false, code, signal }));
    child.once('error', () => resolve({ ready: false, code: null, signal: null }));
  });
  if (!outcome.ready) {
    const exitCode = outcome.code ?? 1;
    stdout += `ERROR: child process failed, exited with ${outcome.code ?? outcome.signal ?? 'an error'}\n`;
    stdout += 'To see additional information in this output, start without the "--fork" option.\n';
    return { exitCode, stdout };
  }
  child.disconnect();
  child.unref();
  stdout += 'child process started successfully, parent exiting\n';
  return { exitCode: 0, stdout };
}

/**
 * The symbol under which the launcher (`main.cts`) takes the server's report that it is ready:
 * it then writes the code caches it has none for, holding exactly the start-up's compiled
 * code. Written later, after a busy while, a cache misses the start-up code whose bytecode V8
 * has dropped meanwhile, and every later start compiles it again.
 */
export const STARTED_HOOK = Symbol.for('disagg-lab.started');

/** Tells the launcher, when there is one, that the server is ready (see `STARTED_HOOK`). */
export function notifyLauncherReady(): void {
  const hook = (globalThis as Record<symbol, unknown>)[STARTED_HOOK] as (() => void) | undefined;
  hook?.();
}

/** In a child started by `startInBackground`: tells the parent the server accepts connections. */
export function notifyParentReady(): void {
  // The parent may be gone already (killed, or ^C in its terminal): the server runs on.
  if (process.env[FORKED_CHILD_ENVIRONMENT] === undefined || process.send === undefined || !process.connected) return;
  process.send({ ready: true }, () => {
    if (process.connected) process.disconnect();
  });
}

/**
 * True when the process has ended but nobody has reaped it yet: a server started with `--fork`
 * is adopted by whatever reaps orphans, which in a container may never do it.
 */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

/** True when `mongod.lock` in `dbpath` still names `holder`. */
function lockStillNames(dbpath: string, holder: ProcessIdentity): boolean {
  let text: string;
  try {
    text = readFileSync(join(dbpath, lockFileName), 'utf8');
  } catch {
    return false;
  }
  const named = parseLockFile(text);
  return named !== undefined && named.pid === holder.pid && named.startTime === holder.startTime;
}

/** Stops the server that holds `dbpath` and waits until it has ended. */
export async function shutDownServerAt(dbpath: string): Promise<BackgroundOutcome> {
  const holder = liveLockHolder(dbpath);
  if (holder === undefined) {
    return { exitCode: 1, stdout: `There doesn't seem to be a server running with dbpath: ${dbpath}\n` };
  }
  let stdout = `killing process with pid: ${holder.pid}\n`;
  try {
    process.kill(holder.pid, 'SIGTERM');
  } catch (error) {
    stdout += `Failed to kill process: ${(error as Error).message}\n`;
    return { exitCode: 1, stdout };
  }
  for (let waited = 0; waited < SHUTDOWN_WAIT_MS; waited += SHUTDOWN_POLL_MS) {
    if (!lockHolderRuns(holder) || isZombie(holder.pid)) {
      // A clean shutdown removes the lock; one whose final checkpoint failed leaves it.
      if (!lockStillNames(dbpath, holder)) return { exitCode: 0, stdout };
      stdout += `the server (pid ${holder.pid}) ended without a clean shutdown: its final checkpoint failed, and what was written since the last checkpoint is lost (its log says why)\n`;
      return { exitCode: 1, stdout };
    }
    await new Promise((resolve) => setTimeout(resolve, SHUTDOWN_POLL_MS));
  }
  stdout += `the server (pid ${holder.pid}) is still running ${SHUTDOWN_WAIT_MS / 1000} s after SIGTERM\n`;
  return { exitCode: 1, stdout };
}
