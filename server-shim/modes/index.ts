/**
 * Start-up modes that run instead of serving clients: `--magicRestore` and `--repair`. Each is
 * one function taking a `StartupModeContext` and returning the exit code.
 */
import type { ServerOptions } from '../options/index.js';
import type { StartupMode } from './context.js';
import { runMagicRestore } from './magic_restore.js';
import { runRepair, runRepairDryRun } from './repair.js';

export type { StartupMode, StartupModeContext } from './context.js';
export { runMagicRestore, runRepair, runRepairDryRun };
export { readRestoreInput, type RestoreInput } from './magic_restore.js';

/** The mode the options ask for, if any. */
export function startupModeFor(options: ServerOptions): { name: string; run: StartupMode } | undefined {
  if (options.magicRestore) return { name: 'magicRestore', run: runMagicRestore };
  if (options.repair) return { name: 'repair', run: runRepair };
  return undefined;
}
