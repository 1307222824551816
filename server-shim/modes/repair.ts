import { openConnection, repair, type Connection, type EngineLogEvent } from '../../engine/index.js';
import { ExitCode, FatalError } from '../lifecycle/index.js';
import { LogComponent, LogId, type Logger } from '../log/index.js';
import type { ServerOptions } from '../options/index.js';
import { engineConfig, isEngineError } from '../storage/index.js';
import type { StartupModeContext } from './context.js';

/** Engine repair events as server log lines under REPAIR. */
function repairLog(logger: Logger): (event: EngineLogEvent) => void {
  return (event) => {
    const id = event.msg === 'Repair finding' ? LogId.RepairFinding : event.msg === 'Repair finished' ? LogId.RepairFinished : LogId.RepairAction;
    if (event.level === 'warn') logger.warning(LogComponent.Repair, id, event.msg, event.attr);
    else logger.info(LogComponent.Repair, id, event.msg, event.attr);
  };
}

/**
 * `--repair`: runs the engine's repair worker on the dbpath: detect, give the later-created
 * table of every id collision a fresh id through the PIT path, remove orphan files (`.wt`
 * files no metadata entry names), checkpoint, exit 0 (6 when it fails, leaving the last
 * checkpoint as it was). Findings and actions are logged under REPAIR.
 */
export async function runRepair(context: StartupModeContext): Promise<number> {
  const { logger } = context;
  try {
    const run = await repair.repairAll(context.connection, repairLog(logger));
    logger.info(LogComponent.Repair, LogId.RepairFinished, 'Repair completed', {
      findings: run.findings.length, actions: run.actions, removedFiles: run.removedFiles, checkpointId: run.checkpoint?.id,
    });
    return ExitCode.Clean;
  } catch (error) {
    throw new FatalError(`repair failed: ${error instanceof Error ? error.message : String(error)}`, ExitCode.Fatal, { option: '--repair' });
  }
}

/**
 * `--repair --dryRun`: opens the engine read-only, so that nothing on the dbpath changes, and
 * logs every finding and the action `--repair` would take for it; exit 0 (6 when the engine
 * does not open).
 */
export async function runRepairDryRun(options: ServerOptions, logger: Logger): Promise<number> {
  let connection: Connection;
  try {
    connection = await openConnection(options.dbpath, { ...engineConfig(options, logger), create: false, readOnly: true });
  } catch (error) {
    const attributes: Record<string, unknown> = { option: '--repair --dryRun' };
    if (isEngineError(error)) Object.assign(attributes, { engineErrorCode: error.code, location: error.location });
    throw new FatalError(`Failed to open the storage engine: ${error instanceof Error ? error.message : String(error)}`, ExitCode.Fatal, attributes, { cause: error });
  }
  try {
    const run = await repair.repairAll(connection, repairLog(logger), { dryRun: true });
    logger.info(LogComponent.Repair, LogId.RepairFinished, 'Repair dry run completed: nothing was changed', {
      findings: run.findings.length, actions: run.actions, removedFiles: run.removedFiles, dryRun: true,
    });
    return ExitCode.Clean;
  } catch (error) {
    throw new FatalError(`repair dry run failed: ${error instanceof Error ? error.message : String(error)}`, ExitCode.Fatal, { option: '--repair --dryRun' });
  } finally {
    await connection.close();
  }
}
