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
import type { StorePresence } from './store.js';

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
 * Opens (or creates) the page log at `location`: a directory or `lmdb:PATH` (the embedded
 * store), `postgres://...` (a PostgreSQL database), or a store module's file (see
 * `location.ts`). Loads the store on the first call, so that importing this module loads none
 * (reading a local home never needs one).
 */
export async function openPageLog(location: string, options?: PageLogOptions): Promise<PageLog> {
  const { openPageLog: open } = await import('./open.js');
  return open(location, options);
}

/** Whether `location` holds a page log (present, empty, absent, unreadable), without opening it. */
export async function probePageLog(location: string): Promise<StorePresence> {
  const { probePageLog: probe } = await import('./open.js');
  return probe(location);
}
export { displayLocation, embeddedStoreDataFile, parseStoreLocation, resolveLocation } from './location.js';
export type { StoreLocation } from './location.js';
export type { PageLogStore, StorePresence } from './store.js';
export { DEFAULT_LEASE_MS } from './nodes.js';
export type { LeaseRecord, NodeRecords, NodeRole, TermRecord } from './nodes.js';
