/**
 * The engine benchmark's workload, run in its own process so its peak RSS is its own:
 * `node dist/bench/engine_workload.js HOME local|disagg COUNT READS`. Prints one JSON line with
 * the figures (milliseconds, counts and bytes).
 */
import type { StorageMode } from '../engine/api.js';
import { openConnection } from '../engine/index.js';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { benchKey, benchValue } from './records.js';

export interface EngineFigures {
  storage: StorageMode;
  records: number;
  loadMs: number;
  checkpointMs: number;
  closeMs: number;
  openMs: number;
  /** The first point read after the reopen, which opens the table's tree. */
  firstReadMs: number;
  reads: number;
  readMs: number;
  scanned: number;
  scanMs: number;
  maxRssBytes: number;
  cacheEvictions: number;
  /** Bytes of the home (files and page log) once the checkpoint is durable. */
  homeBytes: number;
}

/** Bytes of every file under `dir`. */
function directoryBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? directoryBytes(path) : statSync(path).size;
  }
  return total;
}

async function main(): Promise<void> {
  const [home, storage, countText, readsText] = process.argv.slice(2);
  if (!home || (storage !== 'local' && storage !== 'disagg')) throw new Error('usage: engine_workload HOME local|disagg COUNT READS');
  const count = Number(countText);
  const reads = Number(readsText);
  const value = benchValue();

  let started = performance.now();
  const connection = await openConnection(home, { storage });
  connection.createTable('table:bench', 'key_format=S,value_format=u');
  const cursor = connection.openSession().openCursor('table:bench');
  for (let i = 0; i < count; i++) {
    cursor.put(benchKey(i), value);
    // Give the event loop a turn now and then, as a server between requests does: the page
    // log releases page images once LMDB has committed them, which needs the event loop.
    if (i % 10_000 === 9_999) await new Promise((resolve) => setImmediate(resolve));
  }
  const loaded = performance.now();
  await connection.checkpoint();
  const checkpointed = performance.now();
  await connection.close();
  const closed = performance.now();
  const figures: Partial<EngineFigures> = {
    storage, records: count, loadMs: loaded - started, checkpointMs: checkpointed - loaded, closeMs: closed - checkpointed,
    homeBytes: directoryBytes(home),
  };

  started = performance.now();
  const reopened = await openConnection(home, { storage });
  figures.openMs = performance.now() - started;

  started = performance.now();
  const reader = reopened.openSession().openCursor('table:bench');
  if (reader.get(benchKey(count >> 1)) === undefined) throw new Error('the first read found nothing');
  figures.firstReadMs = performance.now() - started;
  // A fixed pseudo-random sequence, the same on every run.
  let state = 12345;
  let found = 0;
  started = performance.now();
  for (let n = 0; n < reads; n++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    if (reader.get(benchKey(state % count)) !== undefined) found++;
  }
  figures.readMs = performance.now() - started;
  if (found !== reads) throw new Error(`${reads - found} of ${reads} random reads found nothing`);
  figures.reads = reads;

  started = performance.now();
  let scanned = 0;
  for (const entry of reader.entries()) if (entry) scanned++;
  figures.scanMs = performance.now() - started;
  if (scanned !== count) throw new Error(`the scan returned ${scanned} records, not ${count}`);
  figures.scanned = scanned;
  figures.cacheEvictions = (reopened as unknown as { cache?: { evictions: number } }).cache?.evictions ?? 0;
  await reopened.close();
  // resourceUsage().maxRSS is in kilobytes.
  figures.maxRssBytes = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(`${JSON.stringify(figures)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${String((error as Error)?.stack ?? error)}\n`);
  process.exit(1);
});
