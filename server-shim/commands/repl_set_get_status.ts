import { CommandError, ErrorCodes } from '../errors/index.js';
import { replicaSetStatus } from '../replication/index.js';
import { defineCommand } from './registry.js';

/**
 * `replSetGetStatus`: this node as the set's primary, with its optimes and
 * `lastStableRecoveryTimestamp` (the last checkpoint's timestamp).
 */
export const replSetGetStatusCommand = defineCommand({
  name: 'replSetGetStatus',
  adminOnly: true,
  help: 'replica set status, optimes and last stable recovery timestamp',
  run: (_request, context) => {
    const setName = context.server.options.replSet;
    if (setName === undefined) throw new CommandError(ErrorCodes.NoReplicationEnabled, 'not running with --replSet');
    return replicaSetStatus(context.server, setName);
  },
});
