import { Long } from 'bson';
import { CommandError, ErrorCodes } from '../errors/index.js';
import { initiateReplicaSet } from '../replication/index.js';
import { defineCommand } from './registry.js';
import type { CommandContext } from './context.js';

function requireDisagg(context: CommandContext, name: string): void {
  if (context.storage.connection.storage !== 'disagg') {
    throw new CommandError(ErrorCodes.NoReplicationEnabled, `${name} needs disaggregated storage: a node changes role in a page log it shares`);
  }
}

/**
 * `replSetStepUp`: a follower becomes the leader of the shared page log with a new term, which
 * fences the old leader (alive or not); it continues from the newest completed checkpoint.
 */
export const replSetStepUpCommand = defineCommand({
  name: 'replSetStepUp',
  adminOnly: true,
  help: 'follower: takes the writer role of the shared page log with a new term',
  run: async (_request, context) => {
    requireDisagg(context, 'replSetStepUp');
    const checkpoint = await context.storage.stepUp();
    // A follower kept no replica set configuration (its catalog was the old leader's): it writes
    // its own now, as a node that starts as the leader does.
    const setName = context.server.options.replSet;
    if (setName !== undefined) await initiateReplicaSet(context.storage, setName, context.server.hostAndPort, context.logger.withContext('ReplCoord'));
    return {
      term: Long.fromNumber(context.storage.term),
      checkpointId: checkpoint?.id ?? null,
    };
  },
});

/**
 * `replSetStepDown`: the leader takes a final checkpoint, ends its writer role and follows the
 * page log from then on (writes get NotWritablePrimary). The seconds argument is accepted and
 * ignored: nothing steps this node up again on its own.
 */
export const replSetStepDownCommand = defineCommand({
  name: 'replSetStepDown',
  adminOnly: true,
  help: 'leader: final checkpoint, then follows the shared page log',
  run: async (_request, context) => {
    requireDisagg(context, 'replSetStepDown');
    await context.storage.stepDown();
    return {};
  },
});
