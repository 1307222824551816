import type { Document, MongoClient } from 'mongodb';
import { performance } from 'node:perf_hooks';
import { runReadPath, ShimProcess } from '../../jstests/libs/index.js';
import type { BenchRow, BenchSection } from '../types.js';

const parameters = { enableRepairCommands: 1, checkpointIntervalSecs: 0 };

/** The page log's stored page bytes (every version), read by `wt-readpath stat` from a stopped home. */
async function pageLogBytes(dbpath: string): Promise<number> {
  const stat = await runReadPath(['stat', dbpath, '--json'], { timeoutMs: 600_000 });
  if (stat.exitCode !== 0) throw new Error(`wt-readpath stat exited ${stat.exitCode}: ${stat.stderr}`);
  return ((JSON.parse(stat.stdout) as Document).pageLog as Document).bytes as number;
}

/** Pings in a loop until stopped; returns the longest round trip seen. */
function pingLoop(client: MongoClient): { stop: () => Promise<number> } {
  let running = true;
  let longest = 0;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      await client.db('admin').command({ ping: 1 });
      longest = Math.max(longest, performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  return { stop: async () => { running = false; await loop; return longest; } };
}

/**
 * Repair at real size: a collection of 2,000,000 documents given a new file id through
 * `repairMetadata modify` on a running server: the move's total time, the longest `ping` round
 * trip another client sees meanwhile, and the page log's stored bytes before, right after (the
 * server killed at once, so no later checkpoint prunes) and after the retention window.
 */
export const repairSection: BenchSection = {
  name: 'repair',
  description: 'a page move by repairMetadata modify at 2,000,000 documents',
  async run(context) {
    const documents = context.quick ? 100_000 : 2_000_000;
    const shim = new ShimProcess({ setParameters: parameters, dbpath: context.scratch });
    await shim.start();
    let client = await shim.client();
    context.log(`loading ${documents} documents`);
    const collection = client.db('shop').collection('orders');
    for (let start = 0; start < documents; start += 10_000) {
      await collection.insertMany(Array.from({ length: 10_000 }, (_, i) => ({ _id: start + i, total: i, note: 'x'.repeat(60) })) as never[], { ordered: false });
    }
    const [info] = await client.db('shop').listCollections({ name: 'orders' }).toArray();
    const uri = ((info as Document).info as Document).uri as string;
    await client.close();
    await shim.stop();
    const before = await pageLogBytes(context.scratch);

    await shim.start();
    client = await shim.client();
    const pinger = await shim.client();
    const pings = pingLoop(pinger);
    context.log('moving the collection\'s pages');
    const started = performance.now();
    await client.db('admin').command({ repairMetadata: 1, action: 'modify', uri, set: { id: 5000 } });
    const moveSeconds = (performance.now() - started) / 1000;
    const longestPing = await pings.stop();
    await pinger.close();
    await client.close();
    await shim.kill();
    const rightAfter = await pageLogBytes(context.scratch);

    await shim.start();
    client = await shim.client();
    for (let i = 0; i < 3; i++) await client.db('admin').command({ fsync: 1 });
    await client.close();
    await shim.stop();
    const afterRetention = await pageLogBytes(context.scratch);
    await shim.cleanup();

    const variant = `${documents.toLocaleString('en')} documents`;
    return [
      { section: 'repair', figure: 'modify {id}: total time (copy, switch, checkpoint)', variant, value: moveSeconds, unit: 's' },
      { section: 'repair', figure: 'longest ping round trip during the move (goal < 100 ms)', variant, value: longestPing, unit: 'ms' },
      { section: 'repair', figure: 'page log bytes before the move', variant, value: before / 1e6, unit: 'MB' },
      { section: 'repair', figure: 'page log bytes right after the move', variant, value: rightAfter / 1e6, unit: 'MB' },
      { section: 'repair', figure: 'page log bytes after the retention window', variant, value: afterRetention / 1e6, unit: 'MB' },
    ] satisfies BenchRow[];
  },
};
