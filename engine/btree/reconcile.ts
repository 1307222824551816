import {
  BLOCK_PAYLOAD_OFFSET, CellType, keyCellSize, PAGE_VERSION_TIMESTAMPS, PageFlags, PageType, referenceCellSize,
  valueCellSize, writeKeyCell, writePageHeader, writeReferenceCell, writeValueCell,
} from '../format/index.js';

/**
 * Reconciliation: turning in-memory pages into page images in WiredTiger's row-store layout
 * (FORMATS.md 5.6, 5.7 and Appendix A). Images have the 40 header bytes reserved; the block
 * layer fills in the block header (file) or rewrites it as a disagg header (page log).
 */

/** Builds a leaf image. Zero-length values get no value cell, as WiredTiger writes them. */
export function buildLeafImage(keys: Buffer[], values: Buffer[], writeGen: bigint): Buffer {
  let size = BLOCK_PAYLOAD_OFFSET;
  let entries = 0;
  let allValued = true;
  for (let i = 0; i < keys.length; i++) {
    size += keyCellSize(keys[i]!.length);
    entries++;
    if (values[i]!.length > 0) {
      size += valueCellSize(values[i]!.length);
      entries++;
    } else allValued = false;
  }
  const image = Buffer.allocUnsafe(size);
  image.fill(0, 0, BLOCK_PAYLOAD_OFFSET);
  let p = BLOCK_PAYLOAD_OFFSET;
  for (let i = 0; i < keys.length; i++) {
    p += writeKeyCell(image, p, keys[i]!);
    if (values[i]!.length > 0) p += writeValueCell(image, p, values[i]!);
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
    p += writeReferenceCell(image, p, child.isLeaf ? CellType.AddressLeafNoOverflow : CellType.AddressInternal, child.address);
  });
  writePageHeader(image, {
    recno: 0n, writeGen, memSize: size, entries: children.length * 2, type: PageType.RowInternal,
    flags: PageFlags.FastTruncateUpdate, unused: 0, version: PAGE_VERSION_TIMESTAMPS,
  });
  return image;
}
