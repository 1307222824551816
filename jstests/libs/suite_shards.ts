import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

/**
 * Splitting the scenario suite across CI machines, as resmoke's task generator splits a suite:
 * by whole test files, balanced by the run time each file took when it was last recorded
 * (`jstests/timings.json`), so that every shard takes about as long as the others. A file with
 * no recorded time counts as the median of the recorded ones.
 *
 * The split is a function of the file list and the timings only, so every machine computes the
 * same shards, and the union of shards 1..N is the whole suite with no file twice.
 */

/** Recorded seconds per test file, by its path from the repository root (`jstests/x/y.test.ts`). */
export type SuiteTimings = Record<string, number>;

/** Which shard of how many: `--shard 2/4` is `{ index: 2, count: 4 }` (1-based). */
export interface ShardSpec {
  index: number;
  count: number;
}

/** Parses `K/N` with 1 <= K <= N; throws with the reason otherwise. */
export function parseShard(text: string): ShardSpec {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (match === null) throw new Error(`--shard takes K/N (for example 2/4), got "${text}"`);
  const index = Number(match[1]);
  const count = Number(match[2]);
  if (count < 1 || index < 1 || index > count) throw new Error(`--shard ${text}: K must be between 1 and N, and N at least 1`);
  return { index, count };
}

/** The compiled scenario files under `distJstests`, sorted, as paths relative to `root`. */
export function listScenarioFiles(root: string, distJstests: string): string[] {
  const files: string[] = [];
  const walk = (directory: string): void => {
    for (const entry of readdirSync(directory, { withFileTypes: true })) {
      const path = join(directory, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && entry.name.endsWith('.test.js')) files.push(relative(root, path).split(sep).join('/'));
    }
  };
  walk(distJstests);
  return files.sort();
}

/** `dist/jstests/a/b.test.js` -> `jstests/a/b.test.ts`: the key timings are recorded under. */
export function sourcePathOf(compiledFile: string): string {
  return compiledFile.replace(/^dist\//, '').replace(/\.js$/, '.ts');
}

/** Reads a timings file; a missing file is no timings. */
export function readTimings(path: string): SuiteTimings {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
  const parsed = JSON.parse(text) as unknown;
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`${path}: expected an object of seconds by file`);
  const timings: SuiteTimings = {};
  for (const [file, seconds] of Object.entries(parsed)) {
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) throw new Error(`${path}: "${file}" has no valid number of seconds`);
    timings[file] = seconds;
  }
  return timings;
}

/**
 * Assigns each file to one of `count` shards: longest first, each to the shard with the least
 * time so far (ties to the lower shard), the classic longest-processing-time split. Returns the
 * files of each shard, each list sorted.
 */
export function splitIntoShards(files: string[], timings: SuiteTimings, count: number): string[][] {
  const known = files.map((file) => timings[sourcePathOf(file)]).filter((seconds): seconds is number => seconds !== undefined).sort((a, b) => a - b);
  const fallback = known.length === 0 ? 1 : known[Math.floor(known.length / 2)]!;
  const weighted = files
    .map((file) => ({ file, seconds: timings[sourcePathOf(file)] ?? fallback }))
    .sort((a, b) => b.seconds - a.seconds || (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  const shards = Array.from({ length: count }, () => ({ files: [] as string[], seconds: 0 }));
  for (const { file, seconds } of weighted) {
    let lightest = shards[0]!;
    for (const shard of shards) if (shard.seconds < lightest.seconds) lightest = shard;
    lightest.files.push(file);
    lightest.seconds += seconds;
  }
  return shards.map((shard) => shard.files.sort());
}
