/**
 * Start-up modes that run instead of serving clients: `--magicRestore` and `--repair`. Each is
 * one function taking a `StartupModeContext` and returning the exit code. A mode's module (and
 * what it needs: the restore stream, the query engine, the repair worker) is imported only when
 * the options ask for that mode, so serving clients loads none of it.
 */
import type { Logger } from '../log/index.js';
import type { ServerOptions } from '../options/index.js';
import type { StartupMode } from './context.js';
import type { RestoreInput } from './magic_restore.js';

export type { StartupMode, StartupModeContext } from './context.js';
export type { RestoreInput } from './magic_restore.js';

/** The mode the options ask for, if any, loaded. */
export async function loadStartupMode(options: ServerOptions): Promise<{ name: string; run: StartupMode } | undefined> {
  if (options.magicRestore) return { name: 'magicRestore', run: (await import('./magic_restore.js')).runMagicRestore };
  if (options.repair) return { name: 'repair', run: (await import('./repair.js')).runRepair };
  return undefined;
}

/**
 * `--magicRestore`: reads and checks the whole restore stream (see `magic_restore.ts`), loading
 * the restore code only then.
 */
export async function readRestoreInput(input: NodeJS.ReadableStream, replSet: string | undefined): Promise<RestoreInput> {
  return (await import('./magic_restore.js')).readRestoreInput(input, replSet);
}

/** `--repair --dryRun`: opens the engine read-only and logs what `--repair` would do (see `repair.ts`). */
export async function runRepairDryRun(options: ServerOptions, logger: Logger): Promise<number> {
  return (await import('./repair.js')).runRepairDryRun(options, logger);
}
