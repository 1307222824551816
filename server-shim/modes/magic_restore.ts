import { ExitCode, FatalError } from '../lifecycle/index.js';
import type { StartupModeContext } from './context.js';

/**
 * `--magicRestore`: reads the restore configuration and oplog entries from stdin and restores
 * to a point in time (DESIGN.md 4.1). Not implemented yet: fails cleanly, changing nothing.
 */
export async function runMagicRestore(context: StartupModeContext): Promise<number> {
  void context;
  throw new FatalError('--magicRestore is not yet supported by this server', ExitCode.Fatal, { option: '--magicRestore' });
}
