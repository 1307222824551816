/**
 * The bytes the page log stores in LMDB: keys and values of its four named databases.
 *
 * Keys are big-endian so that LMDB's byte-wise key order is numeric order (LSN order, and
 * (table id, page id, LSN) order). Values are little-endian, like WiredTiger's on-disk formats.
 * Every value carries a CRC-32C so that a damaged record is reported with its location instead
 * of being handed to the engine. The layouts are drawn in README.md; keep the two in step.
 */
import { ErrorCode, PageLogError } from '../errors.js';
import { checksum, checksumWithZeroedField } from '../format/index.js';

/** Largest value a u32 field holds. */
export const MAX_U32 = 0xffff_ffff;

const TWO_TO_32 = 0x1_0000_0000;
/** The high word of a u64 must stay below this for the value to be a safe JavaScript integer. */
const MAX_SAFE_HIGH_WORD = 0x20_0000;

/** What a log entry records. */
export const RecordKind = {
  /** A page image: a base, or a delta when the put flags carry `PutFlags.Delta`. */
  Page: 1,
  /** The page stops existing from this LSN on. */
  Discard: 2,
  /** A checkpoint completion record; its body is in the `checkpoints` database. */
  Completion: 3,
} as const;

export type RecordKindValue = (typeof RecordKind)[keyof typeof RecordKind];

/** Key of the `log` and `checkpoints` databases: the LSN, u64 big-endian. */
export const LSN_KEY_SIZE = 8;
/** Key of the `pages` database: table id u32, page id u64, LSN u64, all big-endian. */
export const PAGE_KEY_SIZE = 20;
/** Value of the `log` database. */
export const LOG_ENTRY_SIZE = 48;
/** Fixed part of a value of the `checkpoints` database; the metadata text follows it. */
export const COMPLETION_HEADER_SIZE = 32;
/** Value of the `meta` database's format key: 24 bytes of fields, then their CRC-32C. */
export const FORMAT_RECORD_SIZE = 28;
/** Bytes of the log's identity in the format record. */
const IDENTITY_SIZE = 16;

/** Version written into log entries and completion records; readers reject other versions. */
export const RECORD_VERSION = 1;

/** "PALI" read as a little-endian u32: the first bytes of the format record. */
export const FORMAT_MAGIC = 0x494c_4150;
/** Version of the whole store layout, written once when the log is created. */
export const FORMAT_VERSION = 1;
/** Oldest layout version a reader of FORMAT_VERSION still understands. */
export const FORMAT_COMPATIBLE_VERSION = 1;
/** Key of the format record in the `meta` database. */
export const FORMAT_KEY = Buffer.from('format', 'ascii');

/** One record of the log, without the page image. */
export interface LogEntryFields {
  lsn: number;
  kind: RecordKindValue;
  /** 0 for a completion record. */
  tableId: number;
  /** 0 for a completion record. */
  pageId: number;
  /** For a page: the caller's backlink. For a discard: the LSN of the page's newest record. */
  backlinkLsn: number;
  /** For a page: the caller's base LSN. For a discard: the LSN of the discarded base. */
  baseLsn: number;
  flags: number;
  /** Image bytes for a page; 0 for a discard; body bytes for a completion record. */
  size: number;
  /** CRC-32C of the image (page) or of nothing (0, discard and completion). */
  imageChecksum: number;
}

/** Writes `value` (a non-negative safe integer) as a u64 at `offset`. */
function writeU64(target: Buffer, value: number, offset: number, bigEndian: boolean): void {
  const high = Math.floor(value / TWO_TO_32);
  const low = value >>> 0;
  if (bigEndian) {
    target.writeUInt32BE(high, offset);
    target.writeUInt32BE(low, offset + 4);
  } else {
    target.writeUInt32LE(low, offset);
    target.writeUInt32LE(high, offset + 4);
  }
}

/** Reads a u64 at `offset`; undefined when it does not fit a safe integer. */
function readU64(source: Buffer, offset: number, bigEndian: boolean): number | undefined {
  const high = bigEndian ? source.readUInt32BE(offset) : source.readUInt32LE(offset + 4);
  const low = bigEndian ? source.readUInt32BE(offset + 4) : source.readUInt32LE(offset);
  return high >= MAX_SAFE_HIGH_WORD ? undefined : high * TWO_TO_32 + low;
}

function corrupt(message: string, location: { tableId?: number; pageId?: number; lsn?: number }): PageLogError {
  return new PageLogError(message, location, ErrorCode.Corruption);
}

/** The key of `lsn` in the `log` and `checkpoints` databases. */
export function encodeLsnKey(lsn: number): Buffer {
  const key = Buffer.allocUnsafe(LSN_KEY_SIZE);
  writeU64(key, lsn, 0, true);
  return key;
}

export function decodeLsnKey(key: Buffer): number {
  const lsn = key.length === LSN_KEY_SIZE ? readU64(key, 0, true) : undefined;
  if (lsn === undefined) throw corrupt(`invalid LSN key ${key.toString('hex')}`, {});
  return lsn;
}

/** The key of one record of one page in the `pages` database. */
export function encodePageKey(tableId: number, pageId: number, lsn: number): Buffer {
  const key = Buffer.allocUnsafe(PAGE_KEY_SIZE);
  key.writeUInt32BE(tableId, 0);
  writeU64(key, pageId, 4, true);
  writeU64(key, lsn, 12, true);
  return key;
}

/** The first key of a table in the `pages` database; a range up to this key of `tableId + 1` covers the table. */
export function encodeTableStartKey(tableId: number): Buffer {
  return encodePageKey(tableId, 0, 0);
}

/** The key just past every key of `tableId`; valid for the largest table id too. */
export function encodeTableEndKey(tableId: number): Buffer {
  if (tableId < MAX_U32) return encodeTableStartKey(tableId + 1);
  // Past the largest table id: longer than, and byte-wise above, every 20-byte page key.
  return Buffer.alloc(PAGE_KEY_SIZE + 1, 0xff);
}

export function decodePageKey(key: Buffer): { tableId: number; pageId: number; lsn: number } {
  const pageId = key.length === PAGE_KEY_SIZE ? readU64(key, 4, true) : undefined;
  const lsn = key.length === PAGE_KEY_SIZE ? readU64(key, 12, true) : undefined;
  if (pageId === undefined || lsn === undefined) throw corrupt(`invalid page key ${key.toString('hex')}`, {});
  return { tableId: key.readUInt32BE(0), pageId, lsn };
}

/** The 48-byte value of a `log` entry; the LSN is the key, not part of the value. */
export function encodeLogEntry(entry: LogEntryFields): Buffer {
  const value = Buffer.alloc(LOG_ENTRY_SIZE);
  value.writeUInt8(entry.kind, 0);
  value.writeUInt8(RECORD_VERSION, 1);
  value.writeUInt32LE(entry.tableId, 4);
  writeU64(value, entry.pageId, 8, false);
  writeU64(value, entry.backlinkLsn, 16, false);
  writeU64(value, entry.baseLsn, 24, false);
  value.writeUInt32LE(entry.flags, 32);
  value.writeUInt32LE(entry.size, 36);
  value.writeUInt32LE(entry.imageChecksum, 40);
  value.writeUInt32LE(checksum(value.subarray(0, 44)), 44);
  return value;
}

/** Decodes and checks the `log` value stored under `lsn`. */
export function decodeLogEntry(lsn: number, value: Buffer): LogEntryFields {
  if (value.length !== LOG_ENTRY_SIZE) {
    throw corrupt(`log entry is ${value.length} bytes, expected ${LOG_ENTRY_SIZE}`, { lsn });
  }
  const stored = value.readUInt32LE(44);
  const computed = checksum(value.subarray(0, 44));
  if (stored !== computed) {
    throw new PageLogError('log entry checksum mismatch', { lsn, expected: stored, actual: computed }, ErrorCode.ChecksumMismatch);
  }
  const version = value.readUInt8(1);
  if (version !== RECORD_VERSION) throw corrupt(`log entry version ${version} is not supported`, { lsn });
  const kind = value.readUInt8(0);
  if (kind !== RecordKind.Page && kind !== RecordKind.Discard && kind !== RecordKind.Completion) {
    throw corrupt(`log entry has unknown kind ${kind}`, { lsn });
  }
  const tableId = value.readUInt32LE(4);
  const pageId = readU64(value, 8, false);
  const backlinkLsn = readU64(value, 16, false);
  const baseLsn = readU64(value, 24, false);
  if (pageId === undefined || backlinkLsn === undefined || baseLsn === undefined) {
    throw corrupt('log entry holds an integer above 2^53', { lsn, tableId });
  }
  return {
    lsn,
    kind,
    tableId,
    pageId,
    backlinkLsn,
    baseLsn,
    flags: value.readUInt32LE(32),
    size: value.readUInt32LE(36),
    imageChecksum: value.readUInt32LE(40),
  };
}

/** What a completion record holds besides its LSN. */
export interface CompletionBody {
  timestamp: bigint;
  oldestTimestamp: bigint;
  metadata: string;
  /** The writer's term (0 in records written before terms existed). */
  term: number;
}

/** The value of a `checkpoints` record: a 32-byte header, then the metadata as UTF-8. */
export function encodeCompletionRecord(body: CompletionBody): Buffer {
  const metadata = Buffer.from(body.metadata, 'utf8');
  const value = Buffer.alloc(COMPLETION_HEADER_SIZE + metadata.length);
  value.writeUInt8(RECORD_VERSION, 0);
  value.writeBigUInt64LE(body.timestamp, 8);
  value.writeBigUInt64LE(body.oldestTimestamp, 16);
  value.writeUInt32LE(metadata.length, 24);
  value.writeUInt32LE(body.term, 28);
  metadata.copy(value, COMPLETION_HEADER_SIZE);
  value.writeUInt32LE(checksum(value), 4);
  return value;
}

/** Decodes and checks the `checkpoints` value stored under `lsn`. */
export function decodeCompletionRecord(lsn: number, value: Buffer): CompletionBody {
  if (value.length < COMPLETION_HEADER_SIZE) {
    throw corrupt(`completion record is ${value.length} bytes, shorter than its header`, { lsn });
  }
  const stored = value.readUInt32LE(4);
  const computed = checksumWithZeroedField(value, 4);
  if (stored !== computed) {
    throw new PageLogError(
      'completion record checksum mismatch',
      { lsn, expected: stored, actual: computed },
      ErrorCode.CheckpointMetadataCorrupt,
    );
  }
  const version = value.readUInt8(0);
  if (version !== RECORD_VERSION) throw corrupt(`completion record version ${version} is not supported`, { lsn });
  const metadataLength = value.readUInt32LE(24);
  if (COMPLETION_HEADER_SIZE + metadataLength !== value.length) {
    throw corrupt(`completion record metadata length ${metadataLength} does not match its size ${value.length}`, { lsn });
  }
  return {
    timestamp: value.readBigUInt64LE(8),
    oldestTimestamp: value.readBigUInt64LE(16),
    metadata: value.toString('utf8', COMPLETION_HEADER_SIZE),
    term: value.readUInt32LE(28),
  };
}

/**
 * The format record written once when a log is created. `identity` is 16 random bytes that
 * tell this log from every other: a home records the identity of the log it pairs with.
 */
export function encodeFormatRecord(identity: Buffer, version = FORMAT_VERSION, compatibleVersion = FORMAT_COMPATIBLE_VERSION): Buffer {
  if (identity.length !== IDENTITY_SIZE) throw new RangeError(`a page-log identity is ${IDENTITY_SIZE} bytes, not ${identity.length}`);
  const value = Buffer.alloc(FORMAT_RECORD_SIZE);
  value.writeUInt32LE(FORMAT_MAGIC, 0);
  value.writeUInt8(version, 4);
  value.writeUInt8(compatibleVersion, 5);
  identity.copy(value, 8);
  value.writeUInt32LE(checksum(value.subarray(0, FORMAT_RECORD_SIZE - 4)), FORMAT_RECORD_SIZE - 4);
  return value;
}

/**
 * Checks the format record of an existing log and returns the log's identity as a UUID string;
 * `path` names the log in errors.
 */
export function checkFormatRecord(path: string, value: Buffer | undefined): string {
  if (value === undefined) {
    throw new PageLogError(`${path} is an LMDB environment without a page-log format record`, { file: path }, ErrorCode.Corruption);
  }
  if (value.length !== FORMAT_RECORD_SIZE || value.readUInt32LE(0) !== FORMAT_MAGIC) {
    throw new PageLogError(`${path} does not hold a page log (bad format record)`, { file: path }, ErrorCode.Corruption);
  }
  const stored = value.readUInt32LE(FORMAT_RECORD_SIZE - 4);
  const actual = checksum(value.subarray(0, FORMAT_RECORD_SIZE - 4));
  if (stored !== actual || value.readUInt16LE(6) !== 0 || value.readUInt8(4) < value.readUInt8(5)) {
    throw new PageLogError(`${path}: the page-log format record is damaged`, {
      file: path, expected: stored, actual,
    }, ErrorCode.Corruption);
  }
  const compatibleVersion = value.readUInt8(5);
  if (compatibleVersion > FORMAT_VERSION) {
    throw new PageLogError(
      `${path} needs page-log format version ${compatibleVersion}; this reader understands up to ${FORMAT_VERSION}`,
      { file: path, expected: FORMAT_VERSION, actual: compatibleVersion },
      ErrorCode.PageLog,
    );
  }
  return formatIdentity(value.subarray(8, 8 + IDENTITY_SIZE));
}

/** 16 bytes as a UUID string (8-4-4-4-12 lowercase hex digits). */
function formatIdentity(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// ---- Node records (the `meta` database, beside `format`): terms and leases. See nodes.ts. ----

/** Key prefix of a term record: `term:` then the term, u64 big-endian (so terms sort numerically). */
export const TERM_KEY_PREFIX = Buffer.from('term:', 'ascii');
/** Key prefix of a lease record: `lease:` then the node id, UTF-8. */
export const LEASE_KEY_PREFIX = Buffer.from('lease:', 'ascii');
/** Fixed part of a term record; the node id follows it. */
export const TERM_RECORD_HEADER_SIZE = 40;
/** Fixed part of a lease record; the checkpoint LSNs, node id and address follow it. */
export const LEASE_RECORD_HEADER_SIZE = 40;
/** Longest node id or address a record holds, in UTF-8 bytes. */
export const MAX_NODE_TEXT_BYTES = 1024;
/** Most checkpoints one lease names. */
export const MAX_LEASED_CHECKPOINTS = 4096;

/** Lease roles as stored. */
export const LeaseRole = { leader: 1, follower: 2 } as const;

/** A term: one writer's tenure of the log, from its claim until a newer term fences it. */
export interface TermRecordFields {
  term: number;
  nodeId: string;
  /** When the term began, ms since the epoch by the store's clock. */
  startedAt: number;
  /** The newest completion record when the term began (0: none): the checkpoint it continues from. */
  fromCompletionLsn: number;
  /** The log's largest LSN + 1 when the term began: every record of the term is at or above it. */
  firstLsn: number;
}

/** What one node holds: the writer role (leader) or the checkpoints it reads (follower). */
export interface LeaseRecordFields {
  nodeId: string;
  role: 'leader' | 'follower';
  /** Leader: its term. Follower: the newest term it had seen when it last renewed. */
  term: number;
  renewedAt: number;
  /** ms since the epoch; the lease pins nothing and holds no role from then on. */
  expiresAt: number;
  pid: number;
  /** Completion LSNs the node reads (follower); empty for a leader. */
  checkpoints: number[];
  /** Where the node serves clients (`host:port`), or ''. */
  address: string;
}

function nodeText(name: string, text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length > MAX_NODE_TEXT_BYTES) throw new RangeError(`${name} is ${bytes.length} bytes, more than ${MAX_NODE_TEXT_BYTES}`);
  return bytes;
}

export function encodeTermKey(term: number): Buffer {
  const key = Buffer.alloc(TERM_KEY_PREFIX.length + 8);
  TERM_KEY_PREFIX.copy(key);
  writeU64(key, term, TERM_KEY_PREFIX.length, true);
  return key;
}

export function decodeTermKey(key: Buffer): number {
  const term = key.length === TERM_KEY_PREFIX.length + 8 && key.subarray(0, TERM_KEY_PREFIX.length).equals(TERM_KEY_PREFIX)
    ? readU64(key, TERM_KEY_PREFIX.length, true) : undefined;
  if (term === undefined) throw corrupt(`invalid term key ${key.toString('hex')}`, {});
  return term;
}

export function encodeLeaseKey(nodeId: string): Buffer {
  return Buffer.concat([LEASE_KEY_PREFIX, nodeText('a node id', nodeId)]);
}

/** The key just past every key starting with `prefix` (for a range over one kind of record). */
export function prefixEndKey(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  end[end.length - 1]! += 1;
  return end;
}

export function encodeTermRecord(record: TermRecordFields): Buffer {
  const nodeId = nodeText('a node id', record.nodeId);
  const value = Buffer.alloc(TERM_RECORD_HEADER_SIZE + nodeId.length);
  value.writeUInt8(RECORD_VERSION, 0);
  value.writeUInt16LE(nodeId.length, 2);
  writeU64(value, record.term, 8, false);
  writeU64(value, record.startedAt, 16, false);
  writeU64(value, record.fromCompletionLsn, 24, false);
  writeU64(value, record.firstLsn, 32, false);
  nodeId.copy(value, TERM_RECORD_HEADER_SIZE);
  value.writeUInt32LE(checksum(value), 4);
  return value;
}

function checkNodeRecord(kind: string, value: Buffer, headerSize: number): void {
  if (value.length < headerSize) throw corrupt(`${kind} record is ${value.length} bytes, shorter than its header`, {});
  const stored = value.readUInt32LE(4);
  const computed = checksumWithZeroedField(value, 4);
  if (stored !== computed) throw new PageLogError(`${kind} record checksum mismatch`, { expected: stored, actual: computed }, ErrorCode.ChecksumMismatch);
  if (value.readUInt8(0) !== RECORD_VERSION) throw corrupt(`${kind} record version ${value.readUInt8(0)} is not supported`, {});
}

function readU64Field(kind: string, value: Buffer, offset: number): number {
  const read = readU64(value, offset, false);
  if (read === undefined) throw corrupt(`${kind} record holds an integer above 2^53 at offset ${offset}`, {});
  return read;
}

export function decodeTermRecord(value: Buffer): TermRecordFields {
  checkNodeRecord('term', value, TERM_RECORD_HEADER_SIZE);
  const nodeIdLength = value.readUInt16LE(2);
  if (TERM_RECORD_HEADER_SIZE + nodeIdLength !== value.length) throw corrupt(`term record node id length ${nodeIdLength} does not match its size ${value.length}`, {});
  return {
    term: readU64Field('term', value, 8),
    startedAt: readU64Field('term', value, 16),
    fromCompletionLsn: readU64Field('term', value, 24),
    firstLsn: readU64Field('term', value, 32),
    nodeId: value.toString('utf8', TERM_RECORD_HEADER_SIZE),
  };
}

export function encodeLeaseRecord(record: LeaseRecordFields): Buffer {
  const nodeId = nodeText('a node id', record.nodeId);
  const address = nodeText('an address', record.address);
  if (record.checkpoints.length > MAX_LEASED_CHECKPOINTS) throw new RangeError(`a lease names at most ${MAX_LEASED_CHECKPOINTS} checkpoints`);
  const listBytes = 8 * record.checkpoints.length;
  const value = Buffer.alloc(LEASE_RECORD_HEADER_SIZE + listBytes + nodeId.length + address.length);
  value.writeUInt8(RECORD_VERSION, 0);
  value.writeUInt8(LeaseRole[record.role], 1);
  value.writeUInt16LE(nodeId.length, 2);
  writeU64(value, record.term, 8, false);
  writeU64(value, record.renewedAt, 16, false);
  writeU64(value, record.expiresAt, 24, false);
  value.writeUInt32LE(record.pid >>> 0, 32);
  value.writeUInt16LE(record.checkpoints.length, 36);
  value.writeUInt16LE(address.length, 38);
  record.checkpoints.forEach((lsn, index) => writeU64(value, lsn, LEASE_RECORD_HEADER_SIZE + 8 * index, false));
  nodeId.copy(value, LEASE_RECORD_HEADER_SIZE + listBytes);
  address.copy(value, LEASE_RECORD_HEADER_SIZE + listBytes + nodeId.length);
  value.writeUInt32LE(checksum(value), 4);
  return value;
}

export function decodeLeaseRecord(value: Buffer): LeaseRecordFields {
  checkNodeRecord('lease', value, LEASE_RECORD_HEADER_SIZE);
  const roleByte = value.readUInt8(1);
  const role = roleByte === LeaseRole.leader ? 'leader' : roleByte === LeaseRole.follower ? 'follower' : undefined;
  if (role === undefined) throw corrupt(`lease record has unknown role ${roleByte}`, {});
  const nodeIdLength = value.readUInt16LE(2);
  const count = value.readUInt16LE(36);
  const addressLength = value.readUInt16LE(38);
  const listEnd = LEASE_RECORD_HEADER_SIZE + 8 * count;
  if (listEnd + nodeIdLength + addressLength !== value.length) throw corrupt(`lease record lengths do not match its size ${value.length}`, {});
  const checkpoints: number[] = [];
  for (let index = 0; index < count; index += 1) checkpoints.push(readU64Field('lease', value, LEASE_RECORD_HEADER_SIZE + 8 * index));
  return {
    nodeId: value.toString('utf8', listEnd, listEnd + nodeIdLength),
    role,
    term: readU64Field('lease', value, 8),
    renewedAt: readU64Field('lease', value, 16),
    expiresAt: readU64Field('lease', value, 24),
    pid: value.readUInt32LE(32),
    checkpoints,
    address: value.toString('utf8', listEnd + nodeIdLength),
  };
}
