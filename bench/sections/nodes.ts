import type { Document, MongoClient } from 'mongodb';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ShimProcess, type LogLine } from '../../jstests/libs/index.js';
import type { BenchRow, BenchSection } from '../types.js';

const section = 'nodes';

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function median(values: number[]): number {
  return percentile(values, 50);
}

const timeOf = (line: LogLine): number => Date.parse(line.t.$date);

/** The follower's log time of picking up checkpoint `id`, once it has (polled). */
async function pickedUpAt(follower: ShimProcess, id: string, timeoutMs = 30_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = follower.logLines().find((entry) => entry.msg === 'Picked up a checkpoint' && entry.attr?.id === id);
    if (line !== undefined) return timeOf(line);
    if (Date.now() > deadline) throw new Error(`the follower did not pick up checkpoint ${id}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}


/**
 * Pick-up latency: from the leader's "Disaggregated checkpoint completed" log line (the
 * completion record is durable) to the follower's "Picked up a checkpoint" line for it (its
 * reads are served as of it from then on), both timed by the host's clock in milliseconds.
 */
async function pickUpLatencies(leader: ShimProcess, leaderClient: MongoClient, follower: ShimProcess, checkpoints: number, run: string): Promise<number[]> {
  const latencies: number[] = [];
  const collection = leaderClient.db('bench').collection('pickup');
  for (let i = 0; i < checkpoints; i++) {
    await collection.insertOne({ _id: `${run}-${i}`, at: new Date() } as never);
    const reply = await leaderClient.db('admin').command({ fsync: 1 });
    const id = String(reply.checkpointId);
    const completed = leader.logLines().find((line) => line.msg === 'Disaggregated checkpoint completed' && String(line.attr?.lsn) === id);
    if (completed === undefined) throw new Error(`the leader logged no completion of checkpoint ${id}`);
    latencies.push((await pickedUpAt(follower, id)) - timeOf(completed));
    // Spread the checkpoints over the pick-up interval, as a periodic checkpoint would be.
    await new Promise((resolve) => setTimeout(resolve, 37 + (i * 53) % 200));
  }
  return latencies;
}

/** Documents per second of full scans (`find({})` drained), the best of `rounds`. */
async function scanRate(client: MongoClient, rounds: number): Promise<number> {
  let best = 0;
  for (let round = 0; round < rounds; round++) {
    const started = performance.now();
    const documents = await client.db('bench').collection('reads').find({}, { batchSize: 1000 }).toArray();
    best = Math.max(best, documents.length / ((performance.now() - started) / 1000));
  }
  return best;
}

/** Point reads per second by `_id`, one at a time, for `seconds`. */
async function pointReadRate(client: MongoClient, count: number, seconds: number): Promise<number> {
  const collection = client.db('bench').collection('reads');
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  let done = 0;
  for (let i = 0; performance.now() < deadline; i++) {
    await collection.findOne({ _id: (i * 7919) % count } as Document);
    done += 1;
  }
  return done / ((performance.now() - started) / 1000);
}

/**
 * One leader and a follower on its page log, as real processes: how long a checkpoint takes to
 * reach the follower (pick-up latency, median and p99, at the default 500 ms interval and at
 * 50 ms), how fast the follower reads beside the leader, and how long a step-up takes (the
 * `replSetStepUp` reply, and the first write it accepts).
 */
export const nodesSection: BenchSection = {
  name: section,
  description: 'a leader and followers on one page log: pick-up latency, follower reads, step-up time',
  async run(context) {
    const rows: BenchRow[] = [];
    const documents = context.quick ? 5_000 : 50_000;
    const checkpoints = context.quick ? 8 : 40;
    const shims: ShimProcess[] = [];
    const launch = async (options: ConstructorParameters<typeof ShimProcess>[0]): Promise<ShimProcess> => {
      const shim = new ShimProcess(options);
      shims.push(shim);
      await shim.start();
      return shim;
    };
    try {
      const leader = await launch({ dbpath: join(context.scratch, 'leader'), setParameters: { checkpointIntervalSecs: 0 } });
      const pageLog = join(leader.dbpath, 'pagelog');
      const leaderClient = await leader.client();
      const reads = leaderClient.db('bench').collection('reads');
      for (let start = 0; start < documents; start += 1_000) {
        await reads.insertMany(Array.from({ length: 1_000 }, (_, i) => ({ _id: start + i, payload: 'x'.repeat(100) })) as never[]);
      }
      await leaderClient.db('admin').command({ fsync: 1 });
      for (const interval of [500, 50]) {
        const follower = await launch({
          dbpath: join(context.scratch, `follower-${interval}`), disaggRole: 'follower', pageLog, setParameters: { disaggPickUpIntervalMs: interval },
        });
        context.log(`pick-up latency at disaggPickUpIntervalMs=${interval}`);
        const latencies = await pickUpLatencies(leader, leaderClient, follower, checkpoints, String(interval));
        const variant = `disaggPickUpIntervalMs ${interval}`;
        rows.push({ section, figure: 'pick-up latency, median (checkpoint completed to follower serving it)', variant, value: median(latencies), unit: 'ms' });
        rows.push({ section, figure: 'pick-up latency, p99', variant, value: percentile(latencies, 99), unit: 'ms' });
        if (interval === 500) {
          const followerClient = await follower.client();
          context.log('reads on the leader and on the follower');
          for (const [variant, client] of [['leader', leaderClient], ['follower', followerClient]] as const) {
            rows.push({ section, figure: `full scan of ${documents.toLocaleString('en')} documents (best of 3)`, variant, value: await scanRate(client, 3), unit: 'docs/s' });
            rows.push({ section, figure: 'point reads by _id, one client', variant, value: await pointReadRate(client, documents, context.quick ? 1 : 3), unit: 'reads/s' });
          }
          context.log('step-ups');
          // Alternate the writer role between the two nodes: each step-up fences the other, which steps down.
          const stepUps: number[] = [];
          const firstWrites: number[] = [];
          const nodes: Array<[ShimProcess, MongoClient]> = [[follower, followerClient], [leader, leaderClient]];
          for (let i = 0; i < (context.quick ? 2 : 6); i++) {
            const [, client] = nodes[i % 2]!;
            const started = performance.now();
            await client.db('admin').command({ replSetStepUp: 1 });
            stepUps.push(performance.now() - started);
            await client.db('bench').collection('stepup').insertOne({ _id: `${interval}-${i}` } as never);
            firstWrites.push(performance.now() - started);
            await client.db('admin').command({ fsync: 1 });
            // The fenced node steps down at its next look at the page log (every disaggPickUpIntervalMs).
            const [, other] = nodes[(i + 1) % 2]!;
            while ((await other.db('admin').command({ hello: 1 })).isWritablePrimary === true) await new Promise((resolve) => setTimeout(resolve, 20));
          }
          rows.push({ section, figure: 'step-up: replSetStepUp reply (new term, abandon, open the checkpoint)', value: median(stepUps), unit: 'ms' });
          rows.push({ section, figure: 'step-up: to the first write accepted', value: median(firstWrites), unit: 'ms' });
          await followerClient.close();
        }
      }
      await leaderClient.close();
    } finally {
      for (const shim of shims.reverse()) await shim.cleanup();
    }
    return rows;
  },
};
