import { repair } from '../../engine/index.js';
import { CommandError, ErrorCodes } from '../errors/index.js';
import { LogComponent, LogId } from '../log/index.js';
import { engineErrorToCommandError } from '../storage/index.js';
import { checkKnownFields, requiredArray } from './arguments.js';
import { defineCommand } from './registry.js';

/**
 * Test-only `injectFault` (only with `--setParameter enableTestCommands=1`):
 * `{injectFault: "idCollision", uris: [A, B]}` gives table B the file id of table A through the
 * PIT path, so that repair can be exercised end to end. `{injectFault: "unhandledRejection"}`
 * rejects a promise nobody handles: the process logs it as fatal and exits 100.
 * `{injectFault: "pauseJournalFlusher"}` holds every durability wait (`j`, `fsync`, `majority`)
 * until `{injectFault: "pauseJournalFlusher", off: true}`, as mongod's
 * `pauseJournalFlusherThread` fail point. `{injectFault: "crashAfterTableFile"}` makes the next
 * create of a local table kill the process (SIGKILL) once its file is made, before any
 * metadata entry names it: the orphan file a crash at that point leaves.
 */
export const injectFaultCommand = defineCommand({
  name: 'injectFault',
  gate: 'testCommands',
  adminOnly: true,
  help: 'test-only: {injectFault: "idCollision", uris: [A, B]} makes B share A\'s file id',
  run: async (request, context) => {
    checkKnownFields(request, ['uris', 'off']);
    const kind = request.argument;
    if (kind === 'crashAfterTableFile') {
      // The next local table's create dies as a kill -9 there would: its file is made and
      // synced, no metadata entry names it and nothing of it is journaled (an orphan file).
      context.storage.connection.injectCrashAfterNextTableFile((file) => {
        context.logger.warning(LogComponent.Repair, LogId.FaultInjected, 'Crashing after making a table file, before its metadata entry', { file });
        process.kill(process.pid, 'SIGKILL');
      });
      context.logger.warning(LogComponent.Repair, LogId.FaultInjected, 'The next table file made crashes the server');
      return {};
    }
    if (kind === 'pauseJournalFlusher') {
      // As mongod's pauseJournalFlusherThread fail point: durability waits hold until `off: true`.
      if (request.body.off === true) context.storage.resumeJournalWaits();
      else context.storage.pauseJournalWaits();
      context.logger.warning(LogComponent.Repair, LogId.FaultInjected, request.body.off === true ? 'Resumed journal durability waits' : 'Paused journal durability waits');
      return { paused: context.storage.journalWaitsPaused };
    }
    if (kind === 'unhandledRejection') {
      // Proves end to end that a rejection nobody handles is reported (and fails a jstest).
      context.logger.warning(LogComponent.Repair, LogId.FaultInjected, 'Injecting an unhandled promise rejection');
      setImmediate(() => void Promise.reject(new Error('injected unhandled rejection')));
      return {};
    }
    if (kind !== 'idCollision') throw new CommandError(ErrorCodes.BadValue, `unknown fault "${String(kind)}" (supported: idCollision, unhandledRejection, pauseJournalFlusher, crashAfterTableFile)`);
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
