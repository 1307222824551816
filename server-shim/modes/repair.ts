import { repair, type EngineLogEvent } from '../../engine/index.js';
import { ExitCode, FatalError } from '../lifecycle/index.js';
import { LogComponent, LogId } from '../log/index.js';
import type { StartupModeContext } from './context.js';

/**
 * `--repair`: runs the engine's repair worker on the dbpath: detect, give the later-created
 * table of every id collision a fresh id through the PIT path, checkpoint, exit 0 (6 when it
 * fails, leaving the last checkpoint as it was). Findings and actions are logged under REPAIR.
 */
export async function runRepair(context: StartupModeContext): Promise<number> {
  const { logger } = context;
  const log = (event: EngineLogEvent): void => {
    const id = event.msg === 'Repair finding' ? LogId.RepairFinding : event.msg === 'Repair finished' ? LogId.RepairFinished : LogId.RepairAction;
    if (event.level === 'warn') logger.warning(LogComponent.Repair, id, event.msg, event.attr);
    else logger.info(LogComponent.Repair, id, event.msg, event.attr);
  };
  try {
    const run = await repair.repairAll(context.connection, log);
    logger.info(LogComponent.Repair, LogId.RepairFinished, 'Repair completed', {
      findings: run.findings.length, actions: run.actions, checkpointId: run.checkpoint?.id,
    });
    return ExitCode.Clean;
  } catch (error) {
    throw new FatalError(`repair failed: ${error instanceof Error ? error.message : String(error)}`, ExitCode.Fatal, { option: '--repair' });
  }
}
