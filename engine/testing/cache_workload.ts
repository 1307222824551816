/**
 * The cache-bound test's workload, run in a process of its own so that its memory is its own:
 * `node --expose-gc cache_workload.js HOME local|disagg COUNT CACHE_BYTES`. Loads COUNT records
 * of 1,000 bytes through a cache of CACHE_BYTES, reopens, scans and reads at random, and prints
 * one JSON line: memory in use (JavaScript heap plus Buffers, after a full collection) before,
 * after the load and after the reads, the largest cache size seen and the evictions.
 */
import type { StorageMode } from '../api.js';
import type { ConnectionImpl } from '../connection/index.js';
import { openConnection } from '../index.js';
import { seededRandom } from './random.js';

export interface CacheWorkloadResult {
  baselineBytes: number;
  afterLoadBytes: number;
  afterReadsBytes: number;
  peakCacheBytes: number;
  loadEvictions: number;
  readEvictions: number;
  scanned: number;
}

const gc = (globalThis as { gc?: () => void }).gc;

/** Memory in use once garbage is collected (twice, with a pause: V8 frees Buffer memory in the background). */
async function memoryInUse(): Promise<number> {
  if (!gc) throw new Error('run with --expose-gc');
  gc();
  await new Promise((resolve) => setTimeout(resolve, 50));
  gc();
  const usage = process.memoryUsage();
  if (process.env['SHOW_MEMORY']) process.stderr.write(`${JSON.stringify(usage)}\n`);
  return usage.heapUsed + usage.arrayBuffers;
}

const keyOf = (i: number): string => `key${String(i).padStart(10, '0')}`;

async function main(): Promise<void> {
  const [home, storage, countText, cacheText] = process.argv.slice(2);
  if (!home || (storage !== 'local' && storage !== 'disagg')) throw new Error('usage: cache_workload HOME local|disagg COUNT CACHE_BYTES');
  const count = Number(countText);
  const cacheSize = Number(cacheText);
  const value = Buffer.alloc(1000, 0x61);
  const result: Partial<CacheWorkloadResult> = { baselineBytes: await memoryInUse() };
  let peak = 0;

  const connection = await openConnection(home, { storage: storage as StorageMode, cacheSize });
  const cache = (connection as ConnectionImpl).cache;
  connection.createTable('table:t', 'key_format=S,value_format=u');
  const cursor = connection.openSession().openCursor('table:t');
  for (let i = 0; i < count; i++) {
    cursor.put(keyOf(i), value);
    if (i % 1_000 === 999) {
      peak = Math.max(peak, cache.bytes);
      // The page log frees the images eviction put once LMDB has committed them, which needs
      // the event loop: a server gets there between requests.
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (i % 25_000 === 24_999) await connection.checkpoint();
  }
  await connection.checkpoint();
  result.loadEvictions = cache.evictions;
  result.afterLoadBytes = await memoryInUse();
  await connection.close();

  const again = await openConnection(home, { storage: storage as StorageMode, cacheSize });
  const reopenedCache = (again as ConnectionImpl).cache;
  const reader = again.openSession().openCursor('table:t');
  let scanned = 0;
  for (const [key] of reader.entries()) {
    if (key !== keyOf(scanned)) throw new Error(`the scan returned ${String(key)} at ${scanned}`);
    if (scanned % 1_000 === 0) peak = Math.max(peak, reopenedCache.bytes);
    scanned++;
  }
  result.scanned = scanned;
  const random = seededRandom(7);
  for (let n = 0; n < 20_000; n++) {
    if (!value.equals(reader.get(keyOf(random.below(count))) as Buffer)) throw new Error('a random read returned the wrong value');
    if (n % 1_000 === 0) peak = Math.max(peak, reopenedCache.bytes);
  }
  result.readEvictions = reopenedCache.evictions;
  result.afterReadsBytes = await memoryInUse();
  result.peakCacheBytes = peak;
  await again.close();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${String((error as Error)?.stack ?? error)}\n`);
  process.exit(1);
});
