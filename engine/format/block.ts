import { ChecksumError, ErrorCode, FormatError } from '../errors.js';
import { checksumWithZeroedField } from './checksum.js';

/** Constants of the `.wt` file format (FORMATS.md sections 1 and 4). */
export const BLOCK_MAGIC = 120897;
export const BLOCK_MAJOR = 1;
export const BLOCK_MINOR = 0;
export const PAGE_HEADER_SIZE = 28;
export const BLOCK_HEADER_SIZE = 12;
/** First payload byte of a block: page header + block header. */
export const BLOCK_PAYLOAD_OFFSET = PAGE_HEADER_SIZE + BLOCK_HEADER_SIZE;
/** Bytes checksummed when the block's DATA_CKSUM flag is clear. */
export const CHECKSUM_SKIP = 64;
/** Offset of the checksum within a block (block header offset 4). */
export const BLOCK_CHECKSUM_OFFSET = PAGE_HEADER_SIZE + 4;
export const DEFAULT_ALLOCATION_SIZE = 4096;

export const PageType = {
  Invalid: 0,
  BlockManager: 1,
  ColumnFix: 2,
  ColumnInternal: 3,
  ColumnVariable: 4,
  Overflow: 5,
  RowInternal: 6,
  RowLeaf: 7,
} as const;
export type PageTypeValue = (typeof PageType)[keyof typeof PageType];

export const PageFlags = {
  Compressed: 0x01,
  EmptyValueAll: 0x02,
  EmptyValueNone: 0x04,
  Encrypted: 0x08,
  Unused: 0x10,
  FastTruncateUpdate: 0x20,
} as const;

export const BlockFlags = { DataChecksum: 0x01 } as const;

export const PAGE_VERSION_TIMESTAMPS = 1;

/** `WT_PAGE_HEADER`, bytes 0-27 of every block and base page. */
export interface PageHeader {
  recno: bigint;
  writeGen: bigint;
  /** Page image length including both headers. */
  memSize: number;
  /** Cell count (row pages) or data length (overflow and extent-list pages). */
  entries: number;
  type: number;
  flags: number;
  unused: number;
  version: number;
}

/** `WT_BLOCK_HEADER`, bytes 28-39 of every block in a `.wt` file. */
export interface BlockHeader {
  diskSize: number;
  checksum: number;
  flags: number;
  unused: number;
}

/** The descriptor block at file offset 0. */
export interface Descriptor {
  magic: number;
  major: number;
  minor: number;
  checksum: number;
  unused: number;
}

/** Writes `header` into bytes 0-27 of `buf`. */
export function writePageHeader(buf: Buffer, header: PageHeader, offset = 0): void {
  buf.writeBigUInt64LE(header.recno, offset);
  buf.writeBigUInt64LE(header.writeGen, offset + 8);
  buf.writeUInt32LE(header.memSize, offset + 16);
  buf.writeUInt32LE(header.entries, offset + 20);
  buf[offset + 24] = header.type;
  buf[offset + 25] = header.flags;
  buf[offset + 26] = header.unused;
  buf[offset + 27] = header.version;
}

export function readPageHeader(buf: Buffer, offset = 0): PageHeader {
  if (buf.length < offset + PAGE_HEADER_SIZE) {
    throw new FormatError('page header is truncated', { offset }, ErrorCode.FormatTruncated);
  }
  return {
    recno: buf.readBigUInt64LE(offset),
    writeGen: buf.readBigUInt64LE(offset + 8),
    memSize: buf.readUInt32LE(offset + 16),
    entries: buf.readUInt32LE(offset + 20),
    type: buf[offset + 24]!,
    flags: buf[offset + 25]!,
    unused: buf[offset + 26]!,
    version: buf[offset + 27]!,
  };
}

export function readBlockHeader(buf: Buffer): BlockHeader {
  if (buf.length < BLOCK_PAYLOAD_OFFSET) {
    throw new FormatError('block header is truncated', { offset: PAGE_HEADER_SIZE }, ErrorCode.FormatTruncated);
  }
  return {
    diskSize: buf.readUInt32LE(PAGE_HEADER_SIZE),
    checksum: buf.readUInt32LE(PAGE_HEADER_SIZE + 4),
    flags: buf[PAGE_HEADER_SIZE + 8]!,
    unused: buf[PAGE_HEADER_SIZE + 9]! | (buf[PAGE_HEADER_SIZE + 10]! << 8) | (buf[PAGE_HEADER_SIZE + 11]! << 16),
  };
}

/** Rounds `size` up to a multiple of the allocation size. */
export function alignToAllocation(size: number, allocationSize: number): number {
  return Math.ceil(size / allocationSize) * allocationSize;
}

/**
 * Turns a page image (page header filled in, block header bytes reserved, payload) into an
 * on-disk block: pads it with zeros to the allocation size, fills in the block header and
 * checksums the whole block. Returns the block and its checksum.
 */
export function sealBlock(image: Buffer, allocationSize: number): { block: Buffer; checksum: number } {
  const memSize = image.readUInt32LE(16);
  const diskSize = alignToAllocation(memSize, allocationSize);
  // Not zero-filled at allocation: the image is copied in, then only the padding is zeroed.
  const block = Buffer.allocUnsafe(diskSize);
  image.copy(block, 0, 0, memSize);
  block.fill(0, memSize);
  block.writeUInt32LE(diskSize, PAGE_HEADER_SIZE);
  block.writeUInt32LE(0, BLOCK_CHECKSUM_OFFSET);
  block[PAGE_HEADER_SIZE + 8] = BlockFlags.DataChecksum;
  block[PAGE_HEADER_SIZE + 9] = 0;
  block[PAGE_HEADER_SIZE + 10] = 0;
  block[PAGE_HEADER_SIZE + 11] = 0;
  const sum = checksumWithZeroedField(block, BLOCK_CHECKSUM_OFFSET);
  block.writeUInt32LE(sum, BLOCK_CHECKSUM_OFFSET);
  return { block, checksum: sum };
}

/** The checksum a block's bytes should carry, honouring its DATA_CKSUM flag. */
export function computeBlockChecksum(block: Buffer): number {
  const flags = block[PAGE_HEADER_SIZE + 8]!;
  const length = flags & BlockFlags.DataChecksum ? block.length : Math.min(CHECKSUM_SKIP, block.length);
  return checksumWithZeroedField(block, BLOCK_CHECKSUM_OFFSET, length);
}

/**
 * Checks a block read from a file at `offset` against the checksum its address cookie names,
 * as WiredTiger does: the header checksum must equal the cookie's, and the recomputed checksum
 * must equal both.
 */
export function checkBlock(block: Buffer, expectedChecksum: number, where: { file?: string; offset: number }): BlockHeader {
  const header = readBlockHeader(block);
  if (header.checksum !== expectedChecksum) {
    throw new ChecksumError('block header checksum does not match its address', {
      ...where, expected: hex32(expectedChecksum), actual: hex32(header.checksum),
    });
  }
  if (header.diskSize !== block.length) {
    throw new FormatError(`block disk size ${header.diskSize} does not match its address size ${block.length}`, where);
  }
  const actual = computeBlockChecksum(block);
  if (actual !== expectedChecksum) {
    throw new ChecksumError('block checksum does not match its contents', {
      ...where, expected: hex32(expectedChecksum), actual: hex32(actual),
    });
  }
  return header;
}

export function hex32(value: number): string {
  return `0x${(value >>> 0).toString(16).padStart(8, '0')}`;
}

/** Builds the descriptor block for a new file: magic, version 1.0, checksum over the unit. */
export function buildDescriptor(allocationSize: number): Buffer {
  const unit = Buffer.alloc(allocationSize);
  unit.writeUInt32LE(BLOCK_MAGIC, 0);
  unit.writeUInt16LE(BLOCK_MAJOR, 4);
  unit.writeUInt16LE(BLOCK_MINOR, 6);
  unit.writeUInt32LE(checksumWithZeroedField(unit, 8), 8);
  return unit;
}

export function readDescriptor(unit: Buffer): Descriptor {
  if (unit.length < 16) throw new FormatError('descriptor block is truncated', { offset: 0 }, ErrorCode.FormatTruncated);
  return {
    magic: unit.readUInt32LE(0),
    major: unit.readUInt16LE(4),
    minor: unit.readUInt16LE(6),
    checksum: unit.readUInt32LE(8),
    unused: unit.readUInt32LE(12),
  };
}

/**
 * Validates the descriptor block (the whole first allocation unit), as WiredTiger does on
 * open: magic, checksum over the unit, version not newer than 1.0.
 */
export function checkDescriptor(unit: Buffer, file?: string): Descriptor {
  const descriptor = readDescriptor(unit);
  if (descriptor.magic !== BLOCK_MAGIC) {
    throw new FormatError('descriptor magic is not a WiredTiger file', {
      file, offset: 0, expected: BLOCK_MAGIC, actual: descriptor.magic,
    });
  }
  const actual = checksumWithZeroedField(unit, 8);
  if (actual !== descriptor.checksum) {
    throw new ChecksumError('descriptor block checksum does not match', {
      file, offset: 8, expected: hex32(descriptor.checksum), actual: hex32(actual),
    });
  }
  if (descriptor.major > BLOCK_MAJOR || (descriptor.major === BLOCK_MAJOR && descriptor.minor > BLOCK_MINOR)) {
    throw new FormatError(`unsupported block manager version ${descriptor.major}.${descriptor.minor}`, { file, offset: 4 });
  }
  return descriptor;
}
