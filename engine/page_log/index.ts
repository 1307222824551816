/**
 * The page log module ("PALI"): the only entry other modules import. See README.md.
 */
export {
  KEY_PROVIDER_TABLE_ID,
  MAX_DELTAS_PER_CHAIN,
  MIN_USER_PAGE_ID,
  PutFlags,
  SHARED_METADATA_TABLE_ID,
  TURTLE_PAGE_TABLE_ID,
} from './interface.js';
export type {
  CompleteCheckpointArgs,
  CompletionRecord,
  LogEntry,
  PageLog,
  PageLogHandle,
  PageLogOptions,
  PageLogRole,
  PageLogStat,
  PageRecord,
  PutArgs,
} from './interface.js';
export { openPageLog } from './lmdb_page_log.js';
export { DEFAULT_LEASE_MS } from './nodes.js';
export type { LeaseRecord, NodeRecords, NodeRole, TermRecord } from './nodes.js';
export { LMDB_DATA_FILE } from './lmdb_files.js';
