import { CommandError, ErrorCodes } from '../errors/index.js';
import { defaultReplicaSetConfig, readReplicaSetConfig } from '../replication/index.js';
import { defineCommand } from './registry.js';

/**
 * `replSetGetConfig`: the stored replica set configuration (`local.system.replset`) with the
 * node's current term, as mongod reports it once it has been elected in that term (a magic
 * restore stores the configuration as given and raises the term through the oplog).
 */
export const replSetGetConfigCommand = defineCommand({
  name: 'replSetGetConfig',
  adminOnly: true,
  help: 'the replica set configuration',
  run: (_request, context) => {
    const setName = context.server.options.replSet;
    if (setName === undefined) throw new CommandError(ErrorCodes.NoReplicationEnabled, 'not running with --replSet');
    const config = readReplicaSetConfig(context.storage) ?? defaultReplicaSetConfig(setName, context.server.hostAndPort);
    return { config: { ...config, term: context.storage.term } };
  },
});
