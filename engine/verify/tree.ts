import {
  CellDecoder, CellType, decodeTimeWindow, isStopped, PageFlags, PageType, TS_MAX, TXN_MAX, type Cell, type RawTimeFields,
} from '../format/index.js';
import { errorMessage, FindingCode, type FindingLocation, type FindingSink } from './findings.js';
import type { PageImage, PageSource } from './sources.js';

/**
 * Walking one checkpoint tree: every page reachable from the root, in key order, with the
 * checks WiredTiger's verify runs on pages (`bt_vrfy_dsk.c`) and between pages (`bt_vrfy.c`).
 * The walk yields the records it finds, so dumps read through the same checks; verification
 * simply drains it. A page that fails a check is reported and skipped, never trusted.
 */

/** A record as stored: key and value bytes (a missing value cell is an empty value). */
export interface StoredRecord {
  key: Buffer;
  value: Buffer;
}

/** Numbers per record in `LeafRecords.ranges`. */
const RANGE_FIELDS = 6;
const EMPTY = Buffer.alloc(0);

/**
 * The records of one leaf as byte ranges of a few buffers: the page image (buffer 0), the keys
 * the leaf rebuilt from prefix compression (buffer 1) and its overflow items. Walking a leaf
 * makes no object per record. It is valid until the walk goes on (the walk reuses it and the
 * page's buffer); `key(i)` and `value(i)` are views, iterating yields records of their own.
 */
export class LeafRecords implements Iterable<StoredRecord> {
  /** How many records. */
  length = 0;
  /** Whether the leaf holds overflow items. */
  hasOverflow = false;
  /** What `ranges` index. */
  readonly buffers: Buffer[] = [EMPTY, EMPTY];
  /** Six numbers per record: key buffer, key start, key end, value buffer, value start, value end. */
  ranges = new Int32Array(RANGE_FIELDS * 256);

  /** Empties it for the leaf `image`; a walk reuses one for every leaf. */
  reset(image: Buffer): void {
    this.length = 0;
    this.hasOverflow = false;
    this.buffers.length = 2;
    this.buffers[0] = image;
    this.buffers[1] = EMPTY;
  }

  push(keyBuffer: number, keyStart: number, keyEnd: number, valueBuffer: number, valueStart: number, valueEnd: number): void {
    let ranges = this.ranges;
    const at = this.length * RANGE_FIELDS;
    if (at + RANGE_FIELDS > ranges.length) {
      ranges = new Int32Array(ranges.length * 2);
      ranges.set(this.ranges);
      this.ranges = ranges;
    }
    ranges[at] = keyBuffer;
    ranges[at + 1] = keyStart;
    ranges[at + 2] = keyEnd;
    ranges[at + 3] = valueBuffer;
    ranges[at + 4] = valueStart;
    ranges[at + 5] = valueEnd;
    this.length++;
  }

  key(i: number): Buffer {
    const at = i * RANGE_FIELDS;
    return this.buffers[this.ranges[at]!]!.subarray(this.ranges[at + 1], this.ranges[at + 2]);
  }

  value(i: number): Buffer {
    const at = i * RANGE_FIELDS + 3;
    return this.buffers[this.ranges[at]!]!.subarray(this.ranges[at + 1], this.ranges[at + 2]);
  }

  /** The records, each copied out of the page so that it outlives the walk. */
  *[Symbol.iterator](): Iterator<StoredRecord> {
    for (let i = 0; i < this.length; i++) yield { key: Buffer.from(this.key(i)), value: Buffer.from(this.value(i)) };
  }
}

/** Compares `a[aStart, aEnd)` with `b[bStart, bEnd)` as `Buffer.compare` does. */
export function compareRanges(a: Buffer, aStart: number, aEnd: number, b: Buffer, bStart: number, bEnd: number): number {
  const aLength = aEnd - aStart;
  const bLength = bEnd - bStart;
  const n = aLength < bLength ? aLength : bLength;
  // Short keys are compared here: a call into Buffer's native compare costs more than the loop.
  if (n > 64) return a.compare(b, bStart, bEnd, aStart, aEnd);
  for (let i = 0; i < n; i++) {
    const d = a[aStart + i]! - b[bStart + i]!;
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return aLength === bLength ? 0 : aLength < bLength ? -1 : 1;
}

/**
 * Compares `[aStart, aEnd)` with `[bStart, bEnd)`, both in `view`, as `Buffer.compare` does:
 * four bytes at a time (big-endian words order as their bytes do), then byte by byte.
 */
export function compareInView(view: DataView, aStart: number, aEnd: number, bStart: number, bEnd: number): number {
  const aLength = aEnd - aStart;
  const bLength = bEnd - bStart;
  const n = aLength < bLength ? aLength : bLength;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const x = view.getUint32(aStart + i);
    const y = view.getUint32(bStart + i);
    if (x !== y) return x < y ? -1 : 1;
  }
  for (; i < n; i++) {
    const x = view.getUint8(aStart + i);
    const y = view.getUint8(bStart + i);
    if (x !== y) return x < y ? -1 : 1;
  }
  return aLength === bLength ? 0 : aLength < bLength ? -1 : 1;
}

/** What a walk found, beside its records. */
export interface TreeWalkSummary {
  internalPages: number;
  leafPages: number;
  overflowPages: number;
  records: number;
  /** Bytes of the pages read. */
  bytes: number;
  /** Levels below the root, the root included. */
  depth: number;
  /** The largest write generation of a tree page. */
  maxWriteGen: bigint;
  /** File ranges of every block read and sound (file sources only), for extent-list checks. */
  blocks: Array<{ offset: number; size: number; what: string }>;
  /**
   * File ranges of every block the tree references, sound or not: space the tree claims,
   * so a damaged page is reported once, not again as unreached or as damaged free space.
   */
  referenced: Array<{ offset: number; size: number }>;
}

/** Deeper than any real tree; a walk that reaches it is following a corrupt reference. */
const MAX_DEPTH = 64;
const DEFINED_PAGE_FLAGS = PageFlags.Compressed | PageFlags.EmptyValueAll | PageFlags.EmptyValueNone | PageFlags.Encrypted | PageFlags.FastTruncateUpdate;

interface ChildReference {
  address: Buffer;
  /** The address cell type in the parent; undefined for the root. */
  cellType: number | undefined;
  parentWriteGen: bigint | undefined;
  /** Every key below this reference is >= lower (when set) and < upper (when set). */
  lower: Buffer | undefined;
  upper: Buffer | undefined;
  /** Where the reference is, for findings. */
  referrer: FindingLocation;
  depth: number;
}

interface PageResult {
  type: number;
  writeGen: bigint;
  hasOverflow: boolean;
}

/** Whether the first `count` of the ascending `values` hold `value`. */
function sortedIncludes(values: readonly number[], count: number, value: number): boolean {
  let low = 0;
  let high = count - 1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    const at = values[mid]!;
    if (at === value) return true;
    if (at < value) low = mid + 1;
    else high = mid - 1;
  }
  return false;
}

const hexKey = (key: Buffer): string => (key.length > 32 ? `${key.subarray(0, 32).toString('hex')}...` : key.toString('hex'));

/** Walks one tree. Create one per walk. */
export class TreeWalker {
  readonly summary: TreeWalkSummary = {
    internalPages: 0, leafPages: 0, overflowPages: 0, records: 0, bytes: 0, depth: 0, maxWriteGen: 0n, blocks: [], referenced: [],
  };
  private readonly seen = new Set<string>();
  /** Decodes every cell of the walk; a second one re-reads the target of a value copy. */
  private readonly decoder = new CellDecoder();
  private readonly copyDecoder = new CellDecoder();
  /** A view of the last leaf image, kept while leaves come in the same buffer. */
  private imageView: DataView | undefined;
  /** Zeros to compare page padding with. */
  private zeros = EMPTY;
  /** The records of the current leaf. */
  private readonly leafRecords = new LeafRecords();
  /** The offsets of the current leaf's value cells, ascending, for value copies to point back at. */
  private readonly valueOffsets: number[] = [];
  /** The last key of the leaves walked so far, for order across pages. */
  private lastKey: Buffer | undefined;

  constructor(private readonly source: PageSource, private readonly sink: FindingSink, private readonly where: FindingLocation) {}

  /** Yields every record of the tree under `root` in key order. */
  *records(root: Buffer): Generator<StoredRecord> {
    for (const leafRecords of this.leaves(root)) yield* leafRecords;
  }

  /**
   * Yields the records of each leaf under `root`, one `LeafRecords` per leaf, in key order:
   * the walk passes a leaf's records up through every level of the tree at once, not record by
   * record.
   */
  *leaves(root: Buffer): Generator<LeafRecords> {
    yield* this.visit({
      address: root, cellType: undefined, parentWriteGen: undefined, lower: undefined, upper: undefined,
      referrer: { ...this.where }, depth: 1,
    });
  }

  /** Walks the whole tree for its checks and counts. */
  run(root: Buffer): TreeWalkSummary {
    for (const leafRecords of this.leaves(root)) void leafRecords;
    return this.summary;
  }

  private at(page: PageImage, offset: number): FindingLocation {
    return { ...this.where, ...page.location, offset: page.offsetBase + offset };
  }

  /**
   * Reads a page once; a second reference to it is corruption (a tree is not a graph). A
   * `transient` page may be overwritten by the next transient read (see `PageSource.read`).
   */
  private readOnce(address: Buffer, referrer: FindingLocation, what: string, transient = false): PageImage | undefined {
    const range = this.source.range?.(address);
    if (range !== undefined) this.summary.referenced.push(range);
    const page = this.source.read(address, this.sink, referrer, transient);
    if (page === undefined) return undefined;
    if (this.seen.has(page.identity)) {
      this.sink.error(FindingCode.BlockReferencedTwice, `${what} at ${page.identity} is referenced more than once`, referrer);
      return undefined;
    }
    this.seen.add(page.identity);
    this.sink.stats.pages++;
    this.sink.stats.bytes += page.image.length;
    this.summary.bytes += page.image.length;
    if (page.block) {
      this.summary.blocks.push({ ...page.block, what });
      // Tree pages are zero-padded to their block size (extent lists may carry a trailer):
      // compared with zeros at once, then searched byte by byte only when they differ.
      const { image, header } = page;
      const padding = image.length - header.memSize;
      if (padding > 0) {
        if (this.zeros.length < padding) this.zeros = Buffer.alloc(padding);
        if (image.compare(this.zeros, 0, padding, header.memSize, image.length) !== 0) {
          let i = header.memSize;
          while (image[i] === 0) i++;
          this.sink.error(FindingCode.PageTrailingBytes, `non-zero byte after the page's mem_size ${header.memSize}`, this.at(page, i));
        }
      }
    }
    return page;
  }

  private *visit(ref: ChildReference): Generator<LeafRecords, PageResult | undefined> {
    if (ref.depth > MAX_DEPTH) {
      this.sink.error(FindingCode.TreeTooDeep, `tree is deeper than ${MAX_DEPTH} levels; the reference is not followed`, ref.referrer);
      return undefined;
    }
    // Read transient: a leaf is done with before the next page is read, and an internal page,
    // whose keys bound every page below it, is copied out of the shared buffer.
    let page = this.readOnce(ref.address, ref.referrer, 'page', true);
    if (page === undefined) return undefined;
    if (page.header.type !== PageType.RowLeaf) page = { ...page, image: Buffer.from(page.image) };
    this.summary.depth = Math.max(this.summary.depth, ref.depth);
    const header = page.header;
    if (!this.checkTreePageHeader(page)) return undefined;
    if (header.writeGen > this.summary.maxWriteGen) this.summary.maxWriteGen = header.writeGen;
    if (ref.parentWriteGen !== undefined && header.writeGen >= ref.parentWriteGen) {
      this.sink.error(FindingCode.WriteGenOrder, `page write generation ${header.writeGen} is not below its parent's ${ref.parentWriteGen}`, this.at(page, 8));
    }
    if (ref.cellType === undefined && header.type === PageType.RowLeaf) {
      this.sink.warning(FindingCode.RootIsLeaf, 'the root page is a leaf; WiredTiger always writes an internal root', this.at(page, 24));
    }
    if (ref.cellType !== undefined) {
      const wantsInternal = ref.cellType === CellType.AddressInternal;
      if (wantsInternal !== (header.type === PageType.RowInternal)) {
        this.sink.error(FindingCode.AddressTypeMismatch, `address cell type 0x${ref.cellType.toString(16)} does not match a child of page type ${header.type}`, ref.referrer);
      }
    }
    if (header.type === PageType.RowLeaf) {
      this.summary.leafPages++;
      const records = this.leaf(page, ref);
      if (records.length > 0) yield records;
      const hasOverflow = records.hasOverflow;
      if (hasOverflow && ref.cellType === CellType.AddressLeafNoOverflow) {
        this.sink.error(FindingCode.AddressTypeMismatch, 'a leaf referenced as having no overflow items holds overflow items', ref.referrer);
      }
      return { type: header.type, writeGen: header.writeGen, hasOverflow };
    }
    this.summary.internalPages++;
    yield* this.internal(page, ref);
    return { type: header.type, writeGen: header.writeGen, hasOverflow: false };
  }

  /** Header checks for a tree page; false when its cells cannot be read. */
  private checkTreePageHeader(page: PageImage): boolean {
    const header = page.header;
    if (header.type !== PageType.RowInternal && header.type !== PageType.RowLeaf) {
      const why = header.type === PageType.ColumnFix || header.type === PageType.ColumnInternal || header.type === PageType.ColumnVariable
        ? 'column-store pages are not supported'
        : 'it is not a row-store page';
      this.sink.error(FindingCode.PageTypeUnexpected, `page type ${header.type} in a tree: ${why}`, this.at(page, 24));
      return false;
    }
    this.checkCommonHeader(page);
    if (header.flags & (PageFlags.Compressed | PageFlags.Encrypted)) {
      this.sink.error(FindingCode.PageHeaderInvalid, 'compressed or encrypted pages cannot be verified', this.at(page, 25));
      return false;
    }
    if (header.type === PageType.RowInternal && header.flags & (PageFlags.EmptyValueAll | PageFlags.EmptyValueNone)) {
      this.sink.error(FindingCode.PageHeaderInvalid, 'an internal page sets a leaf-only flag', this.at(page, 25));
    }
    if (header.writeGen === 0n) {
      this.sink.warning(FindingCode.PageHeaderInvalid, 'page write generation is 0', this.at(page, 8));
    }
    return true;
  }

  private checkCommonHeader(page: PageImage): void {
    const header = page.header;
    if (header.recno !== 0n) this.sink.error(FindingCode.PageHeaderInvalid, `row-store page has record number ${header.recno}`, this.at(page, 0));
    if (header.unused !== 0) this.sink.error(FindingCode.PageHeaderInvalid, 'page header unused byte is not 0', this.at(page, 26));
    if (header.version > 1) this.sink.error(FindingCode.PageHeaderInvalid, `page version ${header.version} is not 0 or 1`, this.at(page, 27));
    if ((header.flags & ~DEFINED_PAGE_FLAGS) !== 0) {
      this.sink.error(FindingCode.PageHeaderInvalid, `page flags 0x${header.flags.toString(16)} set undefined bits`, this.at(page, 25));
    }
    if ((header.flags & PageFlags.EmptyValueAll) && (header.flags & PageFlags.EmptyValueNone)) {
      this.sink.error(FindingCode.PageHeaderInvalid, 'page sets both "all values empty" and "no value empty"', this.at(page, 25));
    }
  }

  /** The cells of a page; stops at the first that does not decode, after reporting it. */
  private cells(page: PageImage): Cell[] {
    const { image, header } = page;
    const cells: Cell[] = [];
    const decoder = this.decoder;
    const fastTruncate = (header.flags & PageFlags.FastTruncateUpdate) !== 0;
    let p = page.payloadOffset;
    for (let i = 0; i < header.entries; i++) {
      if (!this.decodeCell(page, p, i, fastTruncate)) return cells;
      cells.push(decoder.toCell(image));
      p += decoder.size;
    }
    this.checkCellsEnd(page, p);
    return cells;
  }

  /** Decodes cell `i` of a page at `p` into `this.decoder`; reports it and returns false when it does not decode. */
  private decodeCell(page: PageImage, p: number, i: number, fastTruncate: boolean): boolean {
    try {
      this.decoder.decode(page.image, p, page.header.memSize, fastTruncate);
      return true;
    } catch (error) {
      this.sink.error(FindingCode.CellInvalid, `cell ${i} of ${page.header.entries} does not decode: ${errorMessage(error)}`, this.at(page, p));
      return false;
    }
  }

  /** Checks that a page's cells, all decoded, end at its `mem_size`. */
  private checkCellsEnd(page: PageImage, p: number): void {
    const header = page.header;
    if (p !== header.memSize) {
      this.sink.error(FindingCode.CellsSizeMismatch, `the page's ${header.entries} cells end at ${p}, not at its mem_size ${header.memSize}`, this.at(page, p));
    }
  }

  /** Reads the overflow item whose reference cell at `offset` holds `address`. */
  private readOverflow(page: PageImage, offset: number, address: Buffer): Buffer | undefined {
    const referrer = this.at(page, offset);
    const overflow = this.readOnce(address, referrer, 'overflow page');
    if (overflow === undefined) return undefined;
    this.summary.overflowPages++;
    const overflowHeader = overflow.header;
    if (overflowHeader.type !== PageType.Overflow) {
      this.sink.error(FindingCode.PageTypeUnexpected, `overflow reference points at a page of type ${overflowHeader.type}`, referrer);
      return undefined;
    }
    this.checkCommonHeader(overflow);
    const end = overflow.payloadOffset + overflowHeader.entries;
    if (end !== overflowHeader.memSize) {
      this.sink.error(FindingCode.PageHeaderInvalid, `overflow data length ${overflowHeader.entries} does not match mem_size ${overflowHeader.memSize}`, this.at(overflow, 20));
      return undefined;
    }
    return Buffer.from(overflow.image.subarray(overflow.payloadOffset, end));
  }

  private checkTimeWindow(page: PageImage, offset: number, time: RawTimeFields): void {
    const window = decodeTimeWindow(time);
    if (window.stopTs !== TS_MAX && window.startTs > window.stopTs) {
      this.sink.error(FindingCode.TimeWindowInvalid, `value start timestamp ${window.startTs} is after its stop timestamp ${window.stopTs}`, this.at(page, offset));
    }
    if (window.stopTxn !== TXN_MAX && window.startTxn > window.stopTxn) {
      this.sink.error(FindingCode.TimeWindowInvalid, `value start transaction ${window.startTxn} is after its stop transaction ${window.stopTxn}`, this.at(page, offset));
    }
  }

  private viewOf(image: Buffer): DataView {
    const view = this.imageView;
    if (view !== undefined && view.buffer === image.buffer && view.byteOffset === image.byteOffset && view.byteLength === image.length) return view;
    return (this.imageView = new DataView(image.buffer, image.byteOffset, image.length));
  }

  /**
   * Checks the key `buffer[start, end)` at cell `offset` against the previous key of the page
   * (`previous[previousStart, previousEnd)`, when `hasPrevious`), or, for the first key of a
   * leaf, against the last key of the previous leaf and the parent's separator.
   */
  private checkKeyOrder(
    page: PageImage, offset: number, buffer: Buffer, start: number, end: number,
    hasPrevious: boolean, previous: Buffer, previousStart: number, previousEnd: number, ref: ChildReference,
  ): void {
    if (hasPrevious) {
      if (compareRanges(buffer, start, end, previous, previousStart, previousEnd) <= 0) {
        const key = hexKey(buffer.subarray(start, end));
        this.sink.error(FindingCode.KeyOrder, `key ${key} is not greater than the key before it on the page`, this.at(page, offset));
      }
      return;
    }
    const key = buffer.subarray(start, end);
    if (this.lastKey !== undefined && Buffer.compare(key, this.lastKey) <= 0) {
      this.sink.error(FindingCode.KeyOrder, `first key ${hexKey(key)} is not greater than the last key of the previous leaf`, this.at(page, offset));
    }
    if (ref.lower !== undefined && Buffer.compare(key, ref.lower) < 0) {
      this.sink.error(FindingCode.KeyOrder, `first key ${hexKey(key)} sorts before its parent's separator ${hexKey(ref.lower)}`, this.at(page, offset));
    }
  }

  /**
   * A leaf: its records, and whether it holds overflow items. Cells are decoded one
   * at a time into `this.decoder` and records kept as byte ranges (`LeafRecords`): nothing is
   * allocated per cell or per record unless a key is rebuilt from its prefix or an item
   * overflows.
   */
  private leaf(page: PageImage, ref: ChildReference): LeafRecords {
    const { image, header } = page;
    const end = header.memSize;
    const entries = header.entries;
    const records = this.leafRecords;
    records.reset(image);
    const view = this.viewOf(image);
    const buffers = records.buffers;
    const decoder = this.decoder;
    const fastTruncate = (header.flags & PageFlags.FastTruncateUpdate) !== 0;
    // Keys are ranges of `buffers`: the pending one (awaiting its value), the previous one on
    // the page (for order), and the one the next prefix-compressed key starts from.
    let pending = false;
    let pendingBuffer = 0;
    let pendingStart = 0;
    let pendingEnd = 0;
    let hasPrevious = false;
    let previousBuffer = 0;
    let previousStart = 0;
    let previousEnd = 0;
    let hasPrefixSource = false;
    let prefixBuffer = 0;
    let prefixStart = 0;
    let prefixEnd = 0;
    /** Where rebuilt keys go (buffer 1), allocated by the first one. */
    let keys = EMPTY;
    let keysUsed = 0;
    // Reused, and never truncated (which would drop its storage): `valueCount` says how much is this leaf's.
    const valueOffsets = this.valueOffsets;
    let valueCount = 0;
    /** Overflow values read, by the offset of their cell: a value copy may name one again. */
    let overflowValues: Map<number, number | undefined> | undefined;
    let keyCells = 0;
    let valueCells = 0;
    let hasOverflow = false;
    let expectingValue = false;
    let decoded = 0;
    let p = page.payloadOffset;
    for (; decoded < entries; decoded++) {
      if (!this.decodeCell(page, p, decoded, fastTruncate)) break;
      const offset = p;
      p += decoder.size;
      if (!decoder.short && decoder.v !== 0n) {
        this.sink.error(FindingCode.CellInvalid, `row-store cell has a non-zero RLE value ${decoder.v}`, this.at(page, offset));
      }
      const type = decoder.type;
      if (type === CellType.Key || type === CellType.KeyPrefix || type === CellType.KeyOverflow) {
        keyCells++;
        expectingValue = true;
        if (pending) records.push(pendingBuffer, pendingStart, pendingEnd, 0, 0, 0);
        pending = false;
        let keyBuffer = 0;
        let keyStart = decoder.dataStart;
        let keyEnd = decoder.dataEnd;
        const prefix = decoder.prefix;
        if (type === CellType.KeyOverflow) {
          hasOverflow = true;
          const key = this.readOverflow(page, offset, image.subarray(keyStart, keyEnd));
          if (key === undefined) continue;
          keyBuffer = buffers.push(key) - 1;
          keyStart = 0;
          keyEnd = key.length;
        } else if (prefix !== 0) {
          if (keyCells === 1 || !hasPrefixSource) {
            this.sink.error(FindingCode.CellInvalid, `the first key of a page has prefix count ${prefix}`, this.at(page, offset));
            continue;
          }
          if (prefix > prefixEnd - prefixStart) {
            this.sink.error(FindingCode.CellInvalid, `key prefix count ${prefix} is longer than the previous key`, this.at(page, offset));
            continue;
          }
          const suffix = keyEnd - keyStart;
          if (keysUsed + prefix + suffix > keys.length) {
            const grown = Buffer.allocUnsafe(Math.max(2 * keys.length, image.length, keysUsed + prefix + suffix));
            keys.copy(grown, 0, 0, keysUsed);
            keys = grown;
            buffers[1] = keys;
          }
          buffers[prefixBuffer]!.copy(keys, keysUsed, prefixStart, prefixStart + prefix);
          image.copy(keys, keysUsed + prefix, keyStart, keyEnd);
          keyBuffer = 1;
          keyStart = keysUsed;
          keyEnd = keysUsed + prefix + suffix;
          keysUsed = keyEnd;
        }
        if (type !== CellType.KeyOverflow) {
          hasPrefixSource = true;
          prefixBuffer = keyBuffer;
          prefixStart = keyStart;
          prefixEnd = keyEnd;
        }
        // Most keys and the one before them lie in the page: compared there a word at a time,
        // and handed to `checkKeyOrder` (which reports) only when out of order.
        if (!hasPrevious || keyBuffer !== 0 || previousBuffer !== 0 || compareInView(view, keyStart, keyEnd, previousStart, previousEnd) <= 0) {
          this.checkKeyOrder(page, offset, buffers[keyBuffer]!, keyStart, keyEnd, hasPrevious, buffers[previousBuffer]!, previousStart, previousEnd, ref);
        }
        hasPrevious = true;
        previousBuffer = pendingBuffer = keyBuffer;
        previousStart = pendingStart = keyStart;
        previousEnd = pendingEnd = keyEnd;
        pending = true;
      } else if (type === CellType.Value || type === CellType.ValueCopy || type === CellType.ValueOverflow) {
        valueCells++;
        if (type !== CellType.ValueCopy) valueOffsets[valueCount++] = offset;
        if (!expectingValue) {
          this.sink.error(FindingCode.CellInvalid, 'value cell is not preceded by a key cell', this.at(page, offset));
          continue;
        }
        expectingValue = false;
        const time = decoder.time;
        if (time !== undefined) this.checkTimeWindow(page, offset, time);
        // The cell holding the value: this one, or the one a value copy points back at.
        let source = decoder;
        if (type === CellType.ValueCopy) {
          const target = offset - decoder.copyOffset;
          if (decoder.copyOffset === 0 || !sortedIncludes(valueOffsets, valueCount, target)) {
            this.sink.error(FindingCode.CellInvalid, 'value copy cell does not point back at a value cell on the page', this.at(page, offset));
            pending = false;
            continue;
          }
          // It decoded once already, so it decodes again.
          source = this.copyDecoder;
          source.decode(image, target, end, fastTruncate);
        }
        let valueBuffer = 0;
        let valueStart = source.dataStart;
        let valueEnd = source.dataEnd;
        if (source.type === CellType.ValueOverflow) {
          hasOverflow = true;
          overflowValues ??= new Map();
          let index = overflowValues.get(source.offset);
          if (!overflowValues.has(source.offset)) {
            const value = this.readOverflow(page, source.offset, image.subarray(valueStart, valueEnd));
            index = value === undefined ? undefined : buffers.push(value) - 1;
            overflowValues.set(source.offset, index);
          }
          if (index === undefined) {
            pending = false;
            continue;
          }
          valueBuffer = index;
          valueStart = 0;
          valueEnd = buffers[index]!.length;
        }
        const windowTime = time ?? source.time;
        const stopped = windowTime !== undefined && isStopped(decodeTimeWindow(windowTime));
        if (pending && !stopped) records.push(pendingBuffer, pendingStart, pendingEnd, valueBuffer, valueStart, valueEnd);
        pending = false;
      } else {
        this.sink.error(FindingCode.CellInvalid, `cell type 0x${type.toString(16)} is not allowed on a leaf page`, this.at(page, offset));
      }
    }
    if (decoded === entries) this.checkCellsEnd(page, p);
    if (pending) records.push(pendingBuffer, pendingStart, pendingEnd, 0, 0, 0);
    if (decoded === entries) {
      if (header.flags & PageFlags.EmptyValueAll && valueCells !== 0) {
        this.sink.error(FindingCode.PageHeaderInvalid, `page says every value is empty but holds ${valueCells} value cells`, this.at(page, 25));
      }
      if (header.flags & PageFlags.EmptyValueNone && valueCells !== keyCells) {
        this.sink.error(FindingCode.PageHeaderInvalid, `page says no value is empty but has ${keyCells} keys and ${valueCells} values`, this.at(page, 25));
      }
    }
    if (hasPrevious) {
      // A copy: the page's buffer is reused once the walk moves on.
      const last = Buffer.from(buffers[previousBuffer]!.subarray(previousStart, previousEnd));
      if (ref.upper !== undefined && Buffer.compare(last, ref.upper) >= 0) {
        this.sink.error(FindingCode.KeyOrder, `last key ${hexKey(last)} is not below the next separator ${hexKey(ref.upper)} in its parent`, this.at(page, page.payloadOffset));
      }
      this.lastKey = last;
    }
    this.summary.records += records.length;
    this.sink.stats.records += records.length;
    records.hasOverflow = hasOverflow;
    return records;
  }

  private *internal(page: PageImage, ref: ChildReference): Generator<LeafRecords> {
    const cells = this.cells(page);
    const header = page.header;
    if (header.entries % 2 !== 0) {
      this.sink.error(FindingCode.CellInvalid, `internal page has ${header.entries} cells: a key without an address`, this.at(page, 20));
    }
    const children: Array<{ key: Buffer; address: Cell }> = [];
    for (let i = 0; i + 1 < cells.length; i += 2) {
      const keyCell = cells[i]!;
      const addressCell = cells[i + 1]!;
      if (keyCell.type !== CellType.Key && keyCell.type !== CellType.KeyOverflow) {
        this.sink.error(FindingCode.CellInvalid, `internal page expects a key cell, found type 0x${keyCell.type.toString(16)}`, this.at(page, keyCell.offset));
        return;
      }
      if (keyCell.prefix !== 0) {
        this.sink.error(FindingCode.CellInvalid, 'internal page key uses prefix compression', this.at(page, keyCell.offset));
      }
      const addressType = addressCell.type;
      if (addressType !== CellType.AddressInternal && addressType !== CellType.AddressLeaf && addressType !== CellType.AddressLeafNoOverflow && addressType !== CellType.AddressDeleted) {
        this.sink.error(FindingCode.CellInvalid, `internal page expects an address cell, found type 0x${addressType.toString(16)}`, this.at(page, addressCell.offset));
        return;
      }
      const key = keyCell.type === CellType.KeyOverflow ? this.readOverflow(page, keyCell.offset, keyCell.data) : keyCell.data;
      if (key === undefined) return;
      children.push({ key, address: addressCell });
    }
    if (children.length === 0) {
      // An empty root is an empty tree (the engine writes one for a new shared table);
      // below the root, an internal page without children is damage.
      if (ref.cellType !== undefined || header.entries !== 0) {
        this.sink.error(FindingCode.CellInvalid, 'internal page has no children', this.at(page, page.payloadOffset));
      }
      return;
    }
    for (let i = 1; i < children.length; i++) {
      const key = children[i]!.key;
      const at = (): FindingLocation => this.at(page, cells[2 * i]!.offset);
      if (i > 1 && Buffer.compare(key, children[i - 1]!.key) <= 0) {
        this.sink.error(FindingCode.KeyOrder, `separator ${hexKey(key)} is not greater than the separator before it`, at());
      }
      if (ref.lower !== undefined && Buffer.compare(key, ref.lower) < 0) {
        this.sink.error(FindingCode.KeyOrder, `separator ${hexKey(key)} sorts before its parent's separator ${hexKey(ref.lower)}`, at());
      }
      if (ref.upper !== undefined && Buffer.compare(key, ref.upper) >= 0) {
        this.sink.error(FindingCode.KeyOrder, `separator ${hexKey(key)} is not below the next separator ${hexKey(ref.upper)} in its parent`, at());
      }
    }
    for (let i = 0; i < children.length; i++) {
      const child = children[i]!;
      if (child.address.type === CellType.AddressDeleted) continue; // a fast-truncated child holds nothing to read
      yield* this.visit({
        address: Buffer.from(child.address.data),
        cellType: child.address.type,
        parentWriteGen: header.writeGen,
        lower: i === 0 ? ref.lower : child.key,
        upper: i + 1 < children.length ? children[i + 1]!.key : ref.upper,
        referrer: this.at(page, child.address.offset),
        depth: ref.depth + 1,
      });
    }
  }
}
