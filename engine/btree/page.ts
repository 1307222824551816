import type { BlockManager, ReadPage } from '../block/index.js';
import { CorruptionError, FormatError } from '../errors.js';
import {
  CellType, decodeTimeWindow, isStopped, PageFlags, PageType, readPageHeader, unpackCell, type Cell,
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

/** Versions of one key, newest first. The last entry is the oldest version kept. */
export class UpdateChain {
  constructor(public versions: Version[]) {}

  /** The value visible at `readTs` (undefined: newest), null when removed or absent then. */
  visible(readTs?: bigint): Buffer | null {
    if (readTs === undefined) return this.versions[0]!.value;
    for (const v of this.versions) if (v.ts <= readTs) return v.value;
    return null;
  }

  get newestTs(): bigint {
    return this.versions[0]!.ts;
  }

  /** Drops versions no reader at or after `oldest` can see. */
  prune(oldest: bigint): void {
    const keep = this.versions.findIndex((v) => v.ts <= oldest);
    if (keep >= 0) this.versions.length = keep + 1;
  }
}

export type StoredValue = Buffer | UpdateChain;

export class Ref {
  /** Where the page was last written; undefined when it never was. */
  address: Buffer | undefined;
  page: Page | undefined;
  /** True when the child is a leaf (from the address cell type or the page). */
  isLeaf: boolean;

  constructor(address: Buffer | undefined, page: Page | undefined, isLeaf: boolean) {
    this.address = address;
    this.page = page;
    this.isLeaf = isLeaf;
  }
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

  constructor(public keys: Buffer[], public values: StoredValue[], public parent: InternalPage | undefined) {}
}

export class InternalPage {
  readonly kind = 'internal' as const;
  dirty = false;
  diskBytes = 0;

  constructor(public keys: Buffer[], public children: Ref[], public parent: InternalPage | undefined) {}
}

export type Page = LeafPage | InternalPage;

/** Per-entry overhead counted by the cache on top of key and value bytes. */
export const ENTRY_OVERHEAD = 48;

/** Bytes a key or value cell of `length` bytes takes on disk (short or long form). */
export function cellBytes(length: number): number {
  return length <= 63 ? 1 + length : length < 8256 + 64 ? 3 + length : 6 + length;
}

interface DecodeContext {
  block: BlockManager;
  /** For errors: `file:x.wt` or the table id. */
  where: { file?: string; tableId?: number; uri?: string };
}

function readOverflow(ctx: DecodeContext, cookie: Buffer): Buffer {
  const page = ctx.block.read(cookie);
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

/** Rebuilds the full key of a key cell (prefix compression, overflow keys). */
function keyOf(ctx: DecodeContext, cell: Cell, previous: Buffer | undefined): Buffer {
  if (cell.type === CellType.KeyOverflow) return readOverflow(ctx, cell.data);
  if (cell.prefix === 0) return cell.data;
  if (!previous || cell.prefix > previous.length) {
    throw new FormatError(`key prefix ${cell.prefix} is longer than the previous key`, { ...ctx.where, offset: cell.offset });
  }
  return Buffer.concat([previous.subarray(0, cell.prefix), cell.data]);
}

/** Decodes a row-store leaf image into a page. Removed values (stop time set) are skipped. */
export function decodeLeaf(read: ReadPage, ctx: DecodeContext, parent: InternalPage | undefined): LeafPage {
  const cells = pageCells(read, ctx.where);
  const keys: Buffer[] = [];
  const values: StoredValue[] = [];
  let previousKey: Buffer | undefined;
  let pendingKey: Buffer | undefined;
  let diskBytes = 0;
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
        if (!isStopped(window)) {
          keys.push(pendingKey);
          values.push(value);
        }
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
  page.memoryBytes = read.image.length + keys.length * ENTRY_OVERHEAD;
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
    children.push(new Ref(Buffer.from(addressCell.data), undefined, t !== CellType.AddressInternal));
  }
  const page = new InternalPage(keys, children, parent);
  page.diskBytes = diskBytes;
  return page;
}

/** Reads the page at `ref` and decodes it by its header type. */
export function loadPage(ref: Ref, ctx: DecodeContext, parent: InternalPage | undefined): Page {
  const read = ctx.block.read(ref.address!);
  const header = readPageHeader(read.image);
  if (header.type === PageType.RowLeaf) return decodeLeaf(read, ctx, parent);
  if (header.type === PageType.RowInternal) return decodeInternal(read, ctx, parent);
  throw new CorruptionError(`page type ${header.type} is not a row-store page`, { ...ctx.where, offset: 24 });
}
