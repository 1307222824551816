import { CommandError, ErrorCodes } from '../errors/index.js';
import { defaultReplicaSetConfig, readReplicaSetConfig } from '../replication/index.js';
import { defineCommand } from './registry.js';

/** `replSetGetConfig`: the stored replica set configuration (`local.system.replset`). */
export const replSetGetConfigCommand = defineCommand({
  name: 'replSetGetConfig',
  adminOnly: true,
  help: 'the replica set configuration',
  run: (_request, context) => {
    const setName = context.server.options.replSet;
    if (setName === undefined) throw new CommandError(ErrorCodes.NoReplicationEnabled, 'not running with --replSet');
    return { config: readReplicaSetConfig(context.storage) ?? defaultReplicaSetConfig(setName, context.server.hostAndPort) };
  },
});
