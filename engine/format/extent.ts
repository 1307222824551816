import { ErrorCode, FormatError } from '../errors.js';
import { BLOCK_PAYLOAD_OFFSET, PageType, writePageHeader } from './block.js';
import { packedUintSize, readPackedUint, writePackedUint } from './packed.js';

/** Extent-list blocks (FORMATS.md 6.3): `(71002, 0)`, sorted `(offset, size)` pairs, `(0, 0)`. */

export const EXTENT_LIST_MAGIC = 71002;

export interface Extent {
  offset: number;
  size: number;
}

/** Builds the page image (headers + pairs, unpadded) of an extent list. */
export function buildExtentListImage(extents: Extent[]): Buffer {
  const pairs: number[] = [EXTENT_LIST_MAGIC, 0];
  for (const e of extents) pairs.push(e.offset, e.size);
  pairs.push(0, 0);
  const datalen = pairs.reduce((sum, v) => sum + packedUintSize(v), 0);
  const image = Buffer.alloc(BLOCK_PAYLOAD_OFFSET + datalen);
  let p = BLOCK_PAYLOAD_OFFSET;
  for (const v of pairs) p += writePackedUint(image, p, v);
  writePageHeader(image, {
    recno: 0n, writeGen: 0n, memSize: image.length, entries: datalen,
    type: PageType.BlockManager, flags: 0, unused: 0, version: 1,
  });
  return image;
}

/** Reads the extents of an extent-list block (already checksum-verified). */
export function readExtentList(block: Buffer, where: { file?: string; offset?: number } = {}): Extent[] {
  const datalen = block.readUInt32LE(20);
  const end = BLOCK_PAYLOAD_OFFSET + datalen;
  if (end > block.length) throw new FormatError('extent list runs past its block', where, ErrorCode.FormatTruncated);
  let p = BLOCK_PAYLOAD_OFFSET;
  const read = (): number => {
    const [value, n] = readPackedUint(block, p);
    p += n;
    return value;
  };
  const magic = read();
  const zero = read();
  if (magic !== EXTENT_LIST_MAGIC || zero !== 0) {
    throw new FormatError('extent list magic does not match', { ...where, expected: EXTENT_LIST_MAGIC, actual: magic });
  }
  const extents: Extent[] = [];
  while (p < end) {
    const offset = read();
    const size = read();
    if (offset === 0) break;
    extents.push({ offset, size });
  }
  return extents;
}
