/**
 * Every error the engine raises, in one place.
 *
 * One base class, `EngineError`, carries a stable `code` and structured fields that say where
 * the problem is (file, table id, page id, LSN, byte offset, expected and actual checksum).
 * Subclasses group errors by when they happen. Callers branch on `code`, never on messages.
 */

/** Stable error codes, grouped by when they are raised. */
export const ErrorCode = {
  // Decoding bytes (format layer): a structure does not parse.
  FormatInvalid: 'FORMAT_INVALID',
  FormatTruncated: 'FORMAT_TRUNCATED',
  // Integrity: bytes parse but fail a check.
  ChecksumMismatch: 'CHECKSUM_MISMATCH',
  Corruption: 'CORRUPTION',
  // Configuration strings and caller-supplied options.
  ConfigInvalid: 'CONFIG_INVALID',
  ConfigUnknownKey: 'CONFIG_UNKNOWN_KEY',
  // Schema and data operations.
  NotFound: 'NOT_FOUND',
  AlreadyExists: 'ALREADY_EXISTS',
  InvalidArgument: 'INVALID_ARGUMENT',
  TypeMismatch: 'TYPE_MISMATCH',
  ReservedId: 'RESERVED_ID',
  IdCollision: 'ID_COLLISION',
  // Lifecycle: a call in the wrong state.
  Closed: 'CLOSED',
  ReadOnly: 'READ_ONLY',
  Busy: 'BUSY',
  // Home and files.
  MissingFile: 'MISSING_FILE',
  Io: 'IO',
  // Page log.
  PageLog: 'PAGE_LOG',
  /** A home opened with a page log that is not the one it pairs with. */
  PageLogMismatch: 'PAGE_LOG_MISMATCH',
  CheckpointMetadataCorrupt: 'CHECKPOINT_METADATA_CORRUPT',
  /** The turtle file names no metadata checkpoint while the home holds data. */
  MetadataCheckpointMissing: 'METADATA_CHECKPOINT_MISSING',
  /** The home or page log the connection opened is no longer the one on disk (deleted, replaced, unmounted). */
  StorageReplaced: 'STORAGE_REPLACED',
  /** The file system is full. */
  NoSpace: 'NO_SPACE',
  // Key provider.
  KeyProvider: 'KEY_PROVIDER',
  KeyPageInvalid: 'KEY_PAGE_INVALID',
  KeyPageChecksum: 'KEY_PAGE_CHECKSUM',
  KeyPageUnsupported: 'KEY_PAGE_UNSUPPORTED',
  // Repair and point-in-time writes.
  Repair: 'REPAIR',
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Where an error happened. Every field is optional; set all that are known. */
export interface ErrorLocation {
  /** File path (relative to the home when possible). */
  file?: string;
  /** Table URI, e.g. `table:orders` or `file:orders.wt`. */
  uri?: string;
  /** File id / page-log table id. */
  tableId?: number;
  /** Page-log page id. */
  pageId?: number;
  /** Page-log LSN. */
  lsn?: number;
  /** Byte offset in the file or page. */
  offset?: number;
  /** Configuration key. */
  key?: string;
  expected?: number | string;
  actual?: number | string;
}

export interface EngineErrorOptions extends ErrorLocation {
  cause?: unknown;
}

function describeLocation(loc: ErrorLocation): string {
  const parts: string[] = [];
  if (loc.file !== undefined) parts.push(`file ${loc.file}`);
  if (loc.uri !== undefined) parts.push(loc.uri);
  if (loc.tableId !== undefined) parts.push(`table id ${loc.tableId}`);
  if (loc.pageId !== undefined) parts.push(`page ${loc.pageId}`);
  if (loc.lsn !== undefined) parts.push(`LSN ${loc.lsn}`);
  if (loc.offset !== undefined) parts.push(`offset ${loc.offset}`);
  if (loc.key !== undefined) parts.push(`key "${loc.key}"`);
  return parts.join(', ');
}

/** Base class of every engine error. */
export class EngineError extends Error {
  readonly code: ErrorCodeValue;
  readonly location: ErrorLocation;

  constructor(code: ErrorCodeValue, message: string, options: EngineErrorOptions = {}) {
    const { cause, ...location } = options;
    const where = describeLocation(location);
    super(where ? `${message} (${where})` : message, cause === undefined ? undefined : { cause });
    this.name = new.target.name;
    this.code = code;
    this.location = location;
  }

  /** A plain object for JSON logs and `--json` output. */
  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, ...this.location };
  }
}

/** Raised when bytes do not decode: bad magic, an invalid cell, a truncated structure. */
export class FormatError extends EngineError {
  constructor(message: string, options: EngineErrorOptions = {}, code: ErrorCodeValue = ErrorCode.FormatInvalid) {
    super(code, message, options);
  }
}

/** Raised when a stored checksum does not match the bytes it covers. */
export class ChecksumError extends EngineError {
  constructor(message: string, options: EngineErrorOptions = {}) {
    super(ErrorCode.ChecksumMismatch, message, options);
  }
}

/** Raised when structures decode but contradict each other (key order, sizes, references). */
export class CorruptionError extends EngineError {
  constructor(message: string, options: EngineErrorOptions = {}, code: ErrorCodeValue = ErrorCode.Corruption) {
    super(code, message, options);
  }
}

/** Raised for an invalid configuration string or an unknown key a caller passed. */
export class ConfigError extends EngineError {
  constructor(message: string, options: EngineErrorOptions = {}, code: ErrorCodeValue = ErrorCode.ConfigInvalid) {
    super(code, message, options);
  }
}

/** Raised by schema and data operations: unknown tables, wrong types, taken ids. */
export class SchemaError extends EngineError {}

/** Raised when a call is made in the wrong lifecycle state (closed, read-only, busy). */
export class StateError extends EngineError {}

/** Raised for file-system failures, with the path. */
export class IoError extends EngineError {
  constructor(message: string, options: EngineErrorOptions = {}, code: ErrorCodeValue = ErrorCode.Io) {
    super(code, message, options);
  }
}

/** Raised by the page log (PALI) and by disaggregated checkpoint metadata checks. */
export class PageLogError extends EngineError {
  constructor(message: string, options: EngineErrorOptions = {}, code: ErrorCodeValue = ErrorCode.PageLog) {
    super(code, message, options);
  }
}

/** Raised when a key provider fails or its persisted page is invalid. Never carries key bytes. */
export class KeyProviderError extends EngineError {
  constructor(message: string, options: EngineErrorOptions = {}, code: ErrorCodeValue = ErrorCode.KeyProvider) {
    super(code, message, options);
  }
}

/** Raised by the point-in-time write path and the repair worker. */
export class RepairError extends EngineError {
  constructor(message: string, options: EngineErrorOptions = {}, code: ErrorCodeValue = ErrorCode.Repair) {
    super(code, message, options);
  }
}
