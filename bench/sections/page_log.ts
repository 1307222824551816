import { join } from 'node:path';
import { MIN_USER_PAGE_ID, openPageLog } from '../../engine/page_log/index.js';
import type { BenchRow, BenchSection } from '../types.js';

const IMAGE_SIZE = 32 * 1024;

/**
 * The page log's raw batched write rate: rounds of puts of 32 KiB images, each round made
 * durable by a completion record, as a checkpoint does. The ceiling for disaggregated
 * checkpoints, to compare with the engine's load figures.
 */
export const pageLogSection: BenchSection = {
  name: 'page_log',
  description: 'raw batched put + completeCheckpoint throughput of the LMDB page log',
  async run(context) {
    const putsPerRound = context.quick ? 1_000 : 5_000;
    const rounds = context.quick ? 2 : 5;
    const log = await openPageLog(join(context.scratch, 'pagelog'));
    try {
      const pages = log.openHandle(200);
      const image = Buffer.alloc(IMAGE_SIZE);
      for (let i = 0; i < image.length; i++) image[i] = (i * 131) & 0xff;
      let totalMs = 0;
      let putMs = 0;
      for (let round = 0; round < rounds; round++) {
        context.log(`page log: round ${round + 1} of ${rounds}`);
        const started = performance.now();
        log.beginCheckpoint();
        for (let put = 0; put < putsPerRound; put++) {
          pages.put(MIN_USER_PAGE_ID + put, { backlinkLsn: 0, baseLsn: 0, flags: 0 }, image);
        }
        const queued = performance.now();
        await log.completeCheckpoint({ timestamp: BigInt(round + 1), oldestTimestamp: 1n, metadata: `round=${round}` });
        totalMs += performance.now() - started;
        putMs += queued - started;
      }
      const puts = putsPerRound * rounds;
      const bytes = puts * IMAGE_SIZE;
      const row = (figure: string, value: number, unit: string): BenchRow => ({ section: 'page_log', figure, value, unit });
      return [
        row('32 KiB puts made durable', puts / (totalMs / 1000), 'puts/s'),
        row('durable write rate', bytes / (1024 * 1024) / (totalMs / 1000), 'MB/s'),
        row('put call rate (queued, not yet durable)', puts / (putMs / 1000), 'puts/s'),
      ];
    } finally {
      await log.close();
    }
  },
};
