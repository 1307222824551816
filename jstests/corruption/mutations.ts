import { readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SeededRandom } from '../libs/seeded_random.js';
import { readStoreValue, rewriteStoreValue } from './page_log_store.js';
import type { Region } from './structures.js';

/**
 * How the corruption matrix damages a structure: a flipped byte, zeroed bytes, a cut-off end,
 * and for whole text files garbage in place of the text or no file at all.
 */
export type MutationName = 'flip' | 'zero' | 'truncate' | 'garbage' | 'missing';

export interface Mutation {
  name: MutationName;
  /** Whether it means anything for this kind of region. */
  appliesTo(region: Region): boolean;
  /** Damages the copy at `home`; returns what it did, for the report. */
  apply(home: string, region: Region, random: SeededRandom): Promise<string>;
}

/** The byte range of a store value a region covers. */
function storeRange(region: { offset: number; length: number | undefined }, value: Buffer): { start: number; end: number } {
  const end = region.length === undefined ? value.length : Math.min(value.length, region.offset + region.length);
  if (end <= region.offset) throw new Error(`the stored value (${value.length} bytes) does not reach offset ${region.offset}`);
  return { start: region.offset, end };
}

const flip: Mutation = {
  name: 'flip',
  appliesTo: (region) => region.kind !== 'whole-file',
  apply: async (home, region, random) => {
    if (region.kind === 'file') {
      const path = join(home, region.file);
      const bytes = await readFile(path);
      const at = region.offset + random.below(region.length);
      bytes[at] = bytes[at]! ^ 0xff;
      await writeFile(path, bytes);
      return `flipped every bit of the byte at offset ${at} of ${region.file}`;
    }
    if (region.kind !== 'store') throw new Error('flip does not apply to a whole file');
    let description = '';
    await rewriteStoreValue(home, region.database, region.key, (value) => {
      const { start, end } = storeRange(region, value);
      const at = start + random.below(end - start);
      value[at] = value[at]! ^ 0xff;
      description = `flipped every bit of byte ${at} of the ${region.database} value (${value.length} bytes)`;
      return value;
    });
    return description;
  },
};

const zero: Mutation = {
  name: 'zero',
  appliesTo: (region) => region.kind !== 'whole-file',
  apply: async (home, region) => {
    if (region.kind === 'file') {
      const path = join(home, region.file);
      const bytes = await readFile(path);
      bytes.fill(0, region.offset, region.offset + region.length);
      await writeFile(path, bytes);
      return `zeroed ${region.length} bytes at offset ${region.offset} of ${region.file}`;
    }
    if (region.kind !== 'store') throw new Error('zero does not apply to a whole file');
    let description = '';
    await rewriteStoreValue(home, region.database, region.key, (value) => {
      const { start, end } = storeRange(region, value);
      value.fill(0, start, end);
      description = `zeroed bytes ${start} to ${end - 1} of the ${region.database} value`;
      return value;
    });
    return description;
  },
};

const cutShort: Mutation = {
  name: 'truncate',
  appliesTo: () => true,
  apply: async (home, region) => {
    if (region.kind === 'file') {
      const length = region.offset + Math.floor(region.length / 2);
      await truncate(join(home, region.file), length);
      return `truncated ${region.file} to ${length} bytes (half-way through the structure)`;
    }
    if (region.kind === 'whole-file') {
      const path = join(home, region.file);
      const length = Math.floor((await readFile(path)).length / 2);
      await truncate(path, length);
      return `truncated ${region.file} to ${length} bytes`;
    }
    const original = await readStoreValue(home, region.database, region.key);
    if (original === undefined) throw new Error('the stored value is missing');
    const { start, end } = storeRange(region, original);
    const length = start + Math.floor((end - start) / 2);
    await rewriteStoreValue(home, region.database, region.key, (value) => Buffer.from(value.subarray(0, length)));
    return `cut the ${region.database} value from ${original.length} to ${length} bytes`;
  },
};

const garbage: Mutation = {
  name: 'garbage',
  appliesTo: (region) => region.kind === 'whole-file',
  apply: async (home, region, random) => {
    if (region.kind !== 'whole-file') throw new Error('garbage applies to whole files');
    const path = join(home, region.file);
    const length = (await readFile(path)).length;
    await writeFile(path, random.bytes(length));
    return `replaced ${region.file} with ${length} random bytes`;
  },
};

const missing: Mutation = {
  name: 'missing',
  appliesTo: (region) => region.kind === 'whole-file',
  apply: async (home, region) => {
    if (region.kind !== 'whole-file') throw new Error('missing applies to whole files');
    await rm(join(home, region.file));
    return `removed ${region.file}`;
  },
};

export const mutations: readonly Mutation[] = [flip, zero, cutShort, garbage, missing];
