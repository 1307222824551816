/**
 * Verification: read-only checks of a home's files and page log, as a library that yields
 * every finding. `wt-readpath verify` and the server's `validate` command both call it.
 * See README.md.
 */
export {
  describeLocation, emptyStats, FindingCode, formatFinding,
  type Finding, type FindingCodeValue, type FindingLocation, type Severity, type VerifyStats,
} from './findings.js';
export {
  collectReport, verifyHome, verifyTable,
  type VerifyOptions, type VerifyProgress, type VerifyReport, type VerifySummary,
} from './verify.js';
export {
  decodeMetadataString, HomeReader, isSharedFileConfig, METADATA_URI, PAGE_LOG_DIRECTORY, requireHome,
  SHARED_METADATA_URI, type HomeReadOptions, type MetadataEntry,
} from './home.js';
export { FindingSink } from './findings.js';
export { checkCompletion, logRecords, recordAt, KEY_PROVIDER_PAGE_ID, TURTLE_PAGE_ID, type CheckpointMetadata } from './disagg.js';
export { FileSource, PageLogSource, type PageImage, type PageSource } from './sources.js';
export { TreeWalker, type LeafRecords, type StoredRecord, type TreeWalkSummary } from './tree.js';
export { allocationSizeOf, checkpointName, checkpointsOf } from './file_checks.js';
