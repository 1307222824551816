import type { BlockManager } from '../block/index.js';
import { PageType, readPageHeader } from '../format/index.js';
import { decodeInternal, Ref } from './page.js';
import { buildInternalImage, type ChildAddress } from './reconcile.js';

/**
 * Returns a function to await between steps of long synchronous work: it yields to other work
 * (other clients' requests) once `sliceMillis` have passed since the last yield, and resolves
 * at once otherwise.
 */
export function yieldEvery(sliceMillis = 10): () => Promise<void> {
  let sliceStart = performance.now();
  return async () => {
    if (performance.now() - sliceStart < sliceMillis) return;
    await new Promise((resolve) => setImmediate(resolve));
    sliceStart = performance.now();
  };
}

/** How a copy shares the thread: it yields to other work once a slice has run this long. */
export interface CopySlicing {
  /** Longest run without yielding, in milliseconds (default 10). */
  sliceMillis?: number;
  /** Called with each source page's address once it is copied (to discard it afterwards). */
  copied?: (sourceAddress: Buffer) => void;
}

/**
 * Copies a checkpointed tree from one block manager to another page by page, without holding
 * more than one path of it in memory: leaves are copied as they are (their image does not
 * depend on where they live), internal pages are rebuilt with their children's new addresses.
 * The copy runs in slices and yields between them, so a large tree does not stop every other
 * client for its whole duration; the caller keeps the source tree unchanged meanwhile.
 * Returns the new root address.
 */
export async function copyTree(source: BlockManager, target: BlockManager, root: Buffer, where: { uri?: string } = {}, slicing: CopySlicing = {}): Promise<Buffer> {
  const pause = yieldEvery(slicing.sliceMillis);
  const copy = async (address: Buffer, isRoot: boolean): Promise<Buffer> => {
    await pause();
    const read = source.read(address);
    const header = readPageHeader(read.image);
    slicing.copied?.(address);
    if (header.type !== PageType.RowInternal) return target.write(fileLayout(read.image, read.payloadOffset));
    const page = decodeInternal(read, { block: source, where }, undefined);
    const children: ChildAddress[] = [];
    for (let i = 0; i < page.children.length; i++) {
      const ref: Ref = page.children[i]!;
      children.push({ key: page.keys[i]!, address: await copy(ref.address!, false), isLeaf: ref.isLeaf });
    }
    return target.write(buildInternalImage(children, header.writeGen, isRoot));
  };
  return copy(root, true);
}

/** Every page address of a checkpointed tree, children before parents. */
export function* treeAddresses(block: BlockManager, root: Buffer): Generator<Buffer> {
  const read = block.read(root);
  if (readPageHeader(read.image).type === PageType.RowInternal) {
    const page = decodeInternal(read, { block, where: {} }, undefined);
    for (const ref of page.children) yield* treeAddresses(block, ref.address!);
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
