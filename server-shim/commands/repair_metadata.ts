import { repair, type RepairResult } from '../../engine/index.js';
import { CommandError, ErrorCodes } from '../errors/index.js';
import { LogComponent, LogId } from '../log/index.js';
import { engineErrorToCommandError } from '../storage/index.js';
import { numericKind, toExactInteger, type Document } from '../values/index.js';
import { checkKnownFields, optionalBoolean, optionalDocument, optionalString } from './arguments.js';
import type { CommandRequest } from './context.js';
import { defineCommand } from './registry.js';

/** The reply fields of a create or modify: what changed and the checkpoint that made it durable. */
function resultReply(result: RepairResult): Document {
  const reply: Document = {
    dryRun: result.dryRun,
    changes: result.changes.map((c) => ({ key: c.key, shared: c.shared, ...(c.before === undefined ? {} : { before: c.before }), ...(c.after === undefined ? {} : { after: c.after }) })),
  };
  if (result.checkpoint) {
    reply.checkpointId = result.checkpoint.id;
    reply.checkpointLsn = result.checkpoint.lsn ?? null;
  }
  return reply;
}

function requiredString(request: CommandRequest, field: string): string {
  const value = optionalString(request, field);
  if (value === undefined) throw new CommandError(ErrorCodes.BadValue, `repairMetadata needs a string "${field}"`);
  return value;
}

/**
 * `repairMetadata` (only with `--setParameter enableRepairCommands=1`): the engine's repair
 * worker, entered through the normal server -> engine path.
 * - `{action: "detect"}` lists id collisions, missing and orphan files and broken chains;
 * - `{action: "create", uri, config, local, dryRun?}` creates a table through the PIT path;
 * - `{action: "modify", uri, set: {id}, dryRun?}` rewrites a table's file id through the PIT path.
 * Replies of create and modify carry the identity of the checkpoint they produced.
 */
export const repairMetadataCommand = defineCommand({
  name: 'repairMetadata',
  gate: 'repairCommands',
  adminOnly: true,
  help: 'repair worker: {action: "detect" | "create" | "modify", ...}',
  run: async (request, context) => {
    checkKnownFields(request, ['action', 'uri', 'config', 'local', 'set', 'dryRun']);
    const action = requiredString(request, 'action');
    const connection = context.storage.connection;
    const dryRun = optionalBoolean(request, 'dryRun') ?? false;
    const log = (msg: string, attr: Document): void => context.logger.info(LogComponent.Repair, LogId.RepairAction, msg, attr);
    try {
      switch (action) {
        case 'detect': {
          const findings = repair.detect(connection);
          for (const finding of findings) context.logger.warning(LogComponent.Repair, LogId.RepairFinding, 'Repair finding', { ...finding });
          return { findings, lastCheckpointId: connection.lastCheckpoint()?.id ?? null };
        }
        case 'create': {
          const uri = requiredString(request, 'uri');
          const config = requiredString(request, 'config');
          const local = optionalBoolean(request, 'local') ?? false;
          const result = await repair.createTable(connection, { uri, config, local, dryRun });
          log(dryRun ? 'Would create a table' : 'Created a table through the PIT path', { uri, local, checkpointId: result.checkpoint?.id });
          return resultReply(result);
        }
        case 'modify': {
          const uri = requiredString(request, 'uri');
          const set = optionalDocument(request, 'set');
          const id = set === undefined || numericKind(set.id) === undefined ? undefined : toExactInteger(set.id);
          if (set === undefined || id === undefined || Object.keys(set).some((k) => k !== 'id')) {
            throw new CommandError(ErrorCodes.BadValue, 'repairMetadata modify needs set: {id: <number>} (only the file id can be changed)');
          }
          const result = await repair.modifyTable(connection, { uri, set: { id: Number(id) }, dryRun });
          log(dryRun ? 'Would change a file id' : 'Changed a file id through the PIT path', { uri, id: Number(id), checkpointId: result.checkpoint?.id });
          return resultReply(result);
        }
        default:
          throw new CommandError(ErrorCodes.BadValue, `unknown repairMetadata action "${action}" (detect, create or modify)`);
      }
    } catch (error) {
      throw engineErrorToCommandError(error);
    }
  },
});
