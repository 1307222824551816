/**
 * The workload of the page-log crash test, shared by the writer process (`crash_writer.ts`)
 * and the checks in `crash.test.ts`: self-describing page images, and what a completion record
 * says about the pages it vouches for.
 */

/** What the writer stores in each completion record's metadata. */
export interface CheckpointManifest {
  /** Page id -> write numbers of its chain as of the checkpoint (base first). */
  pages: Record<string, number[]>;
  /** Page ids discarded and not written again. */
  discarded: number[];
  /** The next write number, so that a restarted writer never repeats one. */
  nextWrite: number;
}

/** The table the writer uses. */
export const CRASH_TABLE_ID = 300;
const IMAGE_HEADER_SIZE = 12;

/** A small seeded generator (mulberry32), so that a failing run can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 0x1_0000_0000;
  };
}

/** An image that names its page and write number and whose every byte can be checked. */
export function makeImage(pageId: number, write: number, size: number): Buffer {
  const image = Buffer.alloc(Math.max(size, IMAGE_HEADER_SIZE));
  image.writeUInt32LE(pageId, 0);
  image.writeUInt32LE(write, 4);
  image.writeUInt32LE(image.length, 8);
  for (let index = IMAGE_HEADER_SIZE; index < image.length; index += 1) image[index] = (write * 131 + index * 7) & 0xff;
  return image;
}

/** The write number of an image made by `makeImage`; throws when any byte is off. */
export function readImage(pageId: number, image: Buffer): number {
  if (image.length < IMAGE_HEADER_SIZE || image.readUInt32LE(0) !== pageId || image.readUInt32LE(8) !== image.length) {
    throw new Error(`image of page ${pageId} has a wrong header`);
  }
  const write = image.readUInt32LE(4);
  if (!makeImage(pageId, write, image.length).equals(image)) throw new Error(`image of page ${pageId}, write ${write}, has wrong bytes`);
  return write;
}
