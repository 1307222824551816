import {
  BLOCK_PAYLOAD_OFFSET, computeBlockChecksum, EXTENT_LIST_MAGIC, hex32, PAGE_HEADER_SIZE, PageType, readPackedUint,
  type Extent, type FileAddress,
} from '../format/index.js';
import { errorMessage, FindingCode, type FindingLocation, type FindingSink } from './findings.js';
import type { FileSource } from './sources.js';

/**
 * Space accounting of a `.wt` file (WiredTiger's `block_vrfy.c`): the checkpoint's extent
 * lists must parse and describe the tree exactly, and what no checkpoint uses is free space,
 * which may only hold zeros or intact old blocks.
 */

/** The three extent lists a checkpoint cookie names. */
export type ExtentListKind = 'alloc' | 'avail' | 'discard';

/**
 * Reads and checks one extent-list block of a checkpoint. Returns its extents, or undefined
 * after reporting why the list cannot be used. Alloc and discard lists are one sorted run. An
 * avail list may be two (WiredTiger writes the free list, then the ranges the checkpoint frees
 * when it completes), merged as WiredTiger's reader merges them; extents that overlap after the
 * merge are still reported. As WiredTiger's reader does, the avail list's own block is taken
 * out of it: a writer allocates that block from the space the list describes.
 */
export function readExtentListBlock(
  file: FileSource, address: FileAddress, kind: ExtentListKind, fileSize: number, sink: FindingSink, where: FindingLocation,
): Extent[] | undefined {
  const page = file.readBlock(address, sink, where);
  if (page === undefined) return undefined;
  sink.stats.pages++;
  sink.stats.bytes += page.image.length;
  const at = (offset: number): FindingLocation => ({ ...where, ...file.where, offset: address.offset + offset });
  const header = page.header;
  if (header.type !== PageType.BlockManager) {
    sink.error(FindingCode.PageTypeUnexpected, `${kind} extent list block has page type ${header.type}, not ${PageType.BlockManager}`, at(24));
    return undefined;
  }
  if (header.recno !== 0n || header.unused !== 0 || header.version > 1) {
    sink.error(FindingCode.PageHeaderInvalid, `${kind} extent list has an invalid page header (recno, unused or version)`, at(0));
  }
  const end = BLOCK_PAYLOAD_OFFSET + header.entries;
  if (end !== header.memSize) {
    sink.error(FindingCode.ExtentListInvalid, `${kind} extent list data length ${header.entries} does not match mem_size ${header.memSize}`, at(20));
    return undefined;
  }
  const image = page.image;
  let p = BLOCK_PAYLOAD_OFFSET;
  const read = (): number => {
    if (p >= end) throw new RangeError('the list runs past its data length');
    const [value, n] = readPackedUint(image, p);
    p += n;
    return value;
  };
  const allocationSize = file.allocationSize;
  const extents: Extent[] = [];
  let runs = 1;
  try {
    const magic = read();
    const zero = read();
    if (magic !== EXTENT_LIST_MAGIC || zero !== 0) {
      sink.error(FindingCode.ExtentListInvalid, `${kind} extent list starts with (${magic}, ${zero}), not (${EXTENT_LIST_MAGIC}, 0)`, at(BLOCK_PAYLOAD_OFFSET));
      return undefined;
    }
    let previousEnd = 0;
    for (;;) {
      const pairAt = p;
      const offset = read();
      const size = read();
      if (offset === 0) {
        const terminators = kind === 'avail' ? [0, 1] : [0];
        if (!terminators.includes(size)) {
          sink.error(FindingCode.ExtentListInvalid, `${kind} extent list ends with (0, ${size})`, at(pairAt));
          return undefined;
        }
        break;
      }
      if (offset % allocationSize !== 0 || size % allocationSize !== 0 || size === 0 || offset < allocationSize || offset + size > fileSize) {
        sink.error(FindingCode.ExtentListInvalid, `${kind} extent [${offset}, ${size}] is not a valid range of the ${fileSize}-byte file`, at(pairAt));
        return undefined;
      }
      if (offset < previousEnd) {
        if (kind !== 'avail' || runs === 2) {
          sink.error(FindingCode.ExtentListInvalid, `${kind} extent [${offset}, ${size}] is out of order or overlaps the one before it`, at(pairAt));
          return undefined;
        }
        runs = 2;
      }
      previousEnd = offset + size;
      extents.push({ offset, size });
    }
  } catch (error) {
    sink.error(FindingCode.ExtentListInvalid, `${kind} extent list does not decode: ${errorMessage(error)}`, at(p));
    return undefined;
  }
  if (p !== end) {
    sink.error(FindingCode.ExtentListInvalid, `${kind} extent list has ${end - p} bytes after its terminator`, at(p));
    return undefined;
  }
  if (runs === 1) return kind === 'avail' ? withoutRange(extents, address) : extents;
  const merged = [...extents].sort((x, y) => x.offset - y.offset);
  for (let i = 1; i < merged.length; i++) {
    const previous = merged[i - 1]!;
    const extent = merged[i]!;
    if (extent.offset < previous.offset + previous.size) {
      sink.error(FindingCode.ExtentListInvalid, `avail extent [${extent.offset}, ${extent.size}] overlaps [${previous.offset}, ${previous.size}] once its two runs are merged`, at(BLOCK_PAYLOAD_OFFSET));
      return undefined;
    }
  }
  return withoutRange(merged, address);
}

/** `extents` (sorted) without the bytes of `range`. */
function withoutRange(extents: Extent[], range: { offset: number; size: number }): Extent[] {
  const end = range.offset + range.size;
  return extents.flatMap((e) => {
    if (e.offset + e.size <= range.offset || e.offset >= end) return [e];
    const parts: Extent[] = [];
    if (e.offset < range.offset) parts.push({ offset: e.offset, size: range.offset - e.offset });
    if (e.offset + e.size > end) parts.push({ offset: end, size: e.offset + e.size - end });
    return parts;
  });
}

/**
 * Sorted, merged byte ranges with set operations, for space accounting. Ranges that touch are
 * merged; look-ups are binary searches, so a file of many scattered blocks costs no more per
 * block than a contiguous one.
 */
export class RangeSet {
  private ranges: Extent[] = [];

  static of(extents: Iterable<Extent>): RangeSet {
    const sorted = [...extents].filter((e) => e.size > 0).sort((x, y) => x.offset - y.offset);
    const set = new RangeSet();
    for (const e of sorted) {
      const last = set.ranges[set.ranges.length - 1];
      if (last !== undefined && e.offset <= last.offset + last.size) {
        last.size = Math.max(last.size, e.offset + e.size - last.offset);
      } else {
        set.ranges.push({ offset: e.offset, size: e.size });
      }
    }
    return set;
  }

  /** The index of the first range ending at or after `offset` (touching counts). */
  private firstEndingFrom(offset: number): number {
    let low = 0;
    let high = this.ranges.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      const r = this.ranges[mid]!;
      if (r.offset + r.size < offset) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  add(offset: number, size: number): void {
    if (size <= 0) return;
    const first = this.firstEndingFrom(offset);
    let start = offset;
    let end = offset + size;
    let last = first;
    for (; last < this.ranges.length; last++) {
      const r = this.ranges[last]!;
      if (r.offset > end) break;
      start = Math.min(start, r.offset);
      end = Math.max(end, r.offset + r.size);
    }
    this.ranges.splice(first, last - first, { offset: start, size: end - start });
  }

  /** True when every byte of the range is in the set. */
  contains(offset: number, size: number): boolean {
    // Merged ranges never touch: only the one reaching `offset` can hold the whole range.
    const r = this.ranges[this.firstEndingFrom(size > 0 ? offset + 1 : offset)];
    return r !== undefined && r.offset <= offset && r.offset + r.size >= offset + size;
  }

  /** The parts of `[offset, offset + size)` in the set. */
  intersect(offset: number, size: number): Extent[] {
    const out: Extent[] = [];
    for (const r of this.ranges) {
      const start = Math.max(r.offset, offset);
      const end = Math.min(r.offset + r.size, offset + size);
      if (start < end) out.push({ offset: start, size: end - start });
    }
    return out;
  }

  /** The parts of `[from, to)` not in the set. */
  gaps(from: number, to: number): Extent[] {
    const out: Extent[] = [];
    let cursor = from;
    for (const r of this.ranges) {
      if (r.offset + r.size <= cursor) continue;
      if (r.offset >= to) break;
      if (r.offset > cursor) out.push({ offset: cursor, size: r.offset - cursor });
      cursor = Math.max(cursor, r.offset + r.size);
    }
    if (cursor < to) out.push({ offset: cursor, size: to - cursor });
    return out;
  }

  extents(): Extent[] {
    return this.ranges.map((r) => ({ ...r }));
  }
}

/** The blocks of one checkpoint, for the extent-list checks. */
export interface CheckpointSpace {
  /** Tree blocks reached by the walk (root, internal, leaf, overflow). */
  treeBlocks: Array<{ offset: number; size: number; what: string }>;
  /** Every range the tree references, including blocks that failed their checks. */
  referenced: Array<{ offset: number; size: number }>;
  /** The extent-list blocks the cookie names. */
  listBlocks: Array<{ kind: ExtentListKind; address: FileAddress }>;
  alloc: Extent[] | undefined;
  avail: Extent[] | undefined;
  discard: Extent[] | undefined;
  /** Whether the cookie names an alloc list at all. */
  hasAllocList: boolean;
  fileSize: number;
  /** False when the walk could not read every page: unreached ranges then say nothing new. */
  treeComplete: boolean;
}

/**
 * Checks one checkpoint's space: tree blocks do not overlap; each lies in the alloc list;
 * listed ranges are reached (warning); free and allocated lists are disjoint; and, when the
 * writer keeps an avail list, every byte of the file is accounted for (warning).
 */
export function checkCheckpointSpace(space: CheckpointSpace, file: FileSource, sink: FindingSink, where: FindingLocation): void {
  const at = (offset: number): FindingLocation => ({ ...where, ...file.where, offset });
  const sorted = [...space.treeBlocks].sort((x, y) => x.offset - y.offset);
  for (let i = 1; i < sorted.length; i++) {
    const previous = sorted[i - 1]!;
    const block = sorted[i]!;
    if (block.offset < previous.offset + previous.size) {
      sink.error(FindingCode.BlockOverlap, `${block.what} [${block.offset}, ${block.size}] overlaps ${previous.what} [${previous.offset}, ${previous.size}]`, at(block.offset));
    }
  }
  for (const list of space.listBlocks) {
    for (const block of sorted) {
      if (list.address.offset < block.offset + block.size && block.offset < list.address.offset + list.address.size) {
        sink.error(FindingCode.BlockOverlap, `${list.kind} extent list block overlaps ${block.what} [${block.offset}, ${block.size}]`, at(list.address.offset));
      }
    }
  }
  if (!space.hasAllocList) {
    if (sorted.length > 0) {
      sink.warning(FindingCode.ExtentListMissing, 'checkpoint has no alloc extent list; its blocks cannot be accounted for', { ...where, ...file.where });
    }
    return;
  }
  if (space.alloc === undefined) return; // already reported as unreadable
  const alloc = RangeSet.of(space.alloc);
  for (const block of sorted) {
    if (!alloc.contains(block.offset, block.size)) {
      sink.error(FindingCode.ExtentNotListed, `${block.what} [${block.offset}, ${block.size}] is not listed in the checkpoint's alloc extent list`, at(block.offset));
    }
  }
  const reached = RangeSet.of([...sorted, ...space.referenced]);
  for (const extent of space.treeComplete ? space.alloc : []) {
    for (const gap of reached.gaps(extent.offset, extent.offset + extent.size)) {
      sink.warning(FindingCode.ExtentUnreached, `alloc extent range [${gap.offset}, ${gap.size}] is listed but no tree page is there`, at(gap.offset));
    }
  }
  for (const [kind, extents] of [['avail', space.avail], ['discard', space.discard]] as const) {
    if (extents === undefined) continue;
    for (const extent of extents) {
      for (const overlap of reached.intersect(extent.offset, extent.size)) {
        sink.error(FindingCode.ExtentOverlap, `${kind} extent [${extent.offset}, ${extent.size}] covers tree blocks at [${overlap.offset}, ${overlap.size}]`, at(overlap.offset));
      }
      if (kind === 'avail') {
        for (const overlap of alloc.intersect(extent.offset, extent.size)) {
          sink.error(FindingCode.ExtentOverlap, `avail extent [${extent.offset}, ${extent.size}] overlaps the alloc list at [${overlap.offset}, ${overlap.size}]`, at(overlap.offset));
        }
      }
    }
  }
  if (space.avail !== undefined && space.treeComplete) {
    // A writer that records free space accounts for every byte; WiredTiger reports the rest.
    const accounted = RangeSet.of([...space.alloc, ...space.avail, ...(space.discard ?? []), ...space.listBlocks.map((l) => l.address)]);
    for (const gap of accounted.gaps(file.allocationSize, space.fileSize)) {
      sink.warning(FindingCode.FileRangeUnverified, `file range [${gap.offset}, ${gap.size}] is in no extent list`, at(gap.offset));
    }
  }
}

/** How a raw allocation unit in free space looks. */
function headerShape(unit: Buffer, allocationSize: number): { failures: number; diskSize: number } {
  let failures = 0;
  if (!unit.subarray(0, 8).every((b) => b === 0)) failures++;
  const type = unit[24]!;
  if (type < PageType.BlockManager || type > PageType.RowLeaf) failures++;
  if (unit[26] !== 0) failures++;
  if (unit[27]! > 1) failures++;
  if (unit[PAGE_HEADER_SIZE + 8]! > 1) failures++;
  if (unit[PAGE_HEADER_SIZE + 9] !== 0 || unit[PAGE_HEADER_SIZE + 10] !== 0 || unit[PAGE_HEADER_SIZE + 11] !== 0) failures++;
  const diskSize = unit.readUInt32LE(PAGE_HEADER_SIZE);
  if (diskSize < allocationSize || diskSize % allocationSize !== 0) failures++;
  const memSize = unit.readUInt32LE(16);
  if (memSize < BLOCK_PAYLOAD_OFFSET || memSize > diskSize) failures++;
  return { failures, diskSize };
}

/**
 * Scans space no checkpoint uses. WiredTiger leaves old blocks in place when it frees them,
 * so free space holds zeros, intact old blocks, or the tails of old blocks partly reused.
 * A unit shaped like a block header whose block fails its checksum (or whose header is off
 * by one field) is a damaged page, reported as a warning: no checkpoint reads it, and a
 * process killed while a checkpoint writes into free space leaves exactly such torn blocks
 * behind, so it is no damage to the data (`--strict` counts it).
 */
export function scanFreeSpace(file: FileSource, used: RangeSet, checkpointEnd: number, sink: FindingSink): void {
  const allocationSize = file.allocationSize;
  const end = file.size - (file.size % allocationSize);
  for (const gap of used.gaps(allocationSize, end)) {
    let offset = gap.offset;
    const gapEnd = gap.offset + gap.size;
    while (offset < gapEnd) {
      const unit = file.readBytes(offset, allocationSize);
      if (unit.length < allocationSize) break;
      if (unit.every((b) => b === 0)) {
        offset += allocationSize;
        continue;
      }
      const { failures, diskSize } = headerShape(unit, allocationSize);
      const report = (message: string): void => {
        const where = offset < checkpointEnd ? 'space no checkpoint uses' : "space beyond the checkpoint's file size";
        sink.warning(FindingCode.FreeSpaceDamaged, `${message} (in ${where})`, { ...file.where, offset });
      };
      if (failures === 0) {
        if (offset + diskSize <= gapEnd) {
          const block = file.readBytes(offset, diskSize);
          const stored = block.readUInt32LE(PAGE_HEADER_SIZE + 4);
          if (computeBlockChecksum(block) === stored) {
            offset += diskSize;
            continue;
          }
          report(`old page image in free space fails its checksum ${hex32(stored)}`);
        } else {
          report(`old page image in free space claims ${diskSize} bytes, running into space in use`);
        }
      } else if (failures === 1) {
        report('free space holds a damaged page header');
      }
      offset += allocationSize;
    }
  }
}
