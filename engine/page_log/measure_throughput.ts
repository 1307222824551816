/**
 * Measures page-log write throughput: rounds of 10,000 puts of 32 KiB images followed by
 * `completeCheckpoint`, with default (syncing) options; then reads every page back once with
 * `get`. Not a test: run it by hand with
 * `npx tsx engine/page_log/measure_throughput.ts [DIRECTORY] [ROUNDS]`. DIRECTORY (default: a
 * new directory under the system temp directory) should be on the disk being measured; the
 * log written there is removed afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MIN_USER_PAGE_ID, openPageLog } from './index.js';

const PUTS_PER_ROUND = 10_000;
const IMAGE_SIZE = 32 * 1024;

const parent = process.argv[2] ?? tmpdir();
const rounds = Number(process.argv[3] ?? 5);
const workDirectory = mkdtempSync(join(parent, 'page-log-throughput-'));

try {
  const log = await openPageLog(join(workDirectory, 'pagelog'));
  const pages = log.openHandle(200);
  const image = Buffer.alloc(IMAGE_SIZE);
  for (let index = 0; index < image.length; index += 1) image[index] = (index * 131) & 0xff;
  const rates: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const started = performance.now();
    log.beginCheckpoint();
    for (let put = 0; put < PUTS_PER_ROUND; put += 1) {
      // Each round rewrites the same pages, as checkpoints of a working set do.
      pages.put(MIN_USER_PAGE_ID + put, { backlinkLsn: 0, baseLsn: 0, flags: 0 }, image);
    }
    const queued = performance.now();
    await log.completeCheckpoint({ timestamp: BigInt(round + 1), oldestTimestamp: 1n, metadata: `round=${round}` });
    const finished = performance.now();
    const megabytes = (PUTS_PER_ROUND * IMAGE_SIZE) / 1e6;
    const rate = megabytes / ((finished - started) / 1000);
    rates.push(rate);
    console.log(
      `round ${round + 1}: ${megabytes.toFixed(0)} MB, puts ${(queued - started).toFixed(0)} ms, ` +
        `durable after ${(finished - started).toFixed(0)} ms: ${rate.toFixed(0)} MB/s`,
    );
  }
  rates.sort((left, right) => left - right);
  console.log(`median ${rates[Math.floor(rates.length / 2)]!.toFixed(0)} MB/s over ${rounds} rounds (${workDirectory})`);

  const readStarted = performance.now();
  let bytesRead = 0;
  for (let put = 0; put < PUTS_PER_ROUND; put += 1) bytesRead += pages.get(MIN_USER_PAGE_ID + put)[0]!.image.length;
  const readMilliseconds = performance.now() - readStarted;
  console.log(
    `read back ${PUTS_PER_ROUND} pages: ${readMilliseconds.toFixed(0)} ms, ` +
      `${((readMilliseconds * 1000) / PUTS_PER_ROUND).toFixed(1)} µs per get, ${(bytesRead / 1e6 / (readMilliseconds / 1000)).toFixed(0)} MB/s`,
  );
  console.log(JSON.stringify(log.stat()));
  await log.close();
} finally {
  rmSync(workDirectory, { recursive: true, force: true });
}
