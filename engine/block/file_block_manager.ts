import { closeSync, fstatSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
import { ErrorCode, FormatError, IoError, StateError } from '../errors.js';
import {
  alignToAllocation, BLOCK_PAYLOAD_OFFSET, buildDescriptor, buildExtentListImage, checkBlock, checkDescriptor,
  decodeFileAddress, decodeFileCheckpointCookie, encodeFileAddress, encodeFileCheckpointCookie, type Extent,
  type FileCheckpointCookie,
  type FileAddress, NO_FILE_ADDRESS, PageType, readExtentList, readPageHeader, sealBlock,
} from '../format/index.js';
import type { BlockManager, ReadPage } from './block_manager.js';
import { ExtentSet } from './extent_set.js';

export interface FileBlockManagerOptions {
  allocationSize: number;
  readOnly: boolean;
  /** The `addr=` hex of the file's last durable checkpoint ('' or undefined: none). */
  checkpointAddr?: string;
}

/**
 * A `.wt` file, byte-compatible with WiredTiger: a descriptor block, then blocks on
 * allocation-unit boundaries. Checkpoints are copy-on-write: blocks the last durable
 * checkpoint references are never overwritten; space they free becomes reusable only after
 * the next checkpoint is durable.
 */
export class FileBlockManager implements BlockManager {
  readonly kind = 'file' as const;
  readonly name: string;
  private fd: number;
  private readonly allocationSize: number;
  private readonly readOnly: boolean;
  /** Blocks the live tree references (including those of the last durable checkpoint). */
  private readonly inUse = new ExtentSet();
  /** Free space that may be written now. */
  private readonly available = new ExtentSet();
  /**
   * Space a checkpoint may still reference: freed since the last checkpoint's extent list was
   * written. Reusable once a checkpoint written after the free is durable.
   */
  private readonly pendingFree = new ExtentSet();
  /** Space freed before the running checkpoint wrote its list: reusable once it is durable. */
  private readonly releaseWhenDurable = new ExtentSet();
  /**
   * Space that became reusable while a backup held the file (`holdFreedSpace`): a checkpoint
   * the backup copies may still use it, so it is reused only once the hold is released.
   */
  private readonly heldForBackup = new ExtentSet();
  private backupHolds = 0;
  /** Blocks written since the last durable checkpoint (free at once when replaced). */
  private readonly sinceCheckpoint = new ExtentSet();
  /**
   * The extent-list blocks of the last checkpoint written (alloc, avail, and a discard list a
   * WiredTiger-written file may have): released when the next checkpoint replaces them.
   */
  private checkpointListBlocks: FileAddress[] = [];
  private fileEnd: number;
  private closed = false;
  /** Bytes of the tree the last checkpoint wrote: the metadata's checkpoint `size=`. */
  lastCheckpointBytes = 0;

  /** Creates a new file holding only the descriptor block, durably. */
  static create(path: string, allocationSize: number): void {
    const fd = openSync(path, 'wx');
    try {
      writeSync(fd, buildDescriptor(allocationSize), 0, allocationSize, 0);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  constructor(readonly path: string, options: FileBlockManagerOptions) {
    this.name = basename(path);
    this.allocationSize = options.allocationSize;
    this.readOnly = options.readOnly;
    try {
      this.fd = openSync(path, options.readOnly ? 'r' : 'r+');
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code === 'ENOENT' ? ErrorCode.MissingFile : ErrorCode.Io;
      throw new IoError(`cannot open ${this.name}`, { file: this.name, cause }, code);
    }
    try {
      const size = fstatSync(this.fd).size;
      if (size < this.allocationSize) {
        throw new FormatError(`file is ${size} bytes, shorter than its descriptor block`, { file: this.name, offset: size }, ErrorCode.FormatTruncated);
      }
      const unit = Buffer.alloc(this.allocationSize);
      readSync(this.fd, unit, 0, this.allocationSize, 0);
      checkDescriptor(unit, this.name);
      this.fileEnd = this.allocationSize;
      if (options.checkpointAddr) this.loadCheckpoint(options.checkpointAddr, size);
    } catch (error) {
      closeSync(this.fd);
      throw error;
    }
  }

  /** Decodes a metadata `addr=` value; a failure names this file, whose checkpoint it is. */
  private decodeCheckpoint(addrHex: string): FileCheckpointCookie {
    try {
      return decodeFileCheckpointCookie(Buffer.from(addrHex, 'hex'), this.allocationSize);
    } catch (error) {
      if (!(error instanceof FormatError)) throw error;
      throw new FormatError(`the checkpoint address of ${this.name} does not decode: ${error.message}`, {
        file: this.name, key: 'checkpoint', offset: error.location.offset, cause: error,
      }, error.code);
    }
  }

  private loadCheckpoint(addrHex: string, actualSize: number): void {
    const cookie = this.decodeCheckpoint(addrHex);
    if (cookie.fileSize > actualSize) {
      throw new FormatError(`file is ${actualSize} bytes but its checkpoint needs ${cookie.fileSize}`, { file: this.name, offset: actualSize }, ErrorCode.FormatTruncated);
    }
    this.fileEnd = Math.max(this.allocationSize, cookie.fileSize);
    if (cookie.alloc.size > 0) {
      const list = this.readBlock(cookie.alloc, PageType.BlockManager);
      for (const extent of readExtentList(list, { file: this.name, offset: cookie.alloc.offset })) {
        if (extent.offset < this.allocationSize || extent.offset + extent.size > this.fileEnd) {
          throw new FormatError('checkpoint extent lies outside the file', { file: this.name, offset: extent.offset });
        }
        this.inUse.add(extent.offset, extent.size);
      }
    } else if (cookie.root.size > 0) {
      // A checkpoint without an alloc list (allowed for reading): keep the whole file.
      this.inUse.add(this.allocationSize, this.fileEnd - this.allocationSize);
    }
    for (const list of [cookie.alloc, cookie.avail, cookie.discard]) {
      if (list.size === 0) continue;
      this.inUse.add(list.offset, list.size);
      this.checkpointListBlocks.push(list);
    }
    // Every byte the checkpoint does not use is free (orphans of an interrupted checkpoint too);
    // an avail list, when the file has one, describes the same space.
    this.available.add(this.allocationSize, this.fileEnd - this.allocationSize);
    for (const e of this.inUse.extents()) this.available.remove(e.offset, e.size);
  }

  private readBlock(address: FileAddress, expectedType?: number): Buffer {
    this.assertOpen();
    if (address.offset < this.allocationSize || address.offset % this.allocationSize !== 0 || address.size < this.allocationSize) {
      throw new FormatError(`invalid block address (offset ${address.offset}, size ${address.size})`, { file: this.name, offset: address.offset });
    }
    const block = Buffer.allocUnsafe(address.size);
    const n = readSync(this.fd, block, 0, address.size, address.offset);
    if (n !== address.size) {
      throw new FormatError(`block at ${address.offset} is truncated: read ${n} of ${address.size} bytes`, { file: this.name, offset: address.offset }, ErrorCode.FormatTruncated);
    }
    checkBlock(block, address.checksum, { file: this.name, offset: address.offset });
    const header = readPageHeader(block);
    if (header.memSize < BLOCK_PAYLOAD_OFFSET || header.memSize > block.length) {
      throw new FormatError(`page mem_size ${header.memSize} does not fit its block`, { file: this.name, offset: address.offset + 16 });
    }
    if (expectedType !== undefined && header.type !== expectedType) {
      throw new FormatError(`block type ${header.type} is not ${expectedType}`, { file: this.name, offset: address.offset + 24 });
    }
    return block;
  }

  read(address: Uint8Array): ReadPage {
    const decoded = decodeFileAddress(address, this.allocationSize);
    return { image: this.readBlock(decoded), payloadOffset: BLOCK_PAYLOAD_OFFSET };
  }

  write(image: Buffer, replaces?: Uint8Array): Buffer {
    this.assertWritable();
    const { block, checksum } = sealBlock(image, this.allocationSize);
    const offset = this.allocate(block.length);
    this.writeAt(block, offset);
    if (replaces) this.free(replaces);
    return encodeFileAddress({ offset, size: block.length, checksum }, this.allocationSize);
  }

  private writeAt(block: Buffer, offset: number): void {
    let done = 0;
    while (done < block.length) done += writeSync(this.fd, block, done, block.length - done, offset + done);
  }

  private allocate(size: number): number {
    const offset = this.available.takeFirstFit(size) ?? this.extendFile(size);
    this.inUse.add(offset, size);
    this.sinceCheckpoint.add(offset, size);
    return offset;
  }

  private extendFile(size: number): number {
    const offset = this.fileEnd;
    this.fileEnd += size;
    return offset;
  }

  free(address: Uint8Array): void {
    this.assertWritable();
    const { offset, size } = decodeFileAddress(address, this.allocationSize);
    if (size === 0) return;
    this.release(offset, size);
  }

  private release(offset: number, size: number): void {
    this.inUse.remove(offset, size);
    if (this.sinceCheckpoint.contains(offset, size)) {
      // Never part of a durable checkpoint: reusable at once.
      this.sinceCheckpoint.remove(offset, size);
      this.available.add(offset, size);
    } else {
      this.pendingFree.add(offset, size);
    }
  }

  checkpoint(rootAddress: Uint8Array | undefined): string {
    this.assertWritable();
    if (!rootAddress) {
      fsyncSync(this.fd);
      this.lastCheckpointBytes = 0;
      return '';
    }
    // The previous checkpoint's lists are replaced by this one's.
    for (const list of this.checkpointListBlocks.splice(0)) this.release(list.offset, list.size);
    // Frees so far are not in this checkpoint; frees from now on may be (this checkpoint's blocks).
    for (const e of this.pendingFree.extents()) this.releaseWhenDurable.add(e.offset, e.size);
    this.pendingFree.clear();
    const treeExtents = this.inUse.extents();
    const treeBytes = treeExtents.reduce((sum, e) => sum + e.size, 0);
    this.lastCheckpointBytes = treeBytes;
    const image = buildExtentListImage(treeExtents);
    const { block, checksum } = sealBlock(image, this.allocationSize);
    const offset = this.allocate(block.length);
    this.writeAt(block, offset);
    const alloc = { offset, size: block.length, checksum };
    const avail = this.writeAvailList();
    fsyncSync(this.fd);
    this.checkpointListBlocks = [alloc, avail].filter((list) => list.size > 0);
    // Every block written so far belongs to this checkpoint now.
    this.sinceCheckpoint.clear();
    const root = decodeFileAddress(rootAddress, this.allocationSize);
    const cookie = encodeFileCheckpointCookie({
      root, alloc, avail, discard: NO_FILE_ADDRESS,
      fileSize: this.fileEnd, checkpointSize: Math.max(0, treeBytes - root.size),
    }, this.allocationSize);
    return cookie.toString('hex');
  }

  /**
   * Writes the checkpoint's avail list: every range of the file no block of the checkpoint
   * uses, so the free space is described (WiredTiger reuses free space only from this list, and
   * its verify reports ranges no list names). The list is built before its own block is
   * allocated, as WiredTiger builds it, so it may cover that block; readers take it out.
   * Returns no address when the file has no free space.
   */
  private writeAvailList(): FileAddress {
    const free = new ExtentSet();
    free.add(this.allocationSize, this.fileEnd - this.allocationSize);
    for (const e of this.inUse.extents()) free.remove(e.offset, e.size);
    const extents = free.extents();
    if (extents.length === 0) return NO_FILE_ADDRESS;
    const { block, checksum } = sealBlock(buildExtentListImage(extents), this.allocationSize);
    const offset = this.allocate(block.length);
    this.writeAt(block, offset);
    return { offset, size: block.length, checksum };
  }

  checkpointDurable(): void {
    const target = this.backupHolds > 0 ? this.heldForBackup : this.available;
    for (const e of this.releaseWhenDurable.extents()) target.add(e.offset, e.size);
    this.releaseWhenDurable.clear();
  }

  /**
   * Keeps every block of the last durable checkpoint as it is until the returned function is
   * called: space later checkpoints free is not reused meanwhile, so a copy of the file taken
   * while writes go on still holds that checkpoint whole (a backup). Holds may overlap.
   */
  holdFreedSpace(): () => void {
    this.backupHolds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.backupHolds > 0) return;
      for (const e of this.heldForBackup.extents()) this.available.add(e.offset, e.size);
      this.heldForBackup.clear();
    };
  }

  /** The file's size in bytes as the block manager sees it (what a copy must include). */
  get size(): number {
    return this.fileEnd;
  }

  rootFromCheckpoint(addr: string): Buffer | undefined {
    if (!addr) return undefined;
    const cookie = this.decodeCheckpoint(addr);
    return cookie.root.size === 0 ? undefined : encodeFileAddress(cookie.root, this.allocationSize);
  }

  describe(address: Uint8Array): string {
    const { offset, size, checksum } = decodeFileAddress(address, this.allocationSize);
    return `[${offset}-${offset + size}, ${size}, ${checksum}]`;
  }

  /** Tree extents in use and the file size, for statistics and verification. */
  usage(): { inUse: Extent[]; fileSize: number } {
    return { inUse: this.inUse.extents(), fileSize: this.fileEnd };
  }

  alignedSize(memSize: number): number {
    return alignToAllocation(memSize, this.allocationSize);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }

  private assertOpen(): void {
    if (this.closed) throw new StateError(ErrorCode.Closed, `${this.name} is closed`, { file: this.name });
  }

  private assertWritable(): void {
    this.assertOpen();
    if (this.readOnly) throw new StateError(ErrorCode.ReadOnly, `${this.name} is open read-only`, { file: this.name });
  }
}
