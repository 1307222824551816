/** Magic restore: the restore stream, its configuration and the plan of point-in-time writes. */
export { readBsonStream, RestoreStreamError, StreamErrorCode } from './bson_stream.js';
export {
  ConfigErrorCode, parseRestoreConfiguration, RestoreConfigError, type AutomationCredentials, type NamespaceUuid, type RestoreConfiguration,
} from './restore_config.js';
export {
  ALLOWED_CLUSTER_PARAMETERS, HIGHER_TERM_MARGIN, higherTermNoOpEntry, invalidMinValidDocument, REPLICATION_STATE_NAMESPACES, RestorePlan,
  type ApplyCounts,
} from './restore_plan.js';
