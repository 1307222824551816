import { aggregateCommand } from './aggregate.js';
import { buildInfoCommand } from './build_info.js';
import { connectionStatusCommand } from './connection_status.js';
import { countCommand } from './count.js';
import { createCommand } from './create.js';
import { createIndexesCommand } from './create_indexes.js';
import { currentOpCommand } from './current_op.js';
import { deleteCommand } from './delete.js';
import { disaggPickUpCheckpointCommand } from './disagg_pick_up_checkpoint.js';
import { distinctCommand } from './distinct.js';
import { dropCommand } from './drop.js';
import { dropDatabaseCommand } from './drop_database.js';
import { endSessionsCommand } from './end_sessions.js';
import { findCommand } from './find.js';
import { fsyncCommand } from './fsync.js';
import { fsyncUnlockCommand } from './fsync_unlock.js';
import { getClusterParameterCommand } from './get_cluster_parameter.js';
import { getCmdLineOptsCommand } from './get_cmd_line_opts.js';
import { getLogCommand } from './get_log.js';
import { getMoreCommand } from './get_more.js';
import { getParameterCommand } from './get_parameter.js';
import { helloCommand } from './hello.js';
import { hostInfoCommand } from './host_info.js';
import { insertCommand } from './insert.js';
import { isMasterCommand } from './is_master.js';
import { killCursorsCommand } from './kill_cursors.js';
import { killSessionsCommand } from './kill_sessions.js';
import { listCollectionsCommand } from './list_collections.js';
import { listCommandsCommand } from './list_commands.js';
import { listDatabasesCommand } from './list_databases.js';
import { listIndexesCommand } from './list_indexes.js';
import { pingCommand } from './ping.js';
import type { CommandDefinition } from './registry.js';
import { replSetGetConfigCommand } from './repl_set_get_config.js';
import { replSetGetStatusCommand } from './repl_set_get_status.js';
import { replSetStepDownCommand, replSetStepUpCommand } from './repl_set_step.js';
import { rotateKeyCommand } from './rotate_key.js';
import { repairMetadataCommand } from './repair_metadata.js';
import { injectFaultCommand } from './inject_fault.js';
import { serverStatusCommand } from './server_status.js';
import { setClusterParameterCommand } from './set_cluster_parameter.js';
import { setParameterCommand } from './set_parameter.js';
import { shutdownCommand } from './shutdown.js';
import { startSessionCommand } from './start_session.js';
import { updateCommand } from './update.js';
import { validateCommand } from './validate.js';
import { whatsMyUriCommand } from './whats_my_uri.js';

/**
 * Every command the server runs. Adding a command: write `commands/<name>.ts` exporting a
 * `defineCommand({...})`, then add it to this list (see server-shim/README.md).
 */
export const builtinCommands: readonly CommandDefinition[] = [
  aggregateCommand,
  buildInfoCommand,
  connectionStatusCommand,
  countCommand,
  createCommand,
  createIndexesCommand,
  currentOpCommand,
  deleteCommand,
  disaggPickUpCheckpointCommand,
  distinctCommand,
  dropCommand,
  dropDatabaseCommand,
  endSessionsCommand,
  findCommand,
  fsyncCommand,
  fsyncUnlockCommand,
  getClusterParameterCommand,
  getCmdLineOptsCommand,
  getLogCommand,
  getMoreCommand,
  getParameterCommand,
  helloCommand,
  hostInfoCommand,
  insertCommand,
  isMasterCommand,
  killCursorsCommand,
  killSessionsCommand,
  listCollectionsCommand,
  listCommandsCommand,
  listDatabasesCommand,
  listIndexesCommand,
  pingCommand,
  replSetGetConfigCommand,
  replSetGetStatusCommand,
  replSetStepDownCommand,
  replSetStepUpCommand,
  rotateKeyCommand,
  repairMetadataCommand,
  injectFaultCommand,
  serverStatusCommand,
  setClusterParameterCommand,
  setParameterCommand,
  shutdownCommand,
  startSessionCommand,
  updateCommand,
  validateCommand,
  whatsMyUriCommand,
];
