import { EngineError, type ErrorLocation } from '../errors.js';

/**
 * Findings: what verification reports. A finding is data, not an exception: verification
 * collects every one it meets and carries on with whatever can still be checked.
 */

/** `error`: the home is damaged. `warning`: suspicious but readable (fatal only when strict). */
export type Severity = 'error' | 'warning';

/** Where a finding is. Every field is optional; all that are known are set. */
export interface FindingLocation {
  /** File path relative to the home (or as given, for a single file). */
  file?: string;
  /** Table or file URI, e.g. `table:orders`, `file:orders.wt`. */
  uri?: string;
  /** File id / page-log table id. */
  tableId?: number;
  /** Page-log page id. */
  pageId?: number;
  /** Page-log LSN. */
  lsn?: number;
  /** Byte offset in the file, or in the page image for a page-log page. */
  offset?: number;
  /** Checkpoint name (`WiredTigerCheckpoint.N`) when a file holds several. */
  checkpoint?: string;
}

/** One problem found. `code` is stable; `message` is for people. */
export interface Finding {
  severity: Severity;
  code: FindingCodeValue;
  message: string;
  location: FindingLocation;
}

/**
 * Stable finding codes, grouped by the structure they concern. Tests and scripts branch on
 * these, never on messages.
 */
export const FindingCode = {
  // Local turtle file.
  TurtleFileMissing: 'TURTLE_FILE_MISSING',
  TurtleFileInvalid: 'TURTLE_FILE_INVALID',
  TurtleFileLeftover: 'TURTLE_FILE_LEFTOVER',
  /** The turtle names no metadata checkpoint while the home holds data. */
  MetadataCheckpointMissing: 'METADATA_CHECKPOINT_MISSING',
  /** `WiredTiger.turtle.backup` fails the turtle checks (a warning: the turtle itself is sound). */
  TurtleBackupInvalid: 'TURTLE_BACKUP_INVALID',
  /** `WiredTiger.turtle.backup` names another metadata checkpoint than the turtle. */
  TurtleBackupStale: 'TURTLE_BACKUP_STALE',
  // Metadata entries and the links between them.
  MetadataEntryInvalid: 'METADATA_ENTRY_INVALID',
  FileIdMissing: 'FILE_ID_MISSING',
  FileIdDuplicate: 'FILE_ID_DUPLICATE',
  FileIdReserved: 'FILE_ID_RESERVED',
  FileIdAboveLargest: 'FILE_ID_ABOVE_LARGEST',
  ColgroupMissing: 'COLGROUP_MISSING',
  ColgroupSourceMissing: 'COLGROUP_SOURCE_MISSING',
  FileEntryMissing: 'FILE_ENTRY_MISSING',
  FileMissing: 'FILE_MISSING',
  FileUnreferenced: 'FILE_UNREFERENCED',
  CheckpointInvalid: 'CHECKPOINT_INVALID',
  CheckpointWriteGen: 'CHECKPOINT_WRITE_GEN',
  // `.wt` files: descriptor, blocks and extent lists.
  DescriptorInvalid: 'DESCRIPTOR_INVALID',
  DescriptorChecksum: 'DESCRIPTOR_CHECKSUM',
  FileSizeInvalid: 'FILE_SIZE_INVALID',
  AddressInvalid: 'ADDRESS_INVALID',
  BlockChecksum: 'BLOCK_CHECKSUM',
  BlockHeaderInvalid: 'BLOCK_HEADER_INVALID',
  BlockReferencedTwice: 'BLOCK_REFERENCED_TWICE',
  BlockOverlap: 'BLOCK_OVERLAP',
  ExtentListInvalid: 'EXTENT_LIST_INVALID',
  ExtentListMissing: 'EXTENT_LIST_MISSING',
  ExtentNotListed: 'EXTENT_NOT_LISTED',
  ExtentOverlap: 'EXTENT_OVERLAP',
  ExtentUnreached: 'EXTENT_UNREACHED',
  FileRangeUnverified: 'FILE_RANGE_UNVERIFIED',
  FreeSpaceDamaged: 'FREE_SPACE_DAMAGED',
  // Pages and cells (both block managers).
  PageHeaderInvalid: 'PAGE_HEADER_INVALID',
  PageTypeUnexpected: 'PAGE_TYPE_UNEXPECTED',
  PageTrailingBytes: 'PAGE_TRAILING_BYTES',
  CellInvalid: 'CELL_INVALID',
  CellsSizeMismatch: 'CELLS_SIZE_MISMATCH',
  KeyOrder: 'KEY_ORDER',
  WriteGenOrder: 'WRITE_GEN_ORDER',
  AddressTypeMismatch: 'ADDRESS_TYPE_MISMATCH',
  TimeWindowInvalid: 'TIME_WINDOW_INVALID',
  RootIsLeaf: 'ROOT_IS_LEAF',
  TreeTooDeep: 'TREE_TOO_DEEP',
  // Page log.
  PageLogUnreadable: 'PAGE_LOG_UNREADABLE',
  PageLogMissing: 'PAGE_LOG_MISSING',
  PageLogEmpty: 'PAGE_LOG_EMPTY',
  PageLogMismatch: 'PAGE_LOG_MISMATCH',
  PairedCheckpointMissing: 'PAIRED_CHECKPOINT_MISSING',
  PageLogRecordInvalid: 'PAGE_LOG_RECORD_INVALID',
  PageLogPageMissing: 'PAGE_LOG_PAGE_MISSING',
  PageLogPageInvalid: 'PAGE_LOG_PAGE_INVALID',
  PageLogChecksum: 'PAGE_LOG_CHECKSUM',
  PageLogDeltaUnverified: 'PAGE_LOG_DELTA_UNVERIFIED',
  CompletionRecordInvalid: 'COMPLETION_RECORD_INVALID',
  TurtlePageMissing: 'TURTLE_PAGE_MISSING',
  TurtlePageChecksum: 'TURTLE_PAGE_CHECKSUM',
  TurtlePageChecksumAbsent: 'TURTLE_PAGE_CHECKSUM_ABSENT',
  TurtlePageInvalid: 'TURTLE_PAGE_INVALID',
  KeyProviderPageMissing: 'KEY_PROVIDER_PAGE_MISSING',
  KeyProviderPageInvalid: 'KEY_PROVIDER_PAGE_INVALID',
  KeyProviderPageChecksum: 'KEY_PROVIDER_PAGE_CHECKSUM',
  KeyProviderPageBacklink: 'KEY_PROVIDER_PAGE_BACKLINK',
  // Journal (write-ahead log of local tables).
  /** A journal file is corrupt or truncated before its end, or a file is missing between two. */
  JournalCorrupt: 'JOURNAL_CORRUPT',
  /** A journal file belongs to another home. */
  JournalForeign: 'JOURNAL_FOREIGN',
  /** The last journal record is torn (an interrupted write); recovery cuts it off. */
  JournalTornTail: 'JOURNAL_TORN_TAIL',
  // A check that could not run to completion for a reason not listed above.
  CheckFailed: 'CHECK_FAILED',
} as const;

/** One of the `FindingCode` values. */
export type FindingCodeValue = (typeof FindingCode)[keyof typeof FindingCode];

/** Copies the location fields of an engine error (or anything with them) into a finding location. */
export function locationOf(where: ErrorLocation | FindingLocation): FindingLocation {
  const location: FindingLocation = {};
  if (where.file !== undefined) location.file = where.file;
  if (where.uri !== undefined) location.uri = where.uri;
  if (where.tableId !== undefined) location.tableId = where.tableId;
  if (where.pageId !== undefined) location.pageId = where.pageId;
  if (where.lsn !== undefined) location.lsn = where.lsn;
  if (where.offset !== undefined) location.offset = where.offset;
  if ('checkpoint' in where && where.checkpoint !== undefined) location.checkpoint = where.checkpoint;
  return location;
}

/** The message of an error without the location suffix `EngineError` appends. */
export function errorMessage(error: unknown): string {
  if (error instanceof EngineError) return error.message.replace(/ \([^()]*\)$/, '');
  if (error instanceof Error) return error.message;
  return String(error);
}

/** One line for people: `error CODE: message (file x.wt, offset 8192)`. */
export function formatFinding(finding: Finding): string {
  const where = describeLocation(finding.location);
  return `${finding.severity} ${finding.code}: ${finding.message}${where ? ` (${where})` : ''}`;
}

/** The location as `file x.wt, table id 12, page 104, LSN 88, offset 40`. */
export function describeLocation(location: FindingLocation): string {
  const parts: string[] = [];
  if (location.file !== undefined) parts.push(`file ${location.file}`);
  if (location.uri !== undefined) parts.push(location.uri);
  if (location.checkpoint !== undefined) parts.push(`checkpoint ${location.checkpoint}`);
  if (location.tableId !== undefined) parts.push(`table id ${location.tableId}`);
  if (location.pageId !== undefined) parts.push(`page ${location.pageId}`);
  if (location.lsn !== undefined) parts.push(`LSN ${location.lsn}`);
  if (location.offset !== undefined) parts.push(`offset ${location.offset}`);
  return parts.join(', ');
}

/** Counts of what verification read, for progress, `stat` and benchmarks. */
export interface VerifyStats {
  /** Tree pages read (internal, leaf, overflow) and extent-list blocks. */
  pages: number;
  /** Bytes of pages and blocks read and checked. */
  bytes: number;
  /** Key/value records met on leaf pages. */
  records: number;
  /** Trees walked. */
  trees: number;
  /** Page-log records examined (completion records, turtle and key-provider pages). */
  logRecords: number;
}

/** Counts at zero. */
export function emptyStats(): VerifyStats {
  return { pages: 0, bytes: 0, records: 0, trees: 0, logRecords: 0 };
}

/**
 * Where checks put their findings: a queue the public generators drain, and the counts.
 * One per verification run; nothing is shared between runs.
 */
export class FindingSink {
  private queue: Finding[] = [];
  readonly stats: VerifyStats = emptyStats();
  errors = 0;
  warnings = 0;

  report(severity: Severity, code: FindingCodeValue, message: string, location: FindingLocation): void {
    if (severity === 'error') this.errors++;
    else this.warnings++;
    this.queue.push({ severity, code, message, location: locationOf(location) });
  }

  error(code: FindingCodeValue, message: string, location: FindingLocation): void {
    this.report('error', code, message, location);
  }

  warning(code: FindingCodeValue, message: string, location: FindingLocation): void {
    this.report('warning', code, message, location);
  }

  /** Runs `check`, turning anything it throws into a `CHECK_FAILED` error at `location`. */
  guard(location: FindingLocation, what: string, check: () => void): void {
    try {
      check();
    } catch (error) {
      this.error(FindingCode.CheckFailed, `${what}: ${errorMessage(error)}`, { ...location, ...locationOfError(error) });
    }
  }

  /** The findings reported since the last drain. */
  drain(): Finding[] {
    const out = this.queue;
    this.queue = [];
    return out;
  }
}

/** The location an engine error carries, if any. */
export function locationOfError(error: unknown): FindingLocation {
  return error instanceof EngineError ? locationOf(error.location) : {};
}
