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

/** `set`'s values as configuration text: strings, integers and booleans. */
function modifyValues(request: CommandRequest): Record<string, string | number | boolean> {
  const set = optionalDocument(request, 'set') ?? {};
  const values: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(set)) {
    if (typeof value === 'string' || typeof value === 'boolean') values[key] = value;
    else if (numericKind(value) !== undefined && toExactInteger(value) !== undefined) values[key] = String(toExactInteger(value));
    else throw new CommandError(ErrorCodes.BadValue, `repairMetadata modify: set.${key} must be a string, an integer or a boolean`);
  }
  return values;
}

function optionalStringArray(request: CommandRequest, field: string): string[] {
  const value = request.body[field];
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) {
    throw new CommandError(ErrorCodes.BadValue, `repairMetadata: "${field}" must be an array of key names`);
  }
  return value as string[];
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
 * - `{action: "modify", uri, set: {key: value, ...}, unset: [key, ...], dryRun?}` rewrites values
 *   of a `table:`, `colgroup:` or `file:` entry through the PIT path, each key by its rule (a new
 *   `id` moves a shared table's pages); `dryRun` replies with the exact entries before and after.
 * Replies of create and modify carry the identity of the checkpoint they produced.
 */
export const repairMetadataCommand = defineCommand({
  name: 'repairMetadata',
  gate: 'repairCommands',
  adminOnly: true,
  help: 'repair worker: {action: "detect" | "create" | "modify", ...}',
  run: async (request, context) => {
    checkKnownFields(request, ['action', 'uri', 'config', 'local', 'set', 'unset', 'dryRun']);
    const action = requiredString(request, 'action');
    const connection = context.storage.connection;
    const dryRun = optionalBoolean(request, 'dryRun') ?? false;
    const log = (msg: string, attr: Document): void => context.logger.info(LogComponent.Repair, LogId.RepairAction, msg, attr);
    try {
      switch (action) {
        case 'detect': {
          const findings = await repair.detect(connection);
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
          const set = modifyValues(request);
          const unset = optionalStringArray(request, 'unset');
          const result = await repair.modifyTable(connection, { uri, set, unset, dryRun });
          log(dryRun ? 'Would rewrite a metadata entry' : 'Rewrote a metadata entry through the PIT path', { uri, set, unset, checkpointId: result.checkpoint?.id });
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
