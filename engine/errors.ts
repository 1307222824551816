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
  /**
   * A networked page-log store cannot be used: its server refuses the connection or the
   * credentials, is gone, or did not answer in time. Nothing is assumed written.
   */
  StoreUnavailable: 'STORE_UNAVAILABLE',
  /**
   * A page-log location that names no store this engine can open: an unknown URL scheme, a
   * malformed URL, a store module that does not implement the store interface.
   */
  StoreInvalid: 'STORE_INVALID',
  /** A networked store whose schema has a version this engine does not know (a newer engine's). */
  StoreSchemaUnknown: 'STORE_SCHEMA_UNKNOWN',
  // Several nodes on one page log (page_log/nodes.ts).
  /** Another node's leader holds the page log's writer role with a live lease: a second leader is refused. */
  LeaderActive: 'LEADER_ACTIVE',
  /** A newer term took the writer role: the fenced leader's puts, checkpoints and prunes are refused. */
  Fenced: 'FENCED',
  /** A write to a shared table, or a shared checkpoint, on a node that is not the leader (a follower). */
  NotLeader: 'NOT_LEADER',
  /** A checkpoint id that names no completion record: never one, or pruned. */
  CheckpointNotFound: 'CHECKPOINT_NOT_FOUND',
  // Journal (write-ahead log of local tables).
  /** A journal file is corrupt or truncated before its end: recovery refuses to guess. */
  LogCorrupt: 'LOG_CORRUPT',
  /** A journal file belongs to another home. */
  LogMismatch: 'LOG_MISMATCH',
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

/**
 * What an error says about the stored data. Every tool exit code and server reply that tells
 * "damaged" from "could not run" derives from this one table, so that they never disagree.
 */
export const ErrorClass = {
  /** The stored bytes are damaged or contradict each other: the home is not sound. */
  Corruption: 'corruption',
  /**
   * The call could not run, and says nothing against the stored data: a caller's mistake (a bad
   * argument, an unknown table), the state of the process (closed, read-only, busy), the
   * environment (a missing file, an I/O failure, a failing key provider), or a newer format.
   */
  CouldNotRun: 'could-not-run',
} as const;

export type ErrorClassValue = (typeof ErrorClass)[keyof typeof ErrorClass];

/** The class of every code. A new code must be added here, or the build fails. */
const errorClassOfCode: Record<ErrorCodeValue, ErrorClassValue> = {
  [ErrorCode.FormatInvalid]: ErrorClass.Corruption,
  [ErrorCode.FormatTruncated]: ErrorClass.Corruption,
  [ErrorCode.ChecksumMismatch]: ErrorClass.Corruption,
  [ErrorCode.Corruption]: ErrorClass.Corruption,
  [ErrorCode.ConfigInvalid]: ErrorClass.CouldNotRun,
  [ErrorCode.ConfigUnknownKey]: ErrorClass.CouldNotRun,
  [ErrorCode.NotFound]: ErrorClass.CouldNotRun,
  [ErrorCode.AlreadyExists]: ErrorClass.CouldNotRun,
  [ErrorCode.InvalidArgument]: ErrorClass.CouldNotRun,
  [ErrorCode.TypeMismatch]: ErrorClass.CouldNotRun,
  [ErrorCode.ReservedId]: ErrorClass.CouldNotRun,
  [ErrorCode.IdCollision]: ErrorClass.CouldNotRun,
  [ErrorCode.Closed]: ErrorClass.CouldNotRun,
  [ErrorCode.ReadOnly]: ErrorClass.CouldNotRun,
  [ErrorCode.Busy]: ErrorClass.CouldNotRun,
  [ErrorCode.MissingFile]: ErrorClass.CouldNotRun,
  [ErrorCode.Io]: ErrorClass.CouldNotRun,
  [ErrorCode.PageLog]: ErrorClass.CouldNotRun,
  // The turtle lost its metadata checkpoint while the home holds data: opening it would serve an empty database.
  [ErrorCode.MetadataCheckpointMissing]: ErrorClass.Corruption,
  // The environment, not the stored data: the storage vanished or filled while the process ran.
  [ErrorCode.StorageReplaced]: ErrorClass.CouldNotRun,
  [ErrorCode.NoSpace]: ErrorClass.CouldNotRun,
  [ErrorCode.LogCorrupt]: ErrorClass.Corruption,
  // A journal of another home: replaying it would write another database's records.
  [ErrorCode.LogMismatch]: ErrorClass.Corruption,
  // A home and a page log that are not a pair: reading one as the other's would serve wrong data.
  [ErrorCode.PageLogMismatch]: ErrorClass.Corruption,
  [ErrorCode.CheckpointMetadataCorrupt]: ErrorClass.Corruption,
  [ErrorCode.StoreUnavailable]: ErrorClass.CouldNotRun,
  [ErrorCode.StoreInvalid]: ErrorClass.CouldNotRun,
  // Like a newer format: sound, but not readable by this engine.
  [ErrorCode.StoreSchemaUnknown]: ErrorClass.CouldNotRun,
  // Roles and fencing are the state of the cluster, never damage.
  [ErrorCode.LeaderActive]: ErrorClass.CouldNotRun,
  [ErrorCode.Fenced]: ErrorClass.CouldNotRun,
  [ErrorCode.NotLeader]: ErrorClass.CouldNotRun,
  [ErrorCode.CheckpointNotFound]: ErrorClass.CouldNotRun,
  [ErrorCode.KeyProvider]: ErrorClass.CouldNotRun,
  [ErrorCode.KeyPageInvalid]: ErrorClass.Corruption,
  [ErrorCode.KeyPageChecksum]: ErrorClass.Corruption,
  // Written by a newer engine: sound, but not readable by this one.
  [ErrorCode.KeyPageUnsupported]: ErrorClass.CouldNotRun,
  [ErrorCode.Repair]: ErrorClass.CouldNotRun,
};

/** The class of an error code; an unknown code could not run. */
export function errorClassOf(code: string): ErrorClassValue {
  return (errorClassOfCode as Record<string, ErrorClassValue | undefined>)[code] ?? ErrorClass.CouldNotRun;
}

/** True when `code` (or an `EngineError`'s code) says the stored data is damaged. */
export function isCorruption(codeOrError: string | EngineError): boolean {
  return errorClassOf(typeof codeOrError === 'string' ? codeOrError : codeOrError.code) === ErrorClass.Corruption;
}

/** The file-system error code (`ENOSPC`, `EIO`...) behind `error`: its own or one of its causes'. */
export function systemErrorCode(error: unknown): string | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 8; current = current.cause, depth += 1) {
    const code = (current as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code;
  }
  return undefined;
}

/** True when `error` comes from a full file system or an exhausted quota (`NO_SPACE`). */
export function isDiskFull(error: unknown): boolean {
  const code = systemErrorCode(error);
  return code === 'ENOSPC' || code === 'EDQUOT';
}

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
