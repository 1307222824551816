/**
 * The process the page-log crash test kills. Usage: `node crash_writer.js PATH SEED` (or
 * `node --import tsx crash_writer.ts PATH SEED`).
 *
 * It opens the log with default (syncing) options, abandons any interrupted checkpoint like the
 * engine does, picks up the page set from the newest completion record, then runs checkpoints
 * forever: base images, deltas and discards on a few dozen pages, then `completeCheckpoint`
 * with a manifest of every page's chain. It prints `{"ready":true}` once open and
 * `{"completed":LSN}` after each completion resolves.
 */
import { CRASH_TABLE_ID, makeImage, seededRandom, type CheckpointManifest } from './crash_workload.js';
import { MAX_DELTAS_PER_CHAIN, MIN_USER_PAGE_ID, PutFlags, openPageLog } from './index.js';

const PAGE_COUNT = 40;

const [path, seedText] = process.argv.slice(2);
if (path === undefined || seedText === undefined) throw new Error('usage: crash_writer PATH SEED');
const random = seededRandom(Number(seedText));

const log = await openPageLog(path);
await log.abandonCheckpoint();
const pages = log.openHandle(CRASH_TABLE_ID);
const newest = log.getCompleteCheckpoint();
const manifest: CheckpointManifest =
  newest === undefined ? { pages: {}, discarded: [], nextWrite: 1 } : (JSON.parse(newest.metadata) as CheckpointManifest);
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);

for (;;) {
  log.beginCheckpoint();
  const operations = 20 + Math.floor(random() * 40);
  for (let operation = 0; operation < operations; operation += 1) {
    const pageId = MIN_USER_PAGE_ID + Math.floor(random() * PAGE_COUNT);
    const key = String(pageId);
    const chain = manifest.pages[key];
    const choice = random();
    // Sizes up to 40 KiB: most images span several LMDB overflow pages, some fit in a leaf.
    const size = Math.floor(random() * 40_960);
    if (chain !== undefined && choice < 0.15) {
      pages.discard(pageId);
      delete manifest.pages[key];
      manifest.discarded.push(pageId);
    } else if (chain !== undefined && choice < 0.7 && chain.length - 1 < MAX_DELTAS_PER_CHAIN) {
      const current = pages.get(pageId);
      const args = { backlinkLsn: current[current.length - 1]!.lsn, baseLsn: current[0]!.lsn, flags: PutFlags.Delta };
      const write = manifest.nextWrite++;
      pages.put(pageId, args, makeImage(pageId, write, size));
      chain.push(write);
    } else {
      const write = manifest.nextWrite++;
      pages.put(pageId, { backlinkLsn: 0, baseLsn: 0, flags: 0 }, makeImage(pageId, write, size));
      manifest.pages[key] = [write];
      manifest.discarded = manifest.discarded.filter((discarded) => discarded !== pageId);
    }
    // Let lmdb-js commit part of the checkpoint on its own, as it does under a real engine.
    if (random() < 0.2) await new Promise((resolve) => setImmediate(resolve));
  }
  const lsn = await log.completeCheckpoint({ timestamp: BigInt(manifest.nextWrite), oldestTimestamp: 1n, metadata: JSON.stringify(manifest) });
  process.stdout.write(`${JSON.stringify({ completed: lsn })}\n`);
}
