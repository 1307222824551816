import type { BlockManager, ReadPage } from '../block/index.js';
import { CorruptionError, ErrorCode, FormatError } from '../errors.js';
import {
  CellType, decodeTimeWindow, isStopped, PageFlags, PageType, readPackedUint, readPageHeader, unpackCell, type Cell,
} from '../format/index.js';

/**
 * In-memory pages. A leaf holds sorted keys and their values; a value is either the bytes
 * (visible to everyone) or an `UpdateChain` (versions by commit timestamp, newest first).
 * Internal pages hold separator keys and child references; `keys[0]` sorts below everything.
 */

/** One committed version of a value; `value` null means removed. */
export interface Version {
  ts: bigint;
  value: Buffer | null;
}

/** No older versions: a chain that holds only its newest (a key inserted since the oldest timestamp). */
const noOlderVersions: readonly Version[] = Object.freeze([]);

/**
 * Versions of one key, newest first: the newest inline, because most chains hold only that
 * (an insert not yet older than the oldest timestamp, absent before it), and the older ones
 * after it, the last being the oldest kept. A reader older than every version sees no value.
 */
export class UpdateChain {
  constructor(
    public ts: bigint,
    public value: Buffer | null,
    public older: readonly Version[] = noOlderVersions,
  ) {}

  /** The value visible at `readTs` (undefined: newest), null when removed or absent then. */
  visible(readTs?: bigint): Buffer | null {
    if (readTs === undefined || this.ts <= readTs) return this.value;
    for (const v of this.older) if (v.ts <= readTs) return v.value;
    return null;
  }

  get newestTs(): bigint {
    return this.ts;
  }

  /** The only version left (no older one kept). */
  get single(): boolean {
    return this.older.length === 0;
  }

  /** Makes `value` at `ts` the newest version. */
  add(ts: bigint, value: Buffer | null): void {
    this.older = [{ ts: this.ts, value: this.value }, ...this.older];
    this.ts = ts;
    this.value = value;
  }

  /** Drops versions no reader at or after `oldest` can see. */
  prune(oldest: bigint): void {
    if (this.ts <= oldest) {
      this.older = noOlderVersions;
      return;
    }
    const keep = this.older.findIndex((v) => v.ts <= oldest);
    if (keep >= 0 && keep + 1 < this.older.length) this.older = this.older.slice(0, keep + 1);
  }
}

export type StoredValue = Buffer | UpdateChain;

export class Ref {
  /** Where the page was last written; undefined when it never was. */
  address: Buffer | undefined;
  page: Page | undefined;
  /** True when the child is a leaf (from the address cell type or the page). */
  isLeaf: boolean;
  /**
   * True when the child is a leaf whose image references overflow pages (its address cell is
   * `AddressLeaf`; WiredTiger's verify refuses overflow items under `AddressLeafNoOverflow`).
   */
  hasOverflow: boolean;

  constructor(address: Buffer | undefined, page: Page | undefined, isLeaf: boolean, hasOverflow = false) {
    this.address = address;
    this.page = page;
    this.isLeaf = isLeaf;
    this.hasOverflow = hasOverflow;
  }
}

/**
 * A leaf's records as offsets into its page image, four per record: key start, key end, value
 * start, value end (two bytes each for an image up to 64 KB, four above). A page read from disk stays in this form until it is changed: no object
 * per record, so reading a page costs one pass over its cells and a few bytes per record.
 */
export interface PackedRecords {
  image: Buffer;
  /** 16-bit when every offset fits (images up to 64 KB, nearly every page), else 32-bit. */
  offsets: Uint16Array | Int32Array;
  count: number;
}

const NO_VALUE = Buffer.alloc(0);

/**
 * An overflow page the leaf's last written image references, and the item it holds when the
 * leaf still has that item (the same Buffer object): writing the leaf again with the same item
 * reuses the page, as WiredTiger reuses unchanged overflow items; a page no record reuses is
 * freed once the new image replaces the old.
 */
export interface OverflowBlock {
  address: Buffer;
  item: Buffer | undefined;
}

/**
 * A copy of small bytes a page keeps for long (addresses, separator keys) in memory of its
 * own. A view into Node's shared 8 KB allocation pool would keep the whole pool slab alive:
 * with thousands of pages that pinned tens of megabytes.
 */
export function ownBytes(bytes: Uint8Array): Buffer {
  const out = Buffer.allocUnsafeSlow(bytes.length);
  out.set(bytes);
  return out;
}

/** Byte order of `a` and `b` (negative, zero, positive), fastest for short keys. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = a.length < b.length ? a.length : b.length;
  if (n > 32) return Buffer.compare(a, b);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** Byte order of `image[start, end)` and `key`. */
function compareRange(image: Buffer, start: number, end: number, key: Uint8Array): number {
  const length = end - start;
  const n = length < key.length ? length : key.length;
  if (n > 32) return image.compare(key, 0, key.length, start, end);
  for (let i = 0; i < n; i++) {
    const d = image[start + i]! - key[i]!;
    if (d !== 0) return d;
  }
  return length - key.length;
}

export class LeafPage {
  readonly kind = 'leaf' as const;
  dirty = false;
  /** Bumped by every change, so positioned readers notice. */
  modCount = 0;
  /** Estimated bytes of the page's on-disk cells. */
  diskBytes = 0;
  /** Bytes the page holds in memory (for the cache). */
  memoryBytes = 0;
  /** Number of values that are update chains (they pin the page in memory). */
  chains = 0;
  /** The overflow pages the leaf's last written image references (none for most leaves). */
  overflowBlocks: OverflowBlock[] = [];
  private packed: PackedRecords | undefined;
  private keyList: Buffer[];
  private valueList: StoredValue[];

  constructor(keys: Buffer[], values: StoredValue[], public parent: InternalPage | undefined) {
    this.keyList = keys;
    this.valueList = values;
  }

  /** A leaf whose records stay in `records.image` until it changes. */
  static packed(records: PackedRecords, parent: InternalPage | undefined): LeafPage {
    const leaf = new LeafPage([], [], parent);
    leaf.packed = records;
    return leaf;
  }

  /** The keys as an array the tree may change (unpacks a packed leaf). */
  get keys(): Buffer[] {
    if (this.packed) this.unpack();
    return this.keyList;
  }

  /** The values as an array the tree may change (unpacks a packed leaf). */
  get values(): StoredValue[] {
    if (this.packed) this.unpack();
    return this.valueList;
  }

  get isPacked(): boolean {
    return this.packed !== undefined;
  }

  get count(): number {
    return this.packed ? this.packed.count : this.keyList.length;
  }

  keyAt(i: number): Buffer {
    const p = this.packed;
    if (!p) return this.keyList[i]!;
    return p.image.subarray(p.offsets[4 * i]!, p.offsets[4 * i + 1]!);
  }

  valueAt(i: number): StoredValue {
    const p = this.packed;
    if (!p) return this.valueList[i]!;
    const start = p.offsets[4 * i + 2]!;
    const end = p.offsets[4 * i + 3]!;
    return start === end ? NO_VALUE : p.image.subarray(start, end);
  }

  /** Index of the first key at or after `key`. */
  search(key: Uint8Array): number {
    let lo = 0;
    let hi = this.count;
    const p = this.packed;
    if (p) {
      const o = p.offsets;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (compareRange(p.image, o[4 * mid]!, o[4 * mid + 1]!, key) < 0) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    }
    const keys = this.keyList;
    // An append (a key above every key of the leaf) costs one comparison.
    if (hi > 0 && compareBytes(keys[hi - 1]!, key) < 0) return hi;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareBytes(keys[mid]!, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** True when record `i` exists and its key equals `key`. */
  keyEquals(i: number, key: Uint8Array): boolean {
    if (i >= this.count) return false;
    const p = this.packed;
    if (p) return compareRange(p.image, p.offsets[4 * i]!, p.offsets[4 * i + 1]!, key) === 0;
    return compareBytes(this.keyList[i]!, key) === 0;
  }

  /**
   * Turns a packed leaf into arrays the tree can change; returns how many records were
   * unpacked (0 when it was not packed), so the caller can account for their memory.
   */
  unpack(): number {
    const p = this.packed;
    if (!p) return 0;
    const { keys, values } = this.records();
    this.packed = undefined;
    this.keyList = keys;
    this.valueList = values;
    return p.count;
  }

  /**
   * The records as arrays of keys and values, without changing the leaf's form: a packed
   * leaf's as views of its image (for writing a leaf about to leave memory, which unpacking
   * would burden with two Buffers a record the cache does not count).
   */
  records(): { keys: Buffer[]; values: StoredValue[] } {
    if (!this.packed) return { keys: this.keyList, values: this.valueList };
    const count = this.packed.count;
    const keys = new Array<Buffer>(count);
    const values = new Array<StoredValue>(count);
    for (let i = 0; i < count; i++) {
      keys[i] = this.keyAt(i);
      values[i] = this.valueAt(i);
    }
    return { keys, values };
  }

  /** Replaces the records by the same records in packed form (after they were written). */
  repack(records: PackedRecords): void {
    this.packed = records;
    this.keyList = [];
    this.valueList = [];
  }
}

/**
 * Records in array form with plain values (no update chains) packed into one buffer, keys and
 * values one after another: the form a leaf takes once its records stop changing, one
 * allocation instead of two Buffer objects and two array slots per record, which the garbage
 * collector would otherwise copy and keep.
 */
export function packRecords(keys: readonly Buffer[], values: readonly Buffer[]): PackedRecords {
  const count = keys.length;
  let size = 0;
  for (let i = 0; i < count; i++) size += keys[i]!.length + values[i]!.length;
  const image = Buffer.allocUnsafeSlow(size);
  const offsets = size <= 0xffff ? new Uint16Array(4 * count) : new Int32Array(4 * count);
  let at = 0;
  for (let i = 0; i < count; i++) {
    const key = keys[i]!;
    const value = values[i]!;
    offsets[4 * i] = at;
    image.set(key, at);
    at += key.length;
    offsets[4 * i + 1] = at;
    offsets[4 * i + 2] = at;
    image.set(value, at);
    at += value.length;
    offsets[4 * i + 3] = at;
  }
  return { image, offsets, count };
}

/** Bytes a packed leaf holds in memory: its image and its offsets. */
export function packedMemoryBytes(records: PackedRecords): number {
  return records.image.length + records.offsets.byteLength + LEAF_OVERHEAD;
}

export class InternalPage {
  readonly kind = 'internal' as const;
  dirty = false;
  diskBytes = 0;
  /** The child read from disk last: a read of the one after it is a scan, which reads ahead. */
  lastReadChild = -1;
  /** The last child a read-ahead asked for: the next read-ahead starts once the scan passes it. */
  readAheadThrough = -1;

  constructor(public keys: Buffer[], public children: Ref[], public parent: InternalPage | undefined) {}
}

export type Page = LeafPage | InternalPage;

/**
 * Per-record memory counted by the cache on top of key and value bytes for a leaf in array
 * form: two Buffer objects (about 100 bytes each in V8) and two array slots.
 */
export const ENTRY_OVERHEAD = 220;
/** Memory of a leaf page object itself. */
const LEAF_OVERHEAD = 200;

/** Bytes a key or value cell of `length` bytes takes on disk (short or long form). */
export function cellBytes(length: number): number {
  return length <= 63 ? 1 + length : length < 8256 + 64 ? 3 + length : 6 + length;
}

interface DecodeContext {
  block: BlockManager;
  /** For errors: `file:x.wt` or the table id. */
  where: { file?: string; tableId?: number; uri?: string };
  /** Told the size of every page image read into memory (the cache's statistics). */
  onRead?(imageBytes: number): void;
}

function readOverflow(ctx: DecodeContext, cookie: Buffer): Buffer {
  const page = ctx.block.read(cookie);
  // An overflow page is a page read into the cache like any other (its item lives in the leaf).
  ctx.onRead?.(page.image.length);
  const header = readPageHeader(page.image);
  if (header.type !== PageType.Overflow) {
    throw new CorruptionError(`overflow reference points at a page of type ${header.type}`, { ...ctx.where });
  }
  return Buffer.from(page.image.subarray(page.payloadOffset, page.payloadOffset + header.entries));
}

/** Every cell of a page image, checked for running past `mem_size`. */
export function pageCells(read: ReadPage, where: DecodeContext['where'] = {}): Cell[] {
  const header = readPageHeader(read.image);
  const cells: Cell[] = [];
  const fastTruncate = !!(header.flags & PageFlags.FastTruncateUpdate);
  let p = read.payloadOffset;
  try {
    for (let i = 0; i < header.entries; i++) {
      const cell = unpackCell(read.image, p, header.memSize, fastTruncate);
      cells.push(cell);
      p += cell.size;
    }
  } catch (error) {
    if (error instanceof FormatError) {
      throw new FormatError(error.message, { ...where, offset: p, cause: error }, error.code);
    }
    throw error;
  }
  if (p !== header.memSize) {
    throw new FormatError(`page has ${header.memSize - p} bytes after its last cell`, { ...where, offset: p });
  }
  return cells;
}

/** True for the cells that reference an overflow page (their data is its address). */
export function isOverflowCell(cell: Cell): boolean {
  return cell.type === CellType.KeyOverflow || cell.type === CellType.ValueOverflow;
}

/** Rebuilds the full key of a key cell (prefix compression, overflow keys). */
function keyOf(ctx: DecodeContext, cell: Cell, previous: Buffer | undefined): Buffer {
  if (cell.type === CellType.KeyOverflow) return readOverflow(ctx, cell.data);
  if (cell.prefix === 0) return cell.data;
  if (!previous || cell.prefix > previous.length) {
    throw new FormatError(`key prefix ${cell.prefix} is longer than the previous key`, { ...ctx.where, offset: cell.offset });
  }
  return Buffer.concat([previous.subarray(0, cell.prefix), cell.data]);
}

/**
 * The records of a leaf image in packed form, when every cell has a simple form (short or long
 * key without prefix compression, value inline, with or without a time window that has not
 * stopped); undefined otherwise (overflow items, prefix-compressed keys, value copies, removed
 * values), and the page is then decoded cell by cell. Checks that the cells fill the page.
 */
export function packLeafImage(image: Buffer, payloadOffset: number, where: DecodeContext['where'] = {}): PackedRecords | undefined {
  const header = readPageHeader(image);
  const end = header.memSize;
  const cells = header.entries;
  if (end > image.length) throw new FormatError(`page mem_size ${end} is past its ${image.length} bytes`, { ...where, offset: 16 });
  const offsets = image.length <= 0xffff ? new Uint16Array(4 * Math.max(1, cells)) : new Int32Array(4 * Math.max(1, cells));
  let count = 0;
  let keyOpen = false;
  let p = payloadOffset;
  for (let c = 0; c < cells; c++) {
    if (p >= end) throw new FormatError(`cell ${c} of ${cells} starts past the page's end`, { ...where, offset: p }, ErrorCode.FormatTruncated);
    const desc = image[p]!;
    const short = desc & 0x03;
    let start: number;
    let length: number;
    let isKey: boolean;
    if (short === 0x01 || short === 0x03) {
      isKey = short === 0x01;
      start = p + 1;
      length = desc >> 2;
    } else if (desc === CellType.Key || desc === CellType.Value) {
      isKey = desc === CellType.Key;
      if (p + 2 >= end) throw new FormatError('cell length runs past the end of the page', { ...where, offset: p }, ErrorCode.FormatTruncated);
      // The packed length inline for its one- and two-byte forms (lengths up to 8,319): this
      // loop runs for every record of every page read.
      const b0 = image[p + 1]!;
      if (b0 >= 0x80 && b0 < 0xc0) {
        start = p + 2;
        length = (b0 & 0x3f) + 64;
      } else if (b0 >= 0xc0 && b0 < 0xe0) {
        start = p + 3;
        length = (((b0 & 0x1f) << 8) | image[p + 2]!) + 128;
      } else {
        const [packedLength, n] = readPackedUint(image, p + 1);
        start = p + 1 + n;
        length = packedLength + 64;
      }
    } else if ((desc & 0xf0) === CellType.Value && short === 0) {
      // A value with a time window (or an RLE count): decode it fully.
      let cell: Cell;
      try {
        cell = unpackCell(image, p, end);
      } catch (error) {
        if (error instanceof FormatError) throw new FormatError(error.message, { ...where, offset: p, cause: error }, error.code);
        throw error;
      }
      if (cell.type !== CellType.Value || isStopped(decodeTimeWindow(cell.time))) return undefined;
      isKey = false;
      start = cell.data.byteOffset - image.byteOffset;
      length = cell.data.length;
    } else {
      return undefined;
    }
    if (start + length > end) throw new FormatError('cell data runs past the end of the page', { ...where, offset: p }, ErrorCode.FormatTruncated);
    if (isKey) {
      if (keyOpen) {
        offsets[4 * count + 2] = 0;
        offsets[4 * count + 3] = 0;
        count++;
      }
      offsets[4 * count] = start;
      offsets[4 * count + 1] = start + length;
      keyOpen = true;
    } else {
      if (!keyOpen) throw new FormatError('value cell without a key', { ...where, offset: p });
      offsets[4 * count + 2] = start;
      offsets[4 * count + 3] = start + length;
      count++;
      keyOpen = false;
    }
    p = start + length;
  }
  if (keyOpen) {
    offsets[4 * count + 2] = 0;
    offsets[4 * count + 3] = 0;
    count++;
  }
  if (p !== end) throw new FormatError(`page has ${end - p} bytes after its last cell`, { ...where, offset: p });
  return { image, offsets: count * 4 === offsets.length ? offsets : offsets.slice(0, 4 * count), count };
}

/** Decodes a row-store leaf image into a page. Removed values (stop time set) are skipped. */
export function decodeLeaf(read: ReadPage, ctx: DecodeContext, parent: InternalPage | undefined): LeafPage {
  const packed = packLeafImage(read.image, read.payloadOffset, ctx.where);
  if (packed) {
    const leaf = LeafPage.packed(packed, parent);
    leaf.diskBytes = readPageHeader(read.image).memSize - read.payloadOffset;
    leaf.memoryBytes = packedMemoryBytes(packed);
    return leaf;
  }
  return decodeLeafCells(read, ctx, parent);
}

/** Decodes a leaf cell by cell into arrays (any cell form: overflow items, prefixes, copies). */
function decodeLeafCells(read: ReadPage, ctx: DecodeContext, parent: InternalPage | undefined): LeafPage {
  const cells = pageCells(read, ctx.where);
  const keys: Buffer[] = [];
  const values: StoredValue[] = [];
  let previousKey: Buffer | undefined;
  let pendingKey: Buffer | undefined;
  let diskBytes = 0;
  const overflowBlocks: OverflowBlock[] = [];
  const byOffset = new Map<number, Cell>();
  for (const cell of cells) {
    byOffset.set(cell.offset, cell);
    diskBytes += cell.size;
    switch (cell.type) {
      case CellType.Key:
      case CellType.KeyPrefix:
      case CellType.KeyOverflow: {
        if (pendingKey) {
          keys.push(pendingKey);
          values.push(Buffer.alloc(0));
        }
        const key = keyOf(ctx, cell, previousKey);
        if (cell.type !== CellType.KeyOverflow) previousKey = key;
        else overflowBlocks.push({ address: ownBytes(cell.data), item: key });
        pendingKey = key;
        break;
      }
      case CellType.Value:
      case CellType.ValueCopy:
      case CellType.ValueOverflow: {
        if (!pendingKey) throw new FormatError('value cell without a key', { ...ctx.where, offset: cell.offset });
        let source = cell;
        if (cell.type === CellType.ValueCopy) {
          const target = byOffset.get(cell.offset - cell.copyOffset!);
          if (!target || (target.type !== CellType.Value && target.type !== CellType.ValueOverflow)) {
            throw new FormatError('value copy does not point at a value cell', { ...ctx.where, offset: cell.offset });
          }
          source = target;
        }
        const window = decodeTimeWindow(cell.time ?? source.time);
        const value = source.type === CellType.ValueOverflow ? readOverflow(ctx, source.data) : source.data;
        const visible = !isStopped(window);
        if (visible) {
          keys.push(pendingKey);
          values.push(value);
        }
        // A removed value's page is still the image's, to free when the leaf is rewritten.
        if (cell.type === CellType.ValueOverflow) overflowBlocks.push({ address: ownBytes(cell.data), item: visible ? value : undefined });
        pendingKey = undefined;
        break;
      }
      default:
        throw new FormatError(`cell type 0x${cell.type.toString(16)} is not allowed on a leaf page`, { ...ctx.where, offset: cell.offset });
    }
  }
  if (pendingKey) {
    keys.push(pendingKey);
    values.push(Buffer.alloc(0));
  }
  const page = new LeafPage(keys, values, parent);
  page.diskBytes = diskBytes;
  // Overflow items live in memory beside the image.
  const overflowBytes = overflowBlocks.reduce((n, block) => n + (block.item?.length ?? 0), 0);
  page.memoryBytes = read.image.length + overflowBytes + keys.length * ENTRY_OVERHEAD;
  page.overflowBlocks = overflowBlocks;
  return page;
}

/** Decodes a row-store internal image into a page whose children are not yet resident. */
export function decodeInternal(read: ReadPage, ctx: DecodeContext, parent: InternalPage | undefined): InternalPage {
  const cells = pageCells(read, ctx.where);
  const keys: Buffer[] = [];
  const children: Ref[] = [];
  let diskBytes = 0;
  for (let i = 0; i < cells.length; i += 2) {
    const keyCell = cells[i]!;
    const addressCell = cells[i + 1];
    diskBytes += keyCell.size + (addressCell?.size ?? 0);
    if (keyCell.type !== CellType.Key && keyCell.type !== CellType.KeyOverflow) {
      throw new FormatError(`internal page expects a key cell, found type 0x${keyCell.type.toString(16)}`, { ...ctx.where, offset: keyCell.offset });
    }
    if (keyCell.prefix !== 0) throw new FormatError('internal page key uses prefix compression', { ...ctx.where, offset: keyCell.offset });
    if (!addressCell) throw new FormatError('internal page key without an address', { ...ctx.where, offset: keyCell.offset });
    const t = addressCell.type;
    if (t !== CellType.AddressInternal && t !== CellType.AddressLeaf && t !== CellType.AddressLeafNoOverflow && t !== CellType.AddressDeleted) {
      throw new FormatError(`internal page expects an address cell, found type 0x${t.toString(16)}`, { ...ctx.where, offset: addressCell.offset });
    }
    if (t === CellType.AddressDeleted) continue; // a fast-truncated child holds nothing visible
    keys.push(keyCell.type === CellType.KeyOverflow ? readOverflow(ctx, keyCell.data) : keyCell.data);
    children.push(new Ref(ownBytes(addressCell.data), undefined, t !== CellType.AddressInternal, t === CellType.AddressLeaf));
  }
  const page = new InternalPage(keys, children, parent);
  page.diskBytes = diskBytes;
  return page;
}

/** Leaves a scan asks for ahead of the one it reads (one round trip for them on a networked store). */
const READ_AHEAD_LEAVES = 16;

/**
 * When a leaf read follows the read of its left sibling (a scan), tells the block manager the
 * next siblings not in memory, so that a networked store fetches them in one round trip.
 */
function readAhead(ref: Ref, ctx: DecodeContext, parent: InternalPage | undefined): void {
  if (parent === undefined || !ref.isLeaf || ctx.block.prefetch === undefined) return;
  const index = parent.children.indexOf(ref);
  const sequential = index > 0 && parent.lastReadChild === index - 1;
  parent.lastReadChild = index;
  if (!sequential || index <= parent.readAheadThrough) return;
  const addresses: Buffer[] = [];
  let next = index + 1;
  for (; next < parent.children.length && addresses.length < READ_AHEAD_LEAVES; next += 1) {
    const sibling = parent.children[next]!;
    if (sibling.page === undefined && sibling.address !== undefined) addresses.push(sibling.address);
  }
  parent.readAheadThrough = next - 1;
  if (addresses.length > 0) ctx.block.prefetch(addresses);
}

/** Reads the page at `ref` and decodes it by its header type. */
export function loadPage(ref: Ref, ctx: DecodeContext, parent: InternalPage | undefined): Page {
  readAhead(ref, ctx, parent);
  const read = ctx.block.read(ref.address!);
  ctx.onRead?.(read.image.length);
  const header = readPageHeader(read.image);
  if (header.type === PageType.RowLeaf) return decodeLeaf(read, ctx, parent);
  if (header.type === PageType.RowInternal) return decodeInternal(read, ctx, parent);
  throw new CorruptionError(`page type ${header.type} is not a row-store page`, { ...ctx.where, offset: 24 });
}
