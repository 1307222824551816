import type { CommandEntry } from './registry.js';

/**
 * Every command the server runs, by name. A command's module is imported the first time a
 * client runs it, so the server starts without loading the code of commands nobody calls (the
 * query engine, the repair worker, the verifier). Adding a command: write `commands/<name>.ts`
 * exporting a `defineCommand({...})`, then add a line here (see server-shim/README.md).
 */
export const builtinCommands: readonly CommandEntry[] = [
  { name: 'aggregate', load: async () => (await import('./aggregate.js')).aggregateCommand },
  { name: 'buildInfo', aliases: ['buildinfo'], load: async () => (await import('./build_info.js')).buildInfoCommand },
  { name: 'connectionStatus', load: async () => (await import('./connection_status.js')).connectionStatusCommand },
  { name: 'count', load: async () => (await import('./count.js')).countCommand },
  { name: 'create', load: async () => (await import('./create.js')).createCommand },
  { name: 'createIndexes', load: async () => (await import('./create_indexes.js')).createIndexesCommand },
  { name: 'currentOp', load: async () => (await import('./current_op.js')).currentOpCommand },
  { name: 'delete', load: async () => (await import('./delete.js')).deleteCommand },
  { name: 'distinct', load: async () => (await import('./distinct.js')).distinctCommand },
  { name: 'drop', load: async () => (await import('./drop.js')).dropCommand },
  { name: 'dropDatabase', load: async () => (await import('./drop_database.js')).dropDatabaseCommand },
  { name: 'endSessions', load: async () => (await import('./end_sessions.js')).endSessionsCommand },
  { name: 'find', load: async () => (await import('./find.js')).findCommand },
  { name: 'fsync', load: async () => (await import('./fsync.js')).fsyncCommand },
  { name: 'fsyncUnlock', load: async () => (await import('./fsync_unlock.js')).fsyncUnlockCommand },
  { name: 'getClusterParameter', load: async () => (await import('./get_cluster_parameter.js')).getClusterParameterCommand },
  { name: 'getCmdLineOpts', load: async () => (await import('./get_cmd_line_opts.js')).getCmdLineOptsCommand },
  { name: 'getLog', load: async () => (await import('./get_log.js')).getLogCommand },
  { name: 'getMore', load: async () => (await import('./get_more.js')).getMoreCommand },
  { name: 'getParameter', load: async () => (await import('./get_parameter.js')).getParameterCommand },
  { name: 'hello', load: async () => (await import('./hello.js')).helloCommand },
  { name: 'hostInfo', load: async () => (await import('./host_info.js')).hostInfoCommand },
  { name: 'insert', load: async () => (await import('./insert.js')).insertCommand },
  { name: 'isMaster', aliases: ['ismaster'], load: async () => (await import('./is_master.js')).isMasterCommand },
  { name: 'killCursors', load: async () => (await import('./kill_cursors.js')).killCursorsCommand },
  { name: 'killSessions', load: async () => (await import('./kill_sessions.js')).killSessionsCommand },
  { name: 'listCollections', load: async () => (await import('./list_collections.js')).listCollectionsCommand },
  { name: 'listCommands', load: async () => (await import('./list_commands.js')).listCommandsCommand },
  { name: 'listDatabases', load: async () => (await import('./list_databases.js')).listDatabasesCommand },
  { name: 'listIndexes', load: async () => (await import('./list_indexes.js')).listIndexesCommand },
  { name: 'ping', load: async () => (await import('./ping.js')).pingCommand },
  { name: 'replSetGetConfig', load: async () => (await import('./repl_set_get_config.js')).replSetGetConfigCommand },
  { name: 'replSetGetStatus', load: async () => (await import('./repl_set_get_status.js')).replSetGetStatusCommand },
  { name: 'rotateKey', load: async () => (await import('./rotate_key.js')).rotateKeyCommand },
  { name: 'repairMetadata', load: async () => (await import('./repair_metadata.js')).repairMetadataCommand },
  { name: 'injectFault', load: async () => (await import('./inject_fault.js')).injectFaultCommand },
  { name: 'serverStatus', aliases: ['serverstatus'], load: async () => (await import('./server_status.js')).serverStatusCommand },
  { name: 'setClusterParameter', load: async () => (await import('./set_cluster_parameter.js')).setClusterParameterCommand },
  { name: 'setParameter', load: async () => (await import('./set_parameter.js')).setParameterCommand },
  { name: 'shutdown', load: async () => (await import('./shutdown.js')).shutdownCommand },
  { name: 'startSession', load: async () => (await import('./start_session.js')).startSessionCommand },
  { name: 'update', load: async () => (await import('./update.js')).updateCommand },
  { name: 'validate', load: async () => (await import('./validate.js')).validateCommand },
  { name: 'whatsmyuri', load: async () => (await import('./whats_my_uri.js')).whatsMyUriCommand },
];
