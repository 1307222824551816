import type { BlockManager, ReadPage } from '../block/index.js';
import { CorruptionError } from '../errors.js';
import { BLOCK_PAYLOAD_OFFSET, CellType, packedUintSize, PAGE_HEADER_SIZE, PageType, readPageHeader, writePackedUint, type Cell } from '../format/index.js';
import { decodeInternal, isOverflowCell, pageCells, Ref } from './page.js';
import { buildInternalImage, type ChildAddress } from './reconcile.js';
import { yieldEvery } from '../time_slices.js';

/** How a copy shares the thread: it yields to other work once a slice has run this long. */
export interface CopySlicing {
  /** Longest run without yielding, in milliseconds (default 10). */
  sliceMillis?: number;
  /** Called with each source page's address once it is copied (to discard it afterwards). */
  copied?: (sourceAddress: Buffer) => void;
}

/**
 * Copies a checkpointed tree from one block manager to another page by page, without holding
 * more than one path of it in memory: leaves without overflow items are copied as they are
 * (their image does not depend on where they live); a leaf's overflow pages are copied before
 * it and its cells re-pointed at the copies; internal pages are rebuilt with their children's
 * new addresses.
 * The copy runs in slices and yields between them, so a large tree does not stop every other
 * client for its whole duration; the caller keeps the source tree unchanged meanwhile.
 * Returns the new root address.
 */
export async function copyTree(source: BlockManager, target: BlockManager, root: Buffer, where: { uri?: string } = {}, slicing: CopySlicing = {}): Promise<Buffer> {
  const pause = yieldEvery(slicing.sliceMillis);
  /** Copies the page at `address`; says whether it is a leaf holding overflow items. */
  const copy = async (address: Buffer, isRoot: boolean): Promise<{ address: Buffer; hasOverflow: boolean }> => {
    await pause();
    const read = source.read(address);
    const header = readPageHeader(read.image);
    slicing.copied?.(address);
    if (header.type !== PageType.RowInternal) {
      const cells = header.type === PageType.RowLeaf ? pageCells(read, where) : [];
      const overflowCells = cells.filter(isOverflowCell);
      if (overflowCells.length === 0) return { address: target.write(fileLayout(read.image, read.payloadOffset)), hasOverflow: false };
      const copies = new Map<Cell, Buffer>();
      for (const cell of overflowCells) {
        await pause();
        copies.set(cell, copyOverflowPage(source, target, cell.data, where));
        slicing.copied?.(cell.data);
      }
      return { address: target.write(relinkLeaf(read, cells, copies)), hasOverflow: true };
    }
    const page = decodeInternal(read, { block: source, where }, undefined);
    // Overflow keys of an internal page (older WiredTiger files) are read into the page and
    // written inline in the copy: their pages are the source's to discard.
    for (const cell of pageCells(read, where)) if (cell.type === CellType.KeyOverflow) slicing.copied?.(cell.data);
    const children: ChildAddress[] = [];
    for (let i = 0; i < page.children.length; i++) {
      const ref: Ref = page.children[i]!;
      const child = await copy(ref.address!, false);
      children.push({ key: page.keys[i]!, address: child.address, isLeaf: ref.isLeaf, hasOverflow: child.hasOverflow });
    }
    return { address: target.write(buildInternalImage(children, header.writeGen, isRoot)), hasOverflow: false };
  };
  return (await copy(root, true)).address;
}

/** Copies one overflow page, checked by the source's read (checksum) and by its page type. */
function copyOverflowPage(source: BlockManager, target: BlockManager, address: Buffer, where: { uri?: string }): Buffer {
  const read = source.read(address);
  const header = readPageHeader(read.image);
  if (header.type !== PageType.Overflow) {
    throw new CorruptionError(`overflow reference ${source.describe(address)} points at a page of type ${header.type}`, where);
  }
  return target.write(fileLayout(read.image, read.payloadOffset));
}

/**
 * A leaf image whose overflow cells name the copies' addresses. Every other cell keeps its
 * bytes; a value copy's back offset (to an earlier value cell) is recomputed, since the cells
 * between may have changed size.
 */
function relinkLeaf(read: ReadPage, cells: Cell[], copies: Map<Cell, Buffer>): Buffer {
  const { image } = read;
  const parts: Buffer[] = [];
  const newOffsets = new Map<number, number>();
  let p = BLOCK_PAYLOAD_OFFSET;
  for (const cell of cells) {
    newOffsets.set(cell.offset, p);
    const copied = copies.get(cell);
    let bytes: Buffer;
    if (copied) {
      // The descriptor (and a time window) stay; the address length and address change.
      const head = image.subarray(cell.offset, cell.offset + cell.size - cell.data.length - packedUintSize(cell.data.length));
      bytes = Buffer.alloc(head.length + packedUintSize(copied.length) + copied.length);
      head.copy(bytes);
      const n = writePackedUint(bytes, head.length, copied.length);
      copied.copy(bytes, head.length + n);
    } else if (cell.type === CellType.ValueCopy) {
      const head = image.subarray(cell.offset, cell.offset + cell.size - packedUintSize(cell.copyOffset!));
      const targetOffset = newOffsets.get(cell.offset - cell.copyOffset!);
      if (targetOffset === undefined) throw new CorruptionError('value copy does not point at an earlier cell', { offset: cell.offset });
      bytes = Buffer.alloc(head.length + packedUintSize(p - targetOffset));
      head.copy(bytes);
      writePackedUint(bytes, head.length, p - targetOffset);
    } else {
      bytes = image.subarray(cell.offset, cell.offset + cell.size);
    }
    parts.push(bytes);
    p += bytes.length;
  }
  const out = Buffer.concat([image.subarray(0, PAGE_HEADER_SIZE), Buffer.alloc(BLOCK_PAYLOAD_OFFSET - PAGE_HEADER_SIZE), ...parts]);
  out.writeUInt32LE(out.length, 16);
  return out;
}

/**
 * Every page address of a checkpointed tree, children before parents, a leaf's overflow pages
 * before the leaf.
 */
export function* treeAddresses(block: BlockManager, root: Buffer): Generator<Buffer> {
  const read = block.read(root);
  const type = readPageHeader(read.image).type;
  if (type === PageType.RowInternal) {
    const page = decodeInternal(read, { block, where: {} }, undefined);
    for (const ref of page.children) yield* treeAddresses(block, ref.address!);
  }
  if (type === PageType.RowInternal || type === PageType.RowLeaf) {
    for (const cell of pageCells(read, { file: block.name })) if (isOverflowCell(cell)) yield cell.data;
  }
  yield root;
}

/** Re-lays a read page image as a fresh image with 40 header bytes before its cells. */
function fileLayout(image: Buffer, payloadOffset: number): Buffer {
  const memSize = image.readUInt32LE(16);
  const out = Buffer.alloc(40 + (memSize - payloadOffset));
  image.copy(out, 0, 0, 28);
  image.copy(out, 40, payloadOffset, memSize);
  out.writeUInt32LE(out.length, 16);
  return out;
}
