/**
 * The journal: WiredTiger's write-ahead log for a home's local tables (see README.md).
 */
export {
  DEFAULT_LOG_FILE_MAX, DEFAULT_LOG_SYNC_INTERVAL_MS, logProblemError, MIN_LOG_FILE_MAX, WriteAheadLog, type LogOptions, type LogSyncStats,
} from './log.js';
export {
  HOME_ID_MESSAGE_PREFIX, inspectLog, listLogFiles, LogFileReader, type LogFileState, type LogInspection, type LogProblem, type ReadRecord,
} from './scan.js';
export { metadataLogOp, readJournalNames, METADATA_FILE_ID, recoverLog, type RecoveryResult, type RecoveryTarget } from './recovery.js';
