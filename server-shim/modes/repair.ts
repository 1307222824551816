import { ExitCode, FatalError } from '../lifecycle/index.js';
import type { StartupModeContext } from './context.js';

/**
 * `--repair`: runs the metadata repair worker on the dbpath and exits (DESIGN.md 3.6). Not
 * implemented yet: fails cleanly, changing nothing.
 */
export async function runRepair(context: StartupModeContext): Promise<number> {
  void context;
  throw new FatalError('--repair is not yet supported by this server', ExitCode.Fatal, { option: '--repair' });
}
