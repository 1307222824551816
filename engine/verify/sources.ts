import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { EngineError, ErrorCode } from '../errors.js';
import {
  BLOCK_MAGIC, BLOCK_MAJOR, BLOCK_MINOR, BLOCK_PAYLOAD_OFFSET, BlockFlags, computeBlockChecksum,
  decodeFileAddress, decodePageLogAddress, DISAGG_BASE_MAGIC, DISAGG_BASE_PAYLOAD_OFFSET, DISAGG_COMPATIBLE_VERSION,
  DisaggFlags, checksumWithZeroedField, DISAGG_BASE_CHECKSUM_OFFSET, hex32, PAGE_HEADER_SIZE, readDescriptor,
  readDisaggHeader, readPageHeader, type FileAddress, type PageHeader, type PageLogAddress,
} from '../format/index.js';
import { MIN_USER_PAGE_ID, type PageLogHandle } from '../page_log/index.js';
import { errorMessage, FindingCode, type FindingLocation, type FindingSink } from './findings.js';

/**
 * Read-only page sources for verification: a `.wt` file opened with its own descriptor (never
 * the engine's), and one table of the page log. Each read runs the block-level checks and
 * reports what fails instead of throwing; a page that fails one is not handed on.
 */

/** A page that passed the block-level checks. */
export interface PageImage {
  /** The page: page header at 0, cells from `payloadOffset` to `header.memSize`. */
  image: Buffer;
  payloadOffset: number;
  header: PageHeader;
  /** Location of the page for findings (file, or table id, page id and LSN). */
  location: FindingLocation;
  /** Added to an offset within the image to give the offset findings report. */
  offsetBase: number;
  /** Identity for "referenced twice" checks: a file offset or a page id. */
  identity: string;
  /** The file range the block occupies; undefined for page-log pages. */
  block?: { offset: number; size: number };
}

/** Where a tree's pages come from. */
export interface PageSource {
  readonly kind: 'file' | 'pagelog';
  /** Location shared by every finding about this source. */
  readonly where: FindingLocation;
  /**
   * Reads the page at `address` (an address cookie), runs the block-level checks and returns
   * it, or reports why it cannot and returns undefined. `referrer` locates the reference.
   * With `transient`, the image may live in a buffer the next transient read overwrites: the
   * caller copies what it keeps beyond that.
   */
  read(address: Buffer, sink: FindingSink, referrer: FindingLocation, transient?: boolean): PageImage | undefined;
  /** The address in words, for messages. */
  describe(address: Buffer): string;
  /** The file range an address names, when it decodes to one (file sources only). */
  range?(address: Buffer): { offset: number; size: number } | undefined;
}

/** A `.wt` file opened read-only for verification and dumps. */
export class FileSource implements PageSource {
  readonly kind = 'file' as const;
  readonly where: FindingLocation;
  readonly size: number;
  private fd: number | undefined;
  /** The file size the checkpoint being walked records; reads beyond it are reported. */
  checkpointFileSize: number | undefined;
  /**
   * Where transient reads go. A walk reads every leaf once and is done with it at the next:
   * one buffer for them all, not one per block (a buffer per block was most of the garbage
   * collector's work).
   */
  private scratch: Buffer | undefined;

  /**
   * Opens `path` read-only. `name` is how findings name the file (relative to the home).
   * Throws `IoError`-shaped engine errors only for a file that cannot be opened.
   */
  constructor(path: string, readonly name: string, readonly allocationSize: number, uri?: string) {
    this.where = uri === undefined ? { file: name } : { file: name, uri };
    this.fd = openSync(path, 'r');
    this.size = fstatSync(this.fd).size;
  }

  /**
   * Reads `length` bytes at `offset`; fewer when the file ends first. With `transient`, into
   * the source's scratch buffer, which the next transient read overwrites.
   */
  readBytes(offset: number, length: number, transient = false): Buffer {
    let buffer: Buffer;
    if (transient) {
      if (this.scratch === undefined || this.scratch.length < length) this.scratch = Buffer.allocUnsafe(Math.max(length, 64 * 1024));
      buffer = this.scratch.subarray(0, length);
    } else {
      buffer = Buffer.alloc(length);
    }
    if (this.fd === undefined) return buffer.subarray(0, 0);
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, buffer, done, length - done, offset + done);
      if (n === 0) break;
      done += n;
    }
    return buffer.subarray(0, done);
  }

  /** Checks the descriptor block (the first allocation unit); true when it is sound. */
  checkDescriptor(sink: FindingSink): boolean {
    const unitSize = Math.max(this.allocationSize, 16);
    const unit = this.readBytes(0, unitSize);
    const at = (offset: number): FindingLocation => ({ ...this.where, offset });
    if (unit.length < unitSize) {
      sink.error(FindingCode.DescriptorInvalid, `file is ${this.size} bytes, shorter than its ${unitSize}-byte descriptor block`, at(unit.length));
      return false;
    }
    const descriptor = readDescriptor(unit);
    let sound = true;
    if (descriptor.magic !== BLOCK_MAGIC) {
      sink.error(FindingCode.DescriptorInvalid, `descriptor magic is ${descriptor.magic}, not ${BLOCK_MAGIC}: not a WiredTiger file`, at(0));
      sound = false;
    }
    const actual = checksumWithZeroedField(unit, 8);
    if (actual !== descriptor.checksum) {
      sink.error(FindingCode.DescriptorChecksum, `descriptor checksum is ${hex32(descriptor.checksum)}, computed ${hex32(actual)}`, at(8));
      sound = false;
    }
    if (descriptor.major > BLOCK_MAJOR || (descriptor.major === BLOCK_MAJOR && descriptor.minor > BLOCK_MINOR)) {
      sink.error(FindingCode.DescriptorInvalid, `block manager version ${descriptor.major}.${descriptor.minor} is newer than ${BLOCK_MAJOR}.${BLOCK_MINOR}`, at(4));
      sound = false;
    }
    if (descriptor.unused !== 0) {
      sink.error(FindingCode.DescriptorInvalid, 'descriptor has non-zero bytes in its unused field', at(12));
      sound = false;
    }
    return sound;
  }

  /** Decodes an address cookie, reporting a cookie that does not decode. */
  decode(address: Buffer, sink: FindingSink, referrer: FindingLocation): FileAddress | undefined {
    try {
      return decodeFileAddress(address, this.allocationSize);
    } catch (error) {
      sink.error(FindingCode.AddressInvalid, `address cookie ${address.toString('hex')} does not decode: ${errorMessage(error)}`, referrer);
      return undefined;
    }
  }

  read(address: Buffer, sink: FindingSink, referrer: FindingLocation, transient = false): PageImage | undefined {
    const decoded = this.decode(address, sink, referrer);
    return decoded === undefined ? undefined : this.readBlock(decoded, sink, referrer, transient);
  }

  /** Reads a block by its decoded address and runs the block-level checks (`transient` as `read`'s). */
  readBlock(address: FileAddress, sink: FindingSink, referrer: FindingLocation, transient = false): PageImage | undefined {
    const { offset, size, checksum } = address;
    // Findings name the block; the checkpoint being walked comes from the reference.
    const context: FindingLocation = referrer.checkpoint === undefined ? {} : { checkpoint: referrer.checkpoint };
    const at = (delta: number): FindingLocation => ({ ...this.where, ...context, offset: offset + delta });
    const allocationSize = this.allocationSize;
    if (size === 0) {
      sink.error(FindingCode.AddressInvalid, 'address names no block', referrer);
      return undefined;
    }
    if (offset < allocationSize || offset % allocationSize !== 0 || size % allocationSize !== 0) {
      sink.error(FindingCode.AddressInvalid, `block address [${offset}, ${size}] is not on allocation-unit boundaries past the descriptor`, { ...referrer, ...this.where, offset });
      return undefined;
    }
    const limit = Math.min(this.size, this.checkpointFileSize ?? this.size);
    if (offset + size > limit) {
      const what = offset + size > this.size ? `the end of the file (${this.size} bytes)` : `the checkpoint's file size (${limit} bytes)`;
      sink.error(FindingCode.AddressInvalid, `block [${offset}, ${size}] runs past ${what}`, { ...referrer, ...this.where, offset });
      return undefined;
    }
    const block = this.readBytes(offset, size, transient);
    if (block.length < BLOCK_PAYLOAD_OFFSET) {
      sink.error(FindingCode.BlockHeaderInvalid, 'block is shorter than its headers', at(0));
      return undefined;
    }
    const stored = block.readUInt32LE(PAGE_HEADER_SIZE + 4);
    if (stored !== checksum) {
      sink.error(FindingCode.BlockChecksum, `block header checksum ${hex32(stored)} does not match its address checksum ${hex32(checksum)}`, at(PAGE_HEADER_SIZE + 4));
      return undefined;
    }
    const diskSize = block.readUInt32LE(PAGE_HEADER_SIZE);
    if (diskSize !== size) {
      sink.error(FindingCode.BlockHeaderInvalid, `block disk size ${diskSize} does not match its address size ${size}`, at(PAGE_HEADER_SIZE));
      return undefined;
    }
    const actual = computeBlockChecksum(block);
    if (actual !== checksum) {
      sink.error(FindingCode.BlockChecksum, `block checksum ${hex32(checksum)} does not match its contents (computed ${hex32(actual)})`, at(PAGE_HEADER_SIZE + 4));
      return undefined;
    }
    const flags = block[PAGE_HEADER_SIZE + 8]!;
    if ((flags & ~BlockFlags.DataChecksum) !== 0) {
      sink.error(FindingCode.BlockHeaderInvalid, `block flags 0x${flags.toString(16)} set undefined bits`, at(PAGE_HEADER_SIZE + 8));
    }
    if (block[PAGE_HEADER_SIZE + 9] !== 0 || block[PAGE_HEADER_SIZE + 10] !== 0 || block[PAGE_HEADER_SIZE + 11] !== 0) {
      sink.error(FindingCode.BlockHeaderInvalid, 'block header has non-zero unused bytes', at(PAGE_HEADER_SIZE + 9));
    }
    const header = readPageHeader(block);
    if (header.memSize < BLOCK_PAYLOAD_OFFSET || header.memSize > size) {
      sink.error(FindingCode.PageHeaderInvalid, `page mem_size ${header.memSize} does not fit its ${size}-byte block`, at(16));
      return undefined;
    }
    return {
      image: block, payloadOffset: BLOCK_PAYLOAD_OFFSET, header, location: { ...this.where }, offsetBase: offset,
      identity: `offset ${offset}`, block: { offset, size },
    };
  }

  range(address: Buffer): { offset: number; size: number } | undefined {
    try {
      const { offset, size } = decodeFileAddress(address, this.allocationSize);
      const allocationSize = this.allocationSize;
      return size > 0 && offset >= allocationSize && offset % allocationSize === 0 && size % allocationSize === 0 && offset + size <= this.size ? { offset, size } : undefined;
    } catch {
      return undefined;
    }
  }

  describe(address: Buffer): string {
    try {
      const { offset, size, checksum } = decodeFileAddress(address, this.allocationSize);
      return `[${offset}-${offset + size}, ${size}, ${hex32(checksum)}]`;
    } catch {
      return address.toString('hex');
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** One table of the page log, read through a page-log handle. */
export class PageLogSource implements PageSource {
  readonly kind = 'pagelog' as const;
  readonly where: FindingLocation;

  constructor(private readonly handle: PageLogHandle, uri?: string, file?: string) {
    this.where = { tableId: handle.tableId, ...(uri === undefined ? {} : { uri }), ...(file === undefined ? {} : { file }) };
  }

  decode(address: Buffer, sink: FindingSink, referrer: FindingLocation): PageLogAddress | undefined {
    try {
      return decodePageLogAddress(address);
    } catch (error) {
      sink.error(FindingCode.AddressInvalid, `page-log address ${address.toString('hex')} does not decode: ${errorMessage(error)}`, referrer);
      return undefined;
    }
  }

  read(address: Buffer, sink: FindingSink, referrer: FindingLocation): PageImage | undefined {
    const decoded = this.decode(address, sink, referrer);
    if (decoded === undefined) return undefined;
    const { pageId, lsn, size, checksum } = decoded;
    const where: FindingLocation = { ...this.where, pageId, lsn };
    if (size === 0) {
      sink.error(FindingCode.AddressInvalid, 'page-log address names no page', { ...referrer, ...where });
      return undefined;
    }
    if (pageId < MIN_USER_PAGE_ID) {
      sink.error(FindingCode.AddressInvalid, `btree page id ${pageId} is below ${MIN_USER_PAGE_ID}, the first id for btree pages`, { ...referrer, ...where });
      return undefined;
    }
    let records;
    try {
      records = this.handle.get(pageId, lsn);
    } catch (error) {
      const code = error instanceof EngineError && error.code === ErrorCode.ChecksumMismatch ? FindingCode.PageLogChecksum : FindingCode.PageLogRecordInvalid;
      sink.error(code, `page-log record does not read: ${errorMessage(error)}`, where);
      return undefined;
    }
    const newest = records[records.length - 1];
    if (newest === undefined || newest.lsn !== lsn) {
      sink.error(FindingCode.PageLogPageMissing, `page ${pageId} has no record at LSN ${lsn}`, { ...referrer, ...where });
      return undefined;
    }
    if (records.length > 1) {
      sink.warning(FindingCode.PageLogDeltaUnverified, `page ${pageId} has ${records.length - 1} delta(s); deltas are not verified`, where);
      return undefined;
    }
    const image = newest.image;
    const at = (offset: number): FindingLocation => ({ ...where, offset });
    if (image.length !== size) {
      sink.error(FindingCode.PageLogPageInvalid, `page is ${image.length} bytes, its address says ${size}`, at(0));
      return undefined;
    }
    if (image.length < DISAGG_BASE_PAYLOAD_OFFSET) {
      sink.error(FindingCode.PageLogPageInvalid, `page is ${image.length} bytes, shorter than its headers`, at(0));
      return undefined;
    }
    const disagg = readDisaggHeader(image);
    const headerOffset = PAGE_HEADER_SIZE;
    if (disagg.magic !== DISAGG_BASE_MAGIC) {
      sink.error(FindingCode.PageLogPageInvalid, `disagg header magic 0x${disagg.magic.toString(16)} is not a base image (0xdb)`, at(headerOffset));
      return undefined;
    }
    if (disagg.compatibleVersion > DISAGG_COMPATIBLE_VERSION) {
      sink.error(FindingCode.PageLogPageInvalid, `disagg header compatible version ${disagg.compatibleVersion} is newer than ${DISAGG_COMPATIBLE_VERSION}`, at(headerOffset + 2));
      return undefined;
    }
    if (disagg.headerSize !== DISAGG_BASE_PAYLOAD_OFFSET) {
      sink.error(FindingCode.PageLogPageInvalid, `disagg header size ${disagg.headerSize} is not ${DISAGG_BASE_PAYLOAD_OFFSET}`, at(headerOffset + 3));
      return undefined;
    }
    if (disagg.checksum !== checksum) {
      sink.error(FindingCode.PageLogChecksum, `page checksum ${hex32(disagg.checksum)} does not match its address checksum ${hex32(checksum)}`, at(headerOffset + 4));
      return undefined;
    }
    const length = disagg.flags & DisaggFlags.DataChecksum ? image.length : Math.min(64, image.length);
    const actual = checksumWithZeroedField(image, DISAGG_BASE_CHECKSUM_OFFSET, length);
    if (actual !== disagg.checksum) {
      sink.error(FindingCode.PageLogChecksum, `page checksum ${hex32(disagg.checksum)} does not match its contents (computed ${hex32(actual)})`, at(headerOffset + 4));
      return undefined;
    }
    if ((disagg.flags & ~(DisaggFlags.DataChecksum | DisaggFlags.Encrypted | DisaggFlags.Compressed)) !== 0 || disagg.unused !== 0) {
      sink.error(FindingCode.PageLogPageInvalid, 'disagg header sets undefined flag bits or unused bytes', at(headerOffset + 13));
    }
    if (disagg.flags & (DisaggFlags.Encrypted | DisaggFlags.Compressed)) {
      sink.error(FindingCode.PageLogPageInvalid, 'encrypted or compressed pages cannot be verified', at(headerOffset + 13));
      return undefined;
    }
    const header = readPageHeader(image);
    if (header.memSize !== image.length) {
      sink.error(FindingCode.PageHeaderInvalid, `page mem_size ${header.memSize} does not match its ${image.length} bytes`, at(16));
      return undefined;
    }
    return { image, payloadOffset: DISAGG_BASE_PAYLOAD_OFFSET, header, location: where, offsetBase: 0, identity: `page ${pageId}` };
  }

  describe(address: Buffer): string {
    try {
      const decoded = decodePageLogAddress(address);
      return `[page ${decoded.pageId}, LSN ${decoded.lsn}, ${decoded.size} bytes, ${hex32(decoded.checksum)}]`;
    } catch {
      return address.toString('hex');
    }
  }
}
