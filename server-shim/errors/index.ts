/**
 * MongoDB's error codes as the server reports them, and the error class commands throw.
 *
 * A command that fails throws `CommandError`; the dispatcher turns it into
 * `{ok: 0, errmsg, code, codeName}` exactly like mongod. Codes are MongoDB's, from
 * `src/mongo/base/error_codes.yml`. Assertion codes that have no name there (40415, 40324, ...)
 * are reported by mongod with the code name `Location<code>`, and so they are here.
 */

/** Named codes, by MongoDB's code name. */
export const ErrorCodes = {
  InternalError: 1,
  BadValue: 2,
  NoSuchKey: 4,
  FailedToParse: 9,
  Unauthorized: 13,
  TypeMismatch: 14,
  Overflow: 15,
  InvalidLength: 16,
  ProtocolError: 17,
  IllegalOperation: 20,
  InvalidBSON: 22,
  NamespaceNotFound: 26,
  PathNotViable: 28,
  InvalidPath: 30,
  ConflictingUpdateOperators: 40,
  CursorNotFound: 43,
  MaxTimeMSExpired: 50,
  NamespaceExists: 48,
  DollarPrefixedFieldName: 52,
  InvalidIdField: 53,
  EmptyFieldName: 56,
  WriteConcernFailed: 64,
  CommandNotFound: 59,
  ImmutableField: 66,
  InvalidOptions: 72,
  InvalidNamespace: 73,
  NoReplicationEnabled: 76,
  UnknownReplWriteConcern: 79,
  ShutdownInProgress: 91,
  OperationFailed: 96,
  DBPathInUse: 98,
  UnsatisfiableWriteConcern: 100,
  CommandFailed: 125,
  ExceededMemoryLimit: 146,
  InvalidPipelineOperator: 168,
  ClusterTimeFailsRateLimiter: 209,
  IllegalOpMsgFlag: 223,
  ChecksumMismatch: 288,
  DataCorruptionDetected: 301,
  UnsupportedOpQueryCommand: 352,
  BSONObjectTooLarge: 10334,
  DuplicateKey: 11000,
  InterruptedAtShutdown: 11600,
  NotWritablePrimary: 10107,
  OutOfDiskSpace: 14031,
} as const;

/** Unnamed assertion codes mongod raises for the same mistakes (code name `Location<code>`). */
export const LocationCodes = {
  /** "BSON field 'insert.documents' is missing but a required field". */
  MissingRequiredField: 40414,
  /** "BSON field 'find.foo' is an unknown field." */
  UnknownField: 40415,
  /** "Unrecognized pipeline stage name: '$foo'". */
  /** A pipeline stage that is not an object of exactly one field. */
  PipelineStageNotOneField: 40323,
  UnrecognizedPipelineStage: 40324,
  /** "OP_MSG requests require a $db argument". */
  OpMsgRequiresDatabase: 40571,
  /** "Cannot do exclusion on field x in inclusion projection". */
  ExclusionInInclusionProjection: 31254,
  /** "Cannot do inclusion on field x in exclusion projection". */
  InclusionInExclusionProjection: 31253,
  /** "BSON field 'limit' value must be >= 0". */
  NegativeValue: 51024,
  /** "$sort key ordering must be 1 (for ascending) or -1 (for descending)". */
  BadSortOrder: 15975,
  /** "a group specification must include an _id". */
  GroupWithoutId: 15955,
  /** "unknown group operator '$foo'". */
  UnknownGroupOperator: 15952,
  /** "the limit must be positive". */
  NonPositiveLimit: 15958,
  /** "$skip/$limit stage value must be a number". */
  StageValueNotNumber: 15972,
  /** "the $count field must be a non-empty string" and related $count errors. */
  BadCountField: 40156,
  /** "The existing backup cursor must be closed before $backupCursor can succeed." */
  BackupCursorOpen: 50886,
  /** "The existing backup cursor must be closed before fsyncLock can succeed." */
  BackupCursorOpenAtFsyncLock: 50884,
  /** "The node is currently fsyncLocked." ($backupCursor under an fsync lock) */
  FsyncLockedAtBackupCursor: 50887,
  /** "Cannot extend backup cursor, backupId was not found." */
  BackupIdNotFound: 51011,
} as const;

const namesByCode: ReadonlyMap<number, string> = new Map(
  Object.entries(ErrorCodes).map(([name, code]) => [code, name] as [number, string]),
);

/** mongod's `codeName` for `code`. */
export function codeName(code: number): string {
  return namesByCode.get(code) ?? `Location${code}`;
}

/** A command failure, reported as `{ok: 0, errmsg, code, codeName, ...extra}`. */
export class CommandError extends Error {
  readonly code: number;
  /** Extra reply fields mongod attaches to some errors (e.g. `keyPattern`, `keyValue`). */
  readonly extra: Record<string, unknown>;

  constructor(code: number, message: string, extra: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CommandError';
    this.code = code;
    this.extra = extra;
  }

  get codeName(): string {
    return codeName(this.code);
  }

  /** The error reply document. */
  toReply(): Record<string, unknown> {
    return { ok: 0, errmsg: this.message, code: this.code, codeName: this.codeName, ...this.extra };
  }
}

/** Shorthand for `new CommandError(...)` in expression positions (`?? fail(...)`). */
export function fail(code: number, message: string, extra?: Record<string, unknown>): never {
  throw new CommandError(code, message, extra);
}
