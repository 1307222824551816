import { Binary, Int32, Long, Timestamp, UUID } from 'bson';
import { CommandError, ErrorCodes, LocationCodes } from '../errors/index.js';
import { compilePipeline } from '../query/index.js';
import { bigIntToTimestamp, timestampToBigInt, type BackupFileEntry } from '../storage/index.js';
import { isDocument, isNumeric, toNumber, typeName, type Document } from '../values/index.js';
import { sessionId } from './arguments.js';
import type { CommandContext, CommandRequest } from './context.js';
import { cursorBatchSize, firstBatchReply } from './execution.js';

/** The backup stages, which run only as the first stage of a collection-less `{aggregate: 1}`. */
export const backupStageNames = ['$backupCursor', '$backupCursorExtend'] as const;

/** The default block size of incremental backups, in MB (reported in `metadata.blockSize`). */
const defaultBlockSizeMB = 16;

/** True when the pipeline starts with `$backupCursor` or `$backupCursorExtend`. */
export function isBackupPipeline(stages: unknown[]): boolean {
  const first = stages[0];
  return isDocument(first) && backupStageNames.some((name) => Object.hasOwn(first, name));
}

/**
 * Runs a pipeline that starts with `$backupCursor` or `$backupCursorExtend` (later stages
 * run over its documents).
 *
 * `$backupCursor` pins the last checkpoint and returns `{metadata: {backupId, dbpath,
 * oplogStart, oplogEnd, checkpointTimestamp, disableIncrementalBackup, incrementalBackup,
 * blockSize}}` then one `{filename, fileSize, required, ns, uuid}` per file to copy (`ns` and
 * `uuid` name a collection's file, empty for others). The cursor is tailable: it stays open
 * (later batches are empty) and the checkpoint pinned until it is killed or times out. Copy the
 * files meanwhile, `fileSize` bytes each, to the same paths under the new dbpath.
 *
 * `$backupCursorExtend: {backupId, timestamp}` waits until writes reached `timestamp` and are
 * durable, and returns `{filename, fileSize}` for each journal file to copy as well.
 */
export async function runBackupPipeline(request: CommandRequest, context: CommandContext, stages: unknown[]): Promise<Document> {
  if (!isNumeric(request.argument)) {
    throw new CommandError(
      ErrorCodes.InvalidNamespace,
      `${backupStageName(stages[0])} cannot be executed on an aggregation against a collection. Run the aggregation against the database instead.`,
    );
  }
  for (const stage of stages.slice(1)) {
    if (isBackupPipeline([stage])) throw new CommandError(ErrorCodes.InvalidOptions, `${backupStageName(stage)} is only valid as the first stage in a pipeline`);
  }
  const rest = compilePipeline(stages.slice(1), { now: new Date() });
  const ns = `${request.db}.$cmd.aggregate`;
  const stage = stages[0] as Document;
  const options = { batchSize: cursorBatchSize(request.body.cursor), sessionId: sessionId(request) };
  if (stage.$backupCursor !== undefined) {
    const parsed = parseBackupCursorOptions(stage.$backupCursor);
    const backup = await context.storage.openBackup();
    const metadata: Document = { backupId: backup.backupId, dbpath: backup.dbpath };
    if (backup.oplogStart !== undefined && backup.oplogEnd !== undefined) {
      metadata.oplogStart = backup.oplogStart;
      metadata.oplogEnd = backup.oplogEnd;
    }
    metadata.checkpointTimestamp = bigIntToTimestamp(backup.checkpointTimestamp);
    metadata.disableIncrementalBackup = false;
    metadata.incrementalBackup = false;
    metadata.blockSize = new Int32(parsed.blockSize);
    const documents: Document[] = [{ metadata }, ...backup.files.map(fileDocument)];
    return firstBatchReply(context, ns, rest(documents), {
      ...options,
      keepOpenWhenExhausted: true,
      onClose: () => context.storage.closeBackup(backup.backupId),
    });
  }
  const { backupId, timestamp } = parseExtendOptions(stage.$backupCursorExtend);
  const files = await context.storage.extendBackup(backupId, timestampToBigInt(timestamp));
  return firstBatchReply(context, ns, rest(files.map(fileDocument)), options);
}

/** A file document as mongod's backup cursor returns it: `fileSize` a 64-bit integer. */
function fileDocument(file: BackupFileEntry): Document {
  return { filename: file.filename, fileSize: Long.fromNumber(file.fileSize), required: file.required ?? true, ns: file.ns ?? '', uuid: file.uuid ?? '' };
}

function backupStageName(stage: unknown): string {
  return isDocument(stage) ? (Object.keys(stage)[0] ?? '$backupCursor') : '$backupCursor';
}

function unknownField(stage: string, field: string): CommandError {
  return new CommandError(LocationCodes.UnknownField, `BSON field '${stage}.${field}' is an unknown field.`);
}

function wrongType(stage: string, field: string, value: unknown, expected: string): CommandError {
  return new CommandError(ErrorCodes.TypeMismatch, `BSON field '${stage}.${field}' is the wrong type '${typeName(value)}', expected type '${expected}'`);
}

/**
 * `$backupCursor`'s options. Full backups only: `incrementalBackup: true` and
 * `disableIncrementalBackup: true` are refused (IllegalOperation); `thisBackupName` and
 * `srcBackupName`, which only incremental backups use, are InvalidOptions as in mongod.
 */
function parseBackupCursorOptions(value: unknown): { blockSize: number } {
  if (!isDocument(value)) throw new CommandError(ErrorCodes.FailedToParse, `$backupCursor value must be an object. Found: ${typeName(value)}`);
  let blockSize = defaultBlockSizeMB;
  for (const [field, option] of Object.entries(value)) {
    switch (field) {
      case 'incrementalBackup':
      case 'disableIncrementalBackup':
        if (typeof option !== 'boolean') throw wrongType('$backupCursor', field, option, 'bool');
        if (option) throw new CommandError(ErrorCodes.IllegalOperation, `${field}: true is not supported by this server: only full backups`);
        break;
      case 'blockSize':
        if (!isNumeric(option) || !Number.isInteger(toNumber(option)) || toNumber(option) < 1) {
          throw new CommandError(ErrorCodes.BadValue, `blockSize must be a positive integer, found: ${String(option)}`);
        }
        blockSize = toNumber(option);
        break;
      case 'thisBackupName':
      case 'srcBackupName':
        // Only incremental backups name themselves, and those are refused above or here.
        throw new CommandError(ErrorCodes.InvalidOptions, "Cannot have 'thisBackupName' or 'srcBackupName' when incrementalBackup=false");
      default:
        throw unknownField('$backupCursor', field);
    }
  }
  return { blockSize };
}

/** `$backupCursorExtend`'s `{backupId: UUID, timestamp: Timestamp}`, both required. */
function parseExtendOptions(value: unknown): { backupId: UUID; timestamp: Timestamp } {
  if (!isDocument(value)) throw new CommandError(ErrorCodes.FailedToParse, `$backupCursorExtend parameters must be specified in an object, found: ${typeName(value)}`);
  for (const field of Object.keys(value)) if (field !== 'backupId' && field !== 'timestamp') throw unknownField('$backupCursorExtend', field);
  const id = value.backupId;
  let backupId: UUID;
  if (id instanceof UUID) backupId = id;
  else if (id instanceof Binary && id.sub_type === Binary.SUBTYPE_UUID) backupId = new UUID(id.buffer);
  else if (id === undefined) throw new CommandError(LocationCodes.MissingRequiredField, "BSON field '$backupCursorExtend.backupId' is missing but a required field");
  else throw wrongType('$backupCursorExtend', 'backupId', id, 'uuid');
  const timestamp = value.timestamp;
  if (timestamp === undefined) throw new CommandError(LocationCodes.MissingRequiredField, "BSON field '$backupCursorExtend.timestamp' is missing but a required field");
  if (!(timestamp instanceof Timestamp)) throw wrongType('$backupCursorExtend', 'timestamp', timestamp, 'timestamp');
  return { backupId, timestamp };
}
