import {
  BLOCK_PAYLOAD_OFFSET, CellType, type CellTypeValue, keyCellSize, PAGE_VERSION_TIMESTAMPS, PageFlags, PageType, referenceCellSize,
  valueCellSize, writeKeyCell, writePageHeader, writeReferenceCell, writeValueCell,
} from '../format/index.js';

/**
 * The largest key and value a leaf holds inline; longer ones are written as overflow items
 * (FORMATS.md 5.8 and 5.9). WiredTiger's `__btree_page_sizes`: `leaf_key_max` and
 * `leaf_value_max` when configured (non-zero), else a tenth and a half of the leaf split size.
 */
export interface LeafItemLimits {
  keyMax: number;
  valueMax: number;
}

/**
 * WiredTiger's split page size (`__wt_split_page_size`): `split_pct` percent of the page
 * maximum, rounded to the nearest allocation unit; the unrounded figure when rounding gives 0
 * or the whole page.
 */
export function splitPageSize(splitPct: number, pageMax: number, allocationSize: number): number {
  const raw = Math.floor(pageMax * splitPct / 100);
  const rounded = Math.floor((raw + Math.floor(allocationSize / 2)) / allocationSize) * allocationSize;
  return rounded === 0 || rounded === pageMax ? raw : rounded;
}

/** A table's page size settings, as its `file:` entry gives them (0: not configured). */
export interface PageSizes {
  allocationSize: number;
  leafPageMax: number;
  internalPageMax: number;
  splitPct: number;
  leafKeyMax: number;
  leafValueMax: number;
}

/** The inline limits WiredTiger computes for a table's page sizes. */
export function leafItemLimits(page: PageSizes): LeafItemLimits {
  const split = splitPageSize(page.splitPct, page.leafPageMax, page.allocationSize);
  return {
    keyMax: page.leafKeyMax > 0 ? page.leafKeyMax : Math.floor(split / 10),
    valueMax: page.leafValueMax > 0 ? page.leafValueMax : Math.floor(split / 2),
  };
}

/** The split sizes and inline limits a tree of these page sizes uses (`BtreeOptions`). */
export function treeLimits(page: PageSizes): { leafSplitBytes: number; internalSplitBytes: number; leafItemLimits: LeafItemLimits } {
  return {
    // A page splits before its image (header and cells) passes WiredTiger's split size, so a
    // full leaf's block is exactly that size, a whole number of allocation units, as
    // WiredTiger's are: rounding up to the next unit instead would waste most of one per page.
    leafSplitBytes: splitPageSize(page.splitPct, page.leafPageMax, page.allocationSize) - BLOCK_PAYLOAD_OFFSET,
    internalSplitBytes: splitPageSize(page.splitPct, page.internalPageMax, page.allocationSize) - BLOCK_PAYLOAD_OFFSET,
    leafItemLimits: leafItemLimits(page),
  };
}

/**
 * Where a leaf's items above its limits go: `store` writes one as an overflow page (or finds
 * the page already holding it) and returns its address, which the leaf's cell references.
 */
export interface OverflowStore {
  limits: LeafItemLimits;
  store(item: Buffer): Buffer;
}

/**
 * An overflow page image (FORMATS.md 5.9), as WiredTiger's reconciliation writes it: page type
 * 5, the item's length in `entries`, the item's bytes after the 40 header bytes; flags and
 * version 0.
 */
export function buildOverflowImage(item: Uint8Array, writeGen: bigint): Buffer {
  const image = Buffer.allocUnsafe(BLOCK_PAYLOAD_OFFSET + item.length);
  image.fill(0, 0, BLOCK_PAYLOAD_OFFSET);
  image.set(item, BLOCK_PAYLOAD_OFFSET);
  writePageHeader(image, {
    recno: 0n, writeGen, memSize: image.length, entries: item.length, type: PageType.Overflow, flags: 0, unused: 0, version: 0,
  });
  return image;
}

/**
 * Reconciliation: turning in-memory pages into page images in WiredTiger's row-store layout
 * (FORMATS.md 5.6, 5.7 and Appendix A). Images have the 40 header bytes reserved; the block
 * layer fills in the block header (file) or rewrites it as a disagg header (page log).
 */

/**
 * Builds a leaf image. Zero-length values get no value cell, as WiredTiger writes them. With an
 * overflow store, keys and values longer than its limits become overflow references
 * (`KeyOverflow`, `ValueOverflow` cells holding the overflow page's address); without one
 * every item is inline.
 */
export function buildLeafImage(keys: Buffer[], values: Buffer[], writeGen: bigint, overflow?: OverflowStore): Buffer {
  const keyMax = overflow?.limits.keyMax ?? Infinity;
  const valueMax = overflow?.limits.valueMax ?? Infinity;
  // Addresses of the items stored as overflow pages, by record: written before the leaf.
  const keyAddresses = new Map<number, Buffer>();
  const valueAddresses = new Map<number, Buffer>();
  let size = BLOCK_PAYLOAD_OFFSET;
  let entries = 0;
  let allValued = true;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const value = values[i]!;
    if (key.length > keyMax) {
      const address = overflow!.store(key);
      keyAddresses.set(i, address);
      size += referenceCellSize(address.length);
    } else size += keyCellSize(key.length);
    entries++;
    if (value.length > 0) {
      if (value.length > valueMax) {
        const address = overflow!.store(value);
        valueAddresses.set(i, address);
        size += referenceCellSize(address.length);
      } else size += valueCellSize(value.length);
      entries++;
    } else allValued = false;
  }
  const image = Buffer.allocUnsafe(size);
  image.fill(0, 0, BLOCK_PAYLOAD_OFFSET);
  let p = BLOCK_PAYLOAD_OFFSET;
  for (let i = 0; i < keys.length; i++) {
    const keyAddress = keyAddresses.get(i);
    p += keyAddress ? writeReferenceCell(image, p, CellType.KeyOverflow, keyAddress) : writeKeyCell(image, p, keys[i]!);
    if (values[i]!.length === 0) continue;
    const valueAddress = valueAddresses.get(i);
    p += valueAddress ? writeReferenceCell(image, p, CellType.ValueOverflow, valueAddress) : writeValueCell(image, p, values[i]!);
  }
  writePageHeader(image, {
    recno: 0n, writeGen, memSize: size, entries, type: PageType.RowLeaf,
    flags: allValued && keys.length > 0 ? PageFlags.EmptyValueNone : 0, unused: 0, version: PAGE_VERSION_TIMESTAMPS,
  });
  return image;
}

export interface ChildAddress {
  key: Buffer;
  address: Buffer;
  isLeaf: boolean;
  /** A leaf holding overflow items: its address cell is `AddressLeaf`, else `AddressLeafNoOverflow`. */
  hasOverflow?: boolean;
}

/** The address cell type of a child, as WiredTiger's reconciliation picks it. */
function addressCellType(child: ChildAddress): CellTypeValue {
  if (!child.isLeaf) return CellType.AddressInternal;
  return child.hasOverflow ? CellType.AddressLeaf : CellType.AddressLeafNoOverflow;
}

/**
 * Builds an internal image. The 0th key is truncated to one byte (0x00 on the root), as
 * WiredTiger writes it; it sorts below everything whatever its value.
 */
export function buildInternalImage(children: ChildAddress[], writeGen: bigint, isRoot: boolean): Buffer {
  const firstKey = isRoot || children.length === 0 || children[0]!.key.length === 0 ? Buffer.from([0]) : children[0]!.key.subarray(0, 1);
  let size = BLOCK_PAYLOAD_OFFSET;
  children.forEach((child, i) => {
    size += keyCellSize(i === 0 ? firstKey.length : child.key.length) + referenceCellSize(child.address.length);
  });
  const image = Buffer.alloc(size);
  let p = BLOCK_PAYLOAD_OFFSET;
  children.forEach((child, i) => {
    p += writeKeyCell(image, p, i === 0 ? firstKey : child.key);
    p += writeReferenceCell(image, p, addressCellType(child), child.address);
  });
  writePageHeader(image, {
    recno: 0n, writeGen, memSize: size, entries: children.length * 2, type: PageType.RowInternal,
    flags: PageFlags.FastTruncateUpdate, unused: 0, version: PAGE_VERSION_TIMESTAMPS,
  });
  return image;
}
