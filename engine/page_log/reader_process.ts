/**
 * A follower in its own process, for the contract's concurrent-readers test. Usage:
 * `node reader_process.js LOCATION ROUNDS`. Each round it picks up the newest completion
 * record, holds it in its lease, and reads every page of table 300 as of it: each image must
 * carry the round number the completion's metadata names (a checkpoint read whole, never a mix
 * of two). Prints one JSON line: `{rounds, checkpoints, pages}` or `{error, code}`.
 */
import { EngineError } from '../errors.js';
import { openPageLog } from './index.js';

const [location, roundsText] = process.argv.slice(2);
if (location === undefined || roundsText === undefined) throw new Error('usage: reader_process LOCATION ROUNDS');
const rounds = Number(roundsText);

try {
  const log = await openPageLog(location, { role: 'follower', nodeId: `reader-${process.pid}` });
  const checkpoints = new Set<number>();
  let pages = 0;
  try {
    for (let round = 0; round < rounds; round += 1) {
      const newest = log.getCompleteCheckpoint();
      if (newest === undefined) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        continue;
      }
      await log.holdCheckpoints([newest.lsn]);
      // Read again once the lease is durable: a prune that read the leases before it may have removed it.
      const held = log.getCompleteCheckpoint(newest.lsn);
      if (held === undefined) continue;
      const expected = /round=(\d+),pages=(\d+)/.exec(held.metadata);
      if (expected === null) throw new Error(`unexpected metadata ${held.metadata}`);
      const handle = log.openHandle(300);
      for (let page = 0; page < Number(expected[2]); page += 1) {
        const chain = handle.get(100 + page, held.lsn);
        const text = chain.map((record) => record.image.toString('utf8')).join('');
        if (text !== `round ${expected[1]} page ${page}`) throw new Error(`checkpoint ${held.lsn} page ${100 + page} reads "${text}", not round ${expected[1]}`);
        pages += 1;
      }
      checkpoints.add(held.lsn);
    }
  } finally {
    await log.close();
  }
  process.stdout.write(`${JSON.stringify({ rounds, checkpoints: checkpoints.size, pages })}\n`);
} catch (error) {
  process.stdout.write(`${JSON.stringify({ error: (error as Error).message, code: error instanceof EngineError ? error.code : undefined })}\n`);
}
