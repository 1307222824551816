import { repair } from '../../engine/index.js';
import { CommandError, ErrorCodes } from '../errors/index.js';
import { LogComponent, LogId } from '../log/index.js';
import { engineErrorToCommandError } from '../storage/index.js';
import { checkKnownFields, requiredArray } from './arguments.js';
import { defineCommand } from './registry.js';

/**
 * Test-only `injectFault` (only with `--setParameter enableTestCommands=1`):
 * `{injectFault: "idCollision", uris: [A, B]}` gives table B the file id of table A through the
 * PIT path, so that repair can be exercised end to end.
 */
export const injectFaultCommand = defineCommand({
  name: 'injectFault',
  gate: 'testCommands',
  adminOnly: true,
  help: 'test-only: {injectFault: "idCollision", uris: [A, B]} makes B share A\'s file id',
  run: async (request, context) => {
    checkKnownFields(request, ['uris']);
    const kind = request.argument;
    if (kind !== 'idCollision') throw new CommandError(ErrorCodes.BadValue, `unknown fault "${String(kind)}" (supported: idCollision)`);
    const uris = requiredArray(request, 'uris');
    if (uris.length !== 2 || !uris.every((u) => typeof u === 'string')) {
      throw new CommandError(ErrorCodes.BadValue, 'injectFault idCollision needs uris: [A, B], two table URIs');
    }
    const [a, b] = uris as [string, string];
    try {
      const result = await repair.injectIdCollision(context.storage.connection, a, b);
      const id = context.storage.connection.getTable(a).id;
      context.logger.warning(LogComponent.Repair, LogId.FaultInjected, 'Injected a file id collision', { uris: [a, b], id, checkpointId: result.checkpoint?.id });
      return { id, checkpointId: result.checkpoint?.id ?? null };
    } catch (error) {
      throw engineErrorToCommandError(error);
    }
  },
});
