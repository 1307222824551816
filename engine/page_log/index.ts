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
import type { PageLog, PageLogOptions } from './interface.js';

export type {
  CompleteCheckpointArgs,
  CompletionRecord,
  LogEntry,
  PageLog,
  PageLogHandle,
  PageLogOptions,
  PageLogRole,
  PageLogStat,
  PageLogStorageSize,
  PageRecord,
  PutArgs,
} from './interface.js';

/**
 * Opens (or creates) the page log at `path`: see `lmdb_page_log.ts`, which this loads on the
 * first call, so that importing the module does not load LMDB and its encoders (reading a
 * local home never needs them).
 */
export async function openPageLog(path: string, options?: PageLogOptions): Promise<PageLog> {
  const { openPageLog: open } = await import('./lmdb_page_log.js');
  return open(path, options);
}
export { DEFAULT_LEASE_MS } from './nodes.js';
export type { LeaseRecord, NodeRecords, NodeRole, TermRecord } from './nodes.js';
export { LMDB_DATA_FILE } from './lmdb_files.js';
