import { ChecksumError, ErrorCode, FormatError, PageLogError } from '../errors.js';
import { hex32, PAGE_HEADER_SIZE } from './block.js';
import { checksum, checksumWithZeroedField } from './checksum.js';
import { parseConfig } from './config.js';

/**
 * Disaggregated-storage formats (FORMATS.md section 9): the disagg block header in front of
 * page images put to the page log, the turtle (checkpoint metadata) page and the completion
 * record's metadata string.
 */

export const DISAGG_BASE_MAGIC = 0xdb;
export const DISAGG_DELTA_MAGIC = 0xdd;
export const DISAGG_VERSION = 1;
export const DISAGG_COMPATIBLE_VERSION = 1;
export const DISAGG_HEADER_SIZE = 16;
/** Page header + disagg header: the first payload byte of a base page. */
export const DISAGG_BASE_PAYLOAD_OFFSET = PAGE_HEADER_SIZE + DISAGG_HEADER_SIZE;
/** Offset of the checksum in a base page. */
export const DISAGG_BASE_CHECKSUM_OFFSET = PAGE_HEADER_SIZE + 4;

export const DisaggFlags = { DataChecksum: 0x01, Encrypted: 0x02, Compressed: 0x04 } as const;

export interface DisaggHeader {
  magic: number;
  version: number;
  compatibleVersion: number;
  headerSize: number;
  checksum: number;
  previousChecksum: number;
  reconciliationId: number;
  flags: number;
  unused: number;
}

/**
 * Turns a page image laid out for the file format (28-byte page header, 12 reserved bytes,
 * cells) into a disaggregated base page: page header, 16-byte disagg header, cells, with the
 * whole-page checksum filled in. Returns the page and its checksum.
 */
export function sealBasePage(image: Buffer, payloadOffset: number, fields: { previousChecksum: number; reconciliationId: number }): { page: Buffer; checksum: number } {
  const payload = image.subarray(payloadOffset, image.readUInt32LE(16));
  // Not zero-filled at allocation: every byte is written below, the disagg header's unused ones as zeros.
  const page = Buffer.allocUnsafe(DISAGG_BASE_PAYLOAD_OFFSET + payload.length);
  image.copy(page, 0, 0, PAGE_HEADER_SIZE);
  page.fill(0, PAGE_HEADER_SIZE, DISAGG_BASE_PAYLOAD_OFFSET);
  page.writeUInt32LE(page.length, 16);
  payload.copy(page, DISAGG_BASE_PAYLOAD_OFFSET);
  const h = PAGE_HEADER_SIZE;
  page[h] = DISAGG_BASE_MAGIC;
  page[h + 1] = DISAGG_VERSION;
  page[h + 2] = DISAGG_COMPATIBLE_VERSION;
  page[h + 3] = DISAGG_BASE_PAYLOAD_OFFSET;
  page.writeUInt32LE(fields.previousChecksum >>> 0, h + 8);
  page[h + 12] = Math.min(fields.reconciliationId, 0xff);
  page[h + 13] = DisaggFlags.DataChecksum;
  const sum = checksumWithZeroedField(page, DISAGG_BASE_CHECKSUM_OFFSET);
  page.writeUInt32LE(sum, DISAGG_BASE_CHECKSUM_OFFSET);
  return { page, checksum: sum };
}

export function readDisaggHeader(page: Buffer, headerOffset = PAGE_HEADER_SIZE): DisaggHeader {
  if (page.length < headerOffset + DISAGG_HEADER_SIZE) {
    throw new FormatError('disagg block header is truncated', { offset: headerOffset }, ErrorCode.FormatTruncated);
  }
  const h = headerOffset;
  return {
    magic: page[h]!, version: page[h + 1]!, compatibleVersion: page[h + 2]!, headerSize: page[h + 3]!,
    checksum: page.readUInt32LE(h + 4), previousChecksum: page.readUInt32LE(h + 8),
    reconciliationId: page[h + 12]!, flags: page[h + 13]!, unused: page.readUInt16LE(h + 14),
  };
}

/**
 * Checks a base page read from the page log against its address, as WiredTiger's disagg
 * block manager does, and returns its header. `where` names the table, page and LSN.
 */
export function checkBasePage(page: Buffer, expectedChecksum: number, where: { tableId?: number; pageId?: number; lsn?: number }): DisaggHeader {
  const header = readDisaggHeader(page);
  if (header.magic !== DISAGG_BASE_MAGIC) {
    throw new FormatError('page-log page is not a base image', { ...where, offset: PAGE_HEADER_SIZE, expected: DISAGG_BASE_MAGIC, actual: header.magic });
  }
  if (header.compatibleVersion > DISAGG_COMPATIBLE_VERSION) {
    throw new FormatError(`page-log page compatible version ${header.compatibleVersion} is newer than ${DISAGG_COMPATIBLE_VERSION}`, { ...where, offset: PAGE_HEADER_SIZE + 2 });
  }
  if (header.headerSize !== DISAGG_BASE_PAYLOAD_OFFSET) {
    throw new FormatError(`page-log base page header size ${header.headerSize} is not ${DISAGG_BASE_PAYLOAD_OFFSET}`, { ...where, offset: PAGE_HEADER_SIZE + 3 });
  }
  if (header.checksum !== expectedChecksum) {
    throw new ChecksumError('page-log page checksum does not match its address', { ...where, expected: hex32(expectedChecksum), actual: hex32(header.checksum) });
  }
  const length = header.flags & DisaggFlags.DataChecksum ? page.length : Math.min(64, page.length);
  const actual = checksumWithZeroedField(page, DISAGG_BASE_CHECKSUM_OFFSET, length);
  if (actual !== header.checksum) {
    throw new ChecksumError('page-log page checksum does not match its contents', { ...where, expected: hex32(header.checksum), actual: hex32(actual) });
  }
  return header;
}

/** The turtle (checkpoint metadata) page's fields (FORMATS.md 9.4). */
export interface TurtlePage {
  version: number;
  compatibleVersion: number;
  /** The shared metadata table's `checkpoint=` value. */
  checkpoint: string;
  timestamp: bigint;
  oldestTimestamp: bigint;
  schemaEpoch: bigint;
  largestFileId: number;
  maxWriteGen: bigint;
  keyProvider?: { pageId: number; lsn: number; version: number };
}

export const TURTLE_PAGE_VERSION = 1;

const hex = (v: bigint): string => v.toString(16);

/** The turtle page text, lines joined by `,\n`, exactly as FORMATS.md 9.4 gives it. */
export function formatTurtlePage(t: TurtlePage): Buffer {
  const lines = [
    `version=${t.version},compatible_version=${t.compatibleVersion}`,
    `checkpoint=${t.checkpoint}`,
    `timestamp=${hex(t.timestamp)}`,
    `oldest_timestamp=${hex(t.oldestTimestamp)}`,
    `schema_epoch=${hex(t.schemaEpoch)}`,
    `largest_file_id=${t.largestFileId}`,
    `max_write_gen=${t.maxWriteGen}`,
  ];
  if (t.keyProvider) {
    lines.push(`key_provider=(page.1=(page_id=${t.keyProvider.pageId},lsn=${t.keyProvider.lsn}),version=${t.keyProvider.version})`);
  }
  return Buffer.from(lines.join(',\n'), 'utf8');
}

const TURTLE_PAGE_KEYS = new Set(['version', 'compatible_version', 'checkpoint', 'timestamp', 'oldest_timestamp', 'schema_epoch', 'largest_file_id', 'max_write_gen', 'key_provider']);

/** Parses a turtle page (new or legacy form); `lsn` names it in errors. */
export function parseTurtlePage(page: Buffer, lsn?: number): TurtlePage {
  const text = page.toString('utf8');
  const where = { tableId: 2, pageId: 1, lsn };
  if (text.startsWith('(WiredTigerCheckpoint.')) {
    const [checkpoint, rest] = text.split('\n');
    const ts = /^timestamp=([0-9a-f]+)$/.exec(rest ?? '');
    return {
      version: 0, compatibleVersion: 0, checkpoint: checkpoint!, timestamp: ts ? BigInt('0x' + ts[1]) : 0n,
      oldestTimestamp: 0n, schemaEpoch: 0n, largestFileId: 0, maxWriteGen: 0n,
    };
  }
  let entries;
  try {
    entries = parseConfig(text.replace(/,\n/g, ','));
  } catch (cause) {
    throw new PageLogError('turtle page does not parse', { ...where, cause }, ErrorCode.CheckpointMetadataCorrupt);
  }
  const fields = new Map(entries.map((e) => [e.key, e.raw]));
  const version = Number(fields.get('version') ?? NaN);
  if (!Number.isInteger(version)) throw new PageLogError('turtle page lacks its version', where, ErrorCode.CheckpointMetadataCorrupt);
  if (version === TURTLE_PAGE_VERSION) {
    for (const key of fields.keys()) {
      if (!TURTLE_PAGE_KEYS.has(key)) throw new PageLogError(`turtle page has unknown key "${key}"`, { ...where, key }, ErrorCode.CheckpointMetadataCorrupt);
    }
  }
  const need = (key: string): string => {
    const v = fields.get(key);
    if (v === undefined) throw new PageLogError(`turtle page lacks "${key}"`, { ...where, key }, ErrorCode.CheckpointMetadataCorrupt);
    return v;
  };
  const hexField = (key: string): bigint => {
    const v = need(key);
    if (!/^[0-9a-f]+$/.test(v)) throw new PageLogError(`turtle page "${key}" is not hex`, { ...where, key }, ErrorCode.CheckpointMetadataCorrupt);
    return BigInt('0x' + v);
  };
  const result: TurtlePage = {
    version,
    compatibleVersion: Number(need('compatible_version')),
    checkpoint: need('checkpoint'),
    timestamp: hexField('timestamp'),
    oldestTimestamp: hexField('oldest_timestamp'),
    schemaEpoch: hexField('schema_epoch'),
    largestFileId: Number(need('largest_file_id')),
    maxWriteGen: BigInt(need('max_write_gen')),
  };
  const keyProvider = fields.get('key_provider');
  if (keyProvider !== undefined) {
    const match = /^\(page\.1=\(page_id=(\d+),lsn=(\d+)\),version=(\d+)\)$/.exec(keyProvider);
    if (!match) throw new PageLogError('turtle page key_provider entry does not parse', { ...where, key: 'key_provider' }, ErrorCode.CheckpointMetadataCorrupt);
    const [pageId, keyLsn, kpVersion] = [Number(match[1]), Number(match[2]), Number(match[3])];
    if (kpVersion !== 1 || pageId === 0 || keyLsn === 0) {
      throw new PageLogError('turtle page key_provider entry needs version 1 and a non-zero page id and LSN', { ...where, key: 'key_provider' }, ErrorCode.CheckpointMetadataCorrupt);
    }
    result.keyProvider = { pageId, lsn: keyLsn, version: kpVersion };
  }
  return result;
}

/** The completion record's metadata string (FORMATS.md 9.4). */
export interface CompletionMetadata {
  metadataLsn: number;
  /** CRC-32C of the whole turtle page; undefined when absent (a warning, not an error). */
  metadataChecksum?: number;
  databaseSize: number;
  version: number;
  compatibleVersion: number;
}

export function formatCompletionMetadata(m: CompletionMetadata): string {
  const sum = m.metadataChecksum === undefined ? '' : `,metadata_checksum=${(m.metadataChecksum >>> 0).toString(16)}`;
  return `metadata_lsn=${m.metadataLsn}${sum},database_size=${m.databaseSize},version=${m.version},compatible_version=${m.compatibleVersion}`;
}

export function parseCompletionMetadata(text: string, lsn?: number): CompletionMetadata {
  const fields = new Map(parseConfig(text).map((e) => [e.key, e.raw]));
  const where = { lsn };
  const metadataLsn = Number(fields.get('metadata_lsn'));
  if (!Number.isInteger(metadataLsn) || metadataLsn <= 0) {
    throw new PageLogError('completion record lacks a valid metadata_lsn', { ...where, key: 'metadata_lsn' }, ErrorCode.CheckpointMetadataCorrupt);
  }
  const sum = fields.get('metadata_checksum');
  if (sum !== undefined && !/^[0-9a-f]{1,8}$/.test(sum)) {
    throw new PageLogError('completion record metadata_checksum is not hex', { ...where, key: 'metadata_checksum' }, ErrorCode.CheckpointMetadataCorrupt);
  }
  return {
    metadataLsn,
    metadataChecksum: sum === undefined ? undefined : parseInt(sum, 16),
    databaseSize: Number(fields.get('database_size') ?? 0),
    version: Number(fields.get('version') ?? 1),
    compatibleVersion: Number(fields.get('compatible_version') ?? 1),
  };
}

/** Checks a turtle page's bytes against the checksum its completion record names. */
export function checkTurtlePageChecksum(page: Buffer, expected: number | undefined, lsn: number): void {
  if (expected === undefined) return;
  const actual = checksum(page);
  if (actual !== expected) {
    throw new PageLogError('checkpoint metadata corruption: turtle page checksum does not match its completion record', {
      tableId: 2, pageId: 1, lsn, expected: hex32(expected), actual: hex32(actual),
    }, ErrorCode.CheckpointMetadataCorrupt);
  }
}
