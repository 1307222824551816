import { ChecksumError, ErrorCode, FormatError } from '../errors.js';
import { checksum, checksumWithZeroedField } from './checksum.js';
import { packedIntSize, packedUintSize, readPackedIntBig, readPackedUint, readPackedUintBig, writePackedInt, writePackedUint } from './packed.js';

/**
 * WiredTiger's write-ahead log (`WiredTigerLog.NNNNNNNNNN` files), encode and decode only.
 * Every record starts with a 16-byte header (length, CRC-32C, flags, uncompressed length) and
 * is padded to a multiple of `LOG_ALIGN`; its body starts with the packed record type. A file
 * begins with the descriptor record (magic, version, configured file size) at offset 0 and a
 * system record holding the previous file's end LSN at offset 128. All integers of the header
 * and descriptor are little-endian; everything in a body is WiredTiger-packed.
 */

/** Records start at and are padded to multiples of this. */
export const LOG_ALIGN = 128;
export const LOG_RECORD_HEADER_SIZE = 16;
export const LOG_MAGIC = 0x101064;
export const LOG_VERSION = 5;
/** The file name prefix; the number follows, zero-padded to ten digits. */
export const LOG_FILE_PREFIX = 'WiredTigerLog.';
/**
 * WiredTiger sets the last padding byte of a record to this when more than one byte of padding
 * follows the body, so a complete write is told from a torn one.
 */
export const LOG_DEBUG_BYTE = 0xab;
/** Where the first record after the descriptor and the previous-LSN system record goes. */
export const LOG_FIRST_RECORD_OFFSET = 2 * LOG_ALIGN;
/** Largest record this engine accepts when reading (WiredTiger's own limit is 4 GB). */
export const LOG_RECORD_MAX = 1 << 30;

/** Record types (`WT_LOGREC_*`). */
export const LogRecordType = { Checkpoint: 0, Commit: 1, FileSync: 2, Message: 3, System: 4 } as const;
/** Operation types (`WT_LOGOP_*`); diagnostic ones carry the 0x80000000 "ignore" bit. */
export const LogOpType = {
  RowPut: 4,
  RowRemove: 5,
  CheckpointStart: 7,
  PrevLsn: 8,
  TxnTimestamp: 0x80000000 + 11,
} as const;

/** A log sequence number: file number and byte offset of a record. */
export interface Lsn {
  file: number;
  offset: number;
}

/** Orders two LSNs: negative, zero or positive. */
export function compareLsn(a: Lsn, b: Lsn): number {
  return a.file !== b.file ? a.file - b.file : a.offset - b.offset;
}

/** `(file,offset)`, as WiredTiger writes `checkpoint_lsn`. */
export function formatLsn(lsn: Lsn): string {
  return `(${lsn.file},${lsn.offset})`;
}

/** Parses `(file,offset)`; undefined for anything else. */
export function parseLsn(text: string): Lsn | undefined {
  const match = /^\((\d+),(\d+)\)$/.exec(text.trim());
  return match ? { file: Number(match[1]), offset: Number(match[2]) } : undefined;
}

/** `WiredTigerLog.0000000001` for 1. */
export function logFileName(file: number): string {
  return LOG_FILE_PREFIX + String(file).padStart(10, '0');
}

/** The file number of a log file name, or undefined when it is not one. */
export function logFileNumber(name: string): number | undefined {
  const match = /^WiredTigerLog\.(\d{10})$/.exec(name);
  return match ? Number(match[1]) : undefined;
}

/** One operation of a commit or system record. */
export type LogOp =
  | { kind: 'put'; fileId: number; key: Buffer; value: Buffer }
  | { kind: 'remove'; fileId: number; key: Buffer }
  | { kind: 'timestamp'; timeSec: bigint; timeNsec: bigint; commitTs: bigint; durableTs: bigint; firstCommitTs: bigint; prepareTs: bigint; readTs: bigint }
  | { kind: 'prevLsn'; lsn: Lsn }
  | { kind: 'checkpointStart' }
  | { kind: 'unknown'; type: number; bytes: Buffer };

/** A decoded record body. */
export type LogRecordBody =
  | { type: 'commit'; txnId: bigint; ops: LogOp[] }
  | { type: 'system'; ops: LogOp[] }
  | { type: 'checkpoint'; checkpointLsn: Lsn; snapshotCount: number }
  | { type: 'message'; message: string }
  | { type: 'fileSync'; fileId: number; start: number }
  | { type: 'descriptor'; magic: number; version: number; logSize: bigint };

/** The fixed header of a record. */
export interface LogRecordHeader {
  len: number;
  checksum: number;
  flags: number;
  memLen: number;
}

/** Reads the 16-byte header at `offset`. */
export function readLogRecordHeader(bytes: Buffer, offset = 0): LogRecordHeader {
  if (bytes.length < offset + LOG_RECORD_HEADER_SIZE) {
    throw new FormatError('log record header runs past the end', { offset }, ErrorCode.FormatTruncated);
  }
  return {
    len: bytes.readUInt32LE(offset),
    checksum: bytes.readUInt32LE(offset + 4),
    flags: bytes.readUInt16LE(offset + 8),
    memLen: bytes.readUInt32LE(offset + 12),
  };
}

/** True when a header's length is one a valid record could have. */
export function plausibleRecordLength(len: number): boolean {
  return len >= LOG_RECORD_HEADER_SIZE && len % LOG_ALIGN === 0 && len <= LOG_RECORD_MAX;
}

/**
 * Seals a record body: header, body, zero padding to `LOG_ALIGN` (the last padding byte set to
 * `LOG_DEBUG_BYTE` when more than one byte of padding follows), and the CRC-32C of all of it
 * computed with the checksum field zero.
 */
export function sealLogRecord(body: Buffer, options: { debugByte?: boolean } = {}): Buffer {
  const size = LOG_RECORD_HEADER_SIZE + body.length;
  // Not zero-filled at allocation: the body is copied in, then the header and padding are zeroed.
  const record = Buffer.allocUnsafe(alignedRecordLength(size));
  body.copy(record, LOG_RECORD_HEADER_SIZE);
  return finishRecord(record, size, options.debugByte ?? true);
}

function alignedRecordLength(size: number): number {
  return Math.ceil(size / LOG_ALIGN) * LOG_ALIGN;
}

/**
 * Completes a record whose body (`size` bytes with the header) is in place: zeroes the header
 * and the padding, sets the debug byte, the length and the checksum.
 */
function finishRecord(record: Buffer, size: number, debugByte: boolean): Buffer {
  const len = record.length;
  record.fill(0, 0, LOG_RECORD_HEADER_SIZE);
  record.fill(0, size);
  if (debugByte && len - size > 1) record[len - 1] = LOG_DEBUG_BYTE;
  record.writeUInt32LE(len, 0);
  // The checksum field is still zero here, as the checksum is computed.
  record.writeUInt32LE(checksum(record), 4);
  return record;
}

/**
 * Checks a whole record (exactly `len` bytes) and returns its body (with its padding). Raises
 * `ChecksumError` when the checksum does not match and `FormatError` for a length or flag this
 * engine cannot read; `offset` goes into the location.
 */
export function checkLogRecord(record: Buffer, offset = 0): Buffer {
  const header = readLogRecordHeader(record);
  if (!plausibleRecordLength(header.len) || header.len !== record.length) {
    throw new FormatError(`log record length ${header.len} is not a positive multiple of ${LOG_ALIGN}`, { offset, actual: header.len });
  }
  const actual = checksumWithZeroedField(record, 4, header.len);
  if (actual !== header.checksum) {
    throw new ChecksumError('log record checksum mismatch', { offset, expected: header.checksum, actual });
  }
  if (header.flags !== 0 || header.memLen !== 0) {
    throw new FormatError(`log record flags 0x${header.flags.toString(16)} (compressed or encrypted records are not supported)`, { offset });
  }
  return record.subarray(LOG_RECORD_HEADER_SIZE);
}

/** The descriptor record at offset 0 of every log file: 128 bytes. */
export function encodeLogDescriptor(logSize: number | bigint): Buffer {
  const record = Buffer.alloc(LOG_ALIGN);
  record.writeUInt32LE(LOG_MAGIC, LOG_RECORD_HEADER_SIZE);
  record.writeUInt16LE(LOG_VERSION, LOG_RECORD_HEADER_SIZE + 4);
  record.writeBigUInt64LE(BigInt(logSize), LOG_RECORD_HEADER_SIZE + 8);
  record.writeUInt32LE(LOG_ALIGN, 0);
  record.writeUInt32LE(checksumWithZeroedField(record, 4, LOG_ALIGN), 4);
  return record;
}

/** Decodes the descriptor from a checked record body. */
export function decodeLogDescriptor(body: Buffer): { magic: number; version: number; logSize: bigint } {
  if (body.length < 16) throw new FormatError('log descriptor is truncated', { offset: 0 }, ErrorCode.FormatTruncated);
  return { magic: body.readUInt32LE(0), version: body.readUInt16LE(4), logSize: body.readBigUInt64LE(8) };
}

/** Collects packed unsigned and signed integers and byte strings, then writes them into one buffer. */
class BodyWriter {
  private readonly parts: Array<{ kind: 'uint' | 'int'; value: number | bigint } | Buffer> = [];

  uint(value: number | bigint): this {
    this.parts.push({ kind: 'uint', value });
    return this;
  }

  int(value: bigint): this {
    this.parts.push({ kind: 'int', value });
    return this;
  }

  bytes(value: Buffer): this {
    this.parts.push(value);
    return this;
  }

  toBuffer(): Buffer {
    let size = 0;
    for (const part of this.parts) {
      size += Buffer.isBuffer(part) ? part.length : part.kind === 'uint' ? packedUintSize(part.value) : packedIntSize(part.value);
    }
    const out = Buffer.allocUnsafe(size);
    let at = 0;
    for (const part of this.parts) {
      if (Buffer.isBuffer(part)) at += part.copy(out, at);
      else at += part.kind === 'uint' ? writePackedUint(out, at, part.value) : writePackedInt(out, at, part.value);
    }
    return out;
  }
}

function encodeOpFields(op: LogOp): { type: number; fields: Buffer } {
  const w = new BodyWriter();
  switch (op.kind) {
    case 'put':
      return { type: LogOpType.RowPut, fields: w.uint(op.fileId).uint(op.key.length).bytes(op.key).bytes(op.value).toBuffer() };
    case 'remove':
      return { type: LogOpType.RowRemove, fields: w.uint(op.fileId).bytes(op.key).toBuffer() };
    case 'timestamp':
      return {
        type: LogOpType.TxnTimestamp,
        fields: w.uint(op.timeSec).uint(op.timeNsec).uint(op.commitTs).uint(op.durableTs).uint(op.firstCommitTs).uint(op.prepareTs).uint(op.readTs).toBuffer(),
      };
    case 'prevLsn':
      return { type: LogOpType.PrevLsn, fields: w.uint(op.lsn.file).uint(op.lsn.offset).toBuffer() };
    case 'checkpointStart':
      return { type: LogOpType.CheckpointStart, fields: Buffer.alloc(0) };
    case 'unknown':
      return { type: op.type, fields: op.bytes };
  }
}

/**
 * One operation: packed type, packed size of the whole operation (type and size fields
 * included, the size chosen so that it counts its own packed length), then the fields.
 */
export function encodeLogOp(op: LogOp): Buffer {
  const { type, fields } = encodeOpFields(op);
  const typeSize = packedUintSize(type);
  let size = typeSize + 1 + fields.length;
  while (typeSize + packedUintSize(size) + fields.length !== size) size = typeSize + packedUintSize(size) + fields.length;
  return new BodyWriter().uint(type).uint(size).bytes(fields).toBuffer();
}

/** Size of an operation whose type and fields take `typeSize` and `fieldsLength` bytes (see `encodeLogOp`). */
function logOpSize(typeSize: number, fieldsLength: number): number {
  let size = typeSize + 1 + fieldsLength;
  while (typeSize + packedUintSize(size) + fieldsLength !== size) size = typeSize + packedUintSize(size) + fieldsLength;
  return size;
}

/**
 * A row write as a commit record logs it: a row put, or a row remove when `value` is null, in
 * the file whose id is `table.id`. A transaction's own write objects are logged as they are.
 */
export interface RowWrite {
  readonly table: { readonly id: number };
  readonly key: Buffer;
  readonly value: Buffer | null;
}

/** A commit record's body sized, before it is written (see `writeCommitBody`). */
interface CommitBodyPlan {
  head: Buffer;
  size: number;
  /** Encoded operations other than row puts and removes, by index. */
  others: Map<number, Buffer> | undefined;
}

const ROW_PUT_TYPE_SIZE = packedUintSize(LogOpType.RowPut);
const ROW_REMOVE_TYPE_SIZE = packedUintSize(LogOpType.RowRemove);

function rowPutSize(fileId: number, key: Buffer, value: Buffer): number {
  return logOpSize(ROW_PUT_TYPE_SIZE, packedUintSize(fileId) + packedUintSize(key.length) + key.length + value.length);
}

function rowRemoveSize(fileId: number, key: Buffer): number {
  return logOpSize(ROW_REMOVE_TYPE_SIZE, packedUintSize(fileId) + key.length);
}

function planCommitBody(txnId: bigint, ops: readonly LogOp[], rows: readonly RowWrite[]): CommitBodyPlan {
  const head = new BodyWriter().uint(LogRecordType.Commit).int(txnId).toBuffer();
  let size = head.length;
  let others: Map<number, Buffer> | undefined;
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    if (op.kind === 'put') {
      size += rowPutSize(op.fileId, op.key, op.value);
    } else if (op.kind === 'remove') {
      size += rowRemoveSize(op.fileId, op.key);
    } else {
      const encoded = encodeLogOp(op);
      (others ??= new Map()).set(i, encoded);
      size += encoded.length;
    }
  }
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    size += row.value === null ? rowRemoveSize(row.table.id, row.key) : rowPutSize(row.table.id, row.key, row.value);
  }
  return { head, size, others };
}

/** Writes a row put at `at` of `out`, the bytes `encodeLogOp` gives; returns the position after it. */
function writeRowPut(out: Buffer, at: number, fileId: number, key: Buffer, value: Buffer): number {
  at += writePackedUint(out, at, LogOpType.RowPut);
  at += writePackedUint(out, at, rowPutSize(fileId, key, value));
  at += writePackedUint(out, at, fileId);
  at += writePackedUint(out, at, key.length);
  // `set` rather than `copy`: cheaper for the small keys and values most records hold.
  out.set(key, at);
  at += key.length;
  out.set(value, at);
  return at + value.length;
}

/** Writes a row remove at `at` of `out`, the bytes `encodeLogOp` gives; returns the position after it. */
function writeRowRemove(out: Buffer, at: number, fileId: number, key: Buffer): number {
  at += writePackedUint(out, at, LogOpType.RowRemove);
  at += writePackedUint(out, at, rowRemoveSize(fileId, key));
  at += writePackedUint(out, at, fileId);
  out.set(key, at);
  return at + key.length;
}

/**
 * Writes a planned commit body at `start` of `out`: `ops`, then `rows`. Row puts and removes
 * (nearly every operation) go straight into it, with no buffer per field.
 */
function writeCommitBody(out: Buffer, start: number, ops: readonly LogOp[], rows: readonly RowWrite[], plan: CommitBodyPlan): void {
  let at = start + plan.head.copy(out, start);
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    if (op.kind === 'put') at = writeRowPut(out, at, op.fileId, op.key, op.value);
    else if (op.kind === 'remove') at = writeRowRemove(out, at, op.fileId, op.key);
    else at += plan.others!.get(i)!.copy(out, at);
  }
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    at = row.value === null ? writeRowRemove(out, at, row.table.id, row.key) : writeRowPut(out, at, row.table.id, row.key, row.value);
  }
  if (at - start !== plan.size) throw new Error(`commit record body: wrote ${at - start} bytes of ${plan.size}`);
}

/** A commit record's body: type, transaction id (packed signed), operations. */
export function encodeCommitBody(txnId: bigint, ops: readonly LogOp[]): Buffer {
  const plan = planCommitBody(txnId, ops, []);
  const out = Buffer.allocUnsafe(plan.size);
  writeCommitBody(out, 0, ops, [], plan);
  return out;
}

/**
 * A whole commit record of `ops` then `rows`: the bytes of `sealLogRecord(encodeCommitBody(txnId,
 * [...ops, ...rows as operations]))`, written in one buffer of the record's length that `allocate`
 * gives. A journal writing the record at once can hand the same buffer out for every record
 * instead of allocating two per commit.
 */
export function encodeCommitRecord(txnId: bigint, ops: readonly LogOp[], rows: readonly RowWrite[] = [], allocate: (length: number) => Buffer = Buffer.allocUnsafe): Buffer {
  const plan = planCommitBody(txnId, ops, rows);
  const size = LOG_RECORD_HEADER_SIZE + plan.size;
  const record = allocate(alignedRecordLength(size));
  writeCommitBody(record, LOG_RECORD_HEADER_SIZE, ops, rows, plan);
  return finishRecord(record, size, true);
}

/** A system record's body (the previous-LSN record of a new file). */
export function encodeSystemBody(ops: LogOp[]): Buffer {
  const w = new BodyWriter().uint(LogRecordType.System);
  for (const op of ops) w.bytes(encodeLogOp(op));
  return w.toBuffer();
}

/** A message record's body: type, NUL-terminated text. */
export function encodeMessageBody(message: string): Buffer {
  return new BodyWriter().uint(LogRecordType.Message).bytes(Buffer.from(message + '\0', 'utf8')).toBuffer();
}

/** A checkpoint record's body: type, checkpoint LSN, snapshot count 0, empty snapshot. */
export function encodeCheckpointBody(checkpointLsn: Lsn): Buffer {
  return new BodyWriter().uint(LogRecordType.Checkpoint).uint(checkpointLsn.file).uint(checkpointLsn.offset).uint(0).toBuffer();
}

function truncatedAt(offset: number, what: string): FormatError {
  return new FormatError(`log ${what} runs past the end of its record`, { offset }, ErrorCode.FormatTruncated);
}

/** Decodes the operations from `start` to the first zero byte (padding) or the end. */
function decodeOps(body: Buffer, start: number, recordOffset: number): LogOp[] {
  const ops: LogOp[] = [];
  let p = start;
  while (p < body.length && body[p] !== 0) {
    const [type, typeLen] = readPackedUint(body, p);
    const [size, sizeLen] = readPackedUint(body, p + typeLen);
    const fieldsStart = p + typeLen + sizeLen;
    const end = p + size;
    if (size < typeLen + sizeLen || end > body.length) throw truncatedAt(recordOffset + LOG_RECORD_HEADER_SIZE + p, `operation of type ${type}`);
    const fields = body.subarray(fieldsStart, end);
    ops.push(decodeOp(type, fields, recordOffset + LOG_RECORD_HEADER_SIZE + fieldsStart));
    p = end;
  }
  return ops;
}

function decodeOp(type: number, fields: Buffer, offset: number): LogOp {
  let q = 0;
  const uint = (): number => {
    const [v, n] = readPackedUint(fields, q);
    q += n;
    return v;
  };
  const big = (): bigint => {
    const [v, n] = readPackedUintBig(fields, q);
    q += n;
    return v;
  };
  try {
    switch (type) {
      case LogOpType.RowPut: {
        const fileId = uint();
        const keyLen = uint();
        if (q + keyLen > fields.length) throw truncatedAt(offset + q, 'row put key');
        const key = Buffer.from(fields.subarray(q, q + keyLen));
        return { kind: 'put', fileId, key, value: Buffer.from(fields.subarray(q + keyLen)) };
      }
      case LogOpType.RowRemove: {
        const fileId = uint();
        return { kind: 'remove', fileId, key: Buffer.from(fields.subarray(q)) };
      }
      case LogOpType.TxnTimestamp:
        return { kind: 'timestamp', timeSec: big(), timeNsec: big(), commitTs: big(), durableTs: big(), firstCommitTs: big(), prepareTs: big(), readTs: big() };
      case LogOpType.PrevLsn:
        return { kind: 'prevLsn', lsn: { file: uint(), offset: uint() } };
      case LogOpType.CheckpointStart:
        return { kind: 'checkpointStart' };
      default:
        return { kind: 'unknown', type, bytes: Buffer.from(fields) };
    }
  } catch (error) {
    if (error instanceof FormatError) throw new FormatError(`log operation of type ${type} does not decode: ${error.message}`, { offset }, error.code);
    throw error;
  }
}

/**
 * Decodes a checked record's body (as `checkLogRecord` returns it). `recordOffset` is the
 * record's offset in its file, for error locations. The descriptor is recognized by offset 0.
 */
export function decodeLogRecordBody(body: Buffer, recordOffset: number): LogRecordBody {
  if (recordOffset === 0) return { type: 'descriptor', ...decodeLogDescriptor(body) };
  const [type, typeLen] = readPackedUint(body, 0);
  switch (type) {
    case LogRecordType.Commit: {
      const [txnId, n] = readPackedIntBig(body, typeLen);
      return { type: 'commit', txnId, ops: decodeOps(body, typeLen + n, recordOffset) };
    }
    case LogRecordType.System:
      return { type: 'system', ops: decodeOps(body, typeLen, recordOffset) };
    case LogRecordType.Checkpoint: {
      let p = typeLen;
      const [file, a] = readPackedUint(body, p);
      p += a;
      const [offset, b] = readPackedUint(body, p);
      p += b;
      const [snapshotCount] = readPackedUint(body, p);
      return { type: 'checkpoint', checkpointLsn: { file, offset }, snapshotCount };
    }
    case LogRecordType.Message: {
      const end = body.indexOf(0, typeLen);
      if (end < 0) throw truncatedAt(recordOffset, 'message');
      return { type: 'message', message: body.subarray(typeLen, end).toString('utf8') };
    }
    case LogRecordType.FileSync: {
      const [fileId, a] = readPackedUint(body, typeLen);
      const [start] = readPackedIntBig(body, typeLen + a);
      return { type: 'fileSync', fileId, start: Number(start) };
    }
    default:
      throw new FormatError(`unknown log record type ${type}`, { offset: recordOffset, actual: type });
  }
}
