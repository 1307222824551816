import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { MongoClient } from 'mongodb';
import { ShimProcess } from '../../jstests/libs/index.js';
import { MIN_USER_PAGE_ID, openPageLog } from '../../engine/page_log/index.js';
import { startPostgresServer } from '../../engine/testing/postgres_server.js';
import { slowerBy, type BenchRow, type BenchSection } from '../types.js';

const IMAGE_SIZE = 32 * 1024;
const section = 'page_log';

/** The stores measured side by side: where each keeps its log. */
interface StoreUnderBench {
  variant: 'lmdb' | 'postgres';
  location: string;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** Pings every 5 ms until stopped; returns every round trip. */
function pingLoop(client: MongoClient): { stop: () => Promise<number[]> } {
  let running = true;
  const trips: number[] = [];
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      await client.db('admin').command({ ping: 1 });
      trips.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  return { stop: async () => { running = false; await loop; return trips; } };
}

/** Durable puts of 32 KiB images in rounds ended by a completion record, then every page read back by a new process's handle. */
async function putsAndGets(store: StoreUnderBench, quick: boolean, log: (message: string) => void): Promise<BenchRow[]> {
  const putsPerRound = quick ? 1_000 : 5_000;
  const rounds = quick ? 2 : 5;
  const image = Buffer.alloc(IMAGE_SIZE);
  for (let i = 0; i < image.length; i++) image[i] = (i * 131) & 0xff;
  let totalMs = 0;
  const writer = await openPageLog(store.location);
  try {
    const pages = writer.openHandle(200);
    for (let round = 0; round < rounds; round++) {
      log(`page log, ${store.variant}: put round ${round + 1} of ${rounds}`);
      const started = performance.now();
      writer.beginCheckpoint();
      for (let put = 0; put < putsPerRound; put++) pages.put(MIN_USER_PAGE_ID + put, { backlinkLsn: 0, baseLsn: 0, flags: 0 }, image);
      await writer.completeCheckpoint({ timestamp: BigInt(round + 1), oldestTimestamp: 1n, metadata: `round=${round}` });
      totalMs += performance.now() - started;
    }
  } finally {
    await writer.close();
  }
  const reader = await openPageLog(store.location, { readOnly: true });
  let getMs: number;
  try {
    const pages = reader.openHandle(200);
    const started = performance.now();
    for (let get = 0; get < putsPerRound; get++) pages.get(MIN_USER_PAGE_ID + get);
    getMs = performance.now() - started;
  } finally {
    await reader.close();
  }
  const puts = putsPerRound * rounds;
  const row = (figure: string, value: number, unit: string): BenchRow => ({ section, figure, variant: store.variant, value, unit });
  return [
    row('32 KiB puts made durable', puts / (totalMs / 1000), 'puts/s'),
    row('durable write rate', (puts * IMAGE_SIZE) / (1024 * 1024) / (totalMs / 1000), 'MB/s'),
    row('32 KiB gets, newest version, new reader', putsPerRound / (getMs / 1000), 'gets/s'),
  ];
}

/**
 * Through a real server on the store: a checkpoint of `records` small documents (the page log's
 * bytes over the checkpoint's time), then, after a restart (a cold cache), a full scan with a
 * second client pinging every 5 ms: the scan's rate and the pings' p99.
 */
async function serverOnStore(store: StoreUnderBench, scratch: string, records: number, log: (message: string) => void): Promise<BenchRow[]> {
  const shim = new ShimProcess({ dbpath: join(scratch, `db-${store.variant}`), pageLog: store.location, setParameters: { checkpointIntervalSecs: 0 } });
  await shim.start();
  let client = await shim.client();
  const orders = client.db('bench').collection('orders');
  log(`page log, ${store.variant}: loading ${records.toLocaleString('en')} documents`);
  for (let start = 0; start < records; start += 10_000) {
    const count = Math.min(10_000, records - start);
    await orders.insertMany(Array.from({ length: count }, (_, i) => ({ _id: start + i, total: i, note: 'x'.repeat(40) })) as never[], { ordered: false });
  }
  log(`page log, ${store.variant}: checkpoint`);
  let started = performance.now();
  await client.db('admin').command({ fsync: 1 });
  const checkpointSeconds = (performance.now() - started) / 1000;
  await shim.stop();
  const inspector = await openPageLog(store.location, { readOnly: true });
  const bytes = inspector.stat().bytes;
  await inspector.close();

  await shim.start();
  client = await shim.client();
  const pinger = await shim.client();
  log(`page log, ${store.variant}: cold full scan`);
  const pings = pingLoop(pinger);
  started = performance.now();
  let seen = 0;
  for await (const _ of client.db('bench').collection('orders').find({}).batchSize(10_000)) seen += 1;
  const scanSeconds = (performance.now() - started) / 1000;
  const trips = await pings.stop();
  await shim.stop();
  await shim.cleanup();
  if (seen !== records) throw new Error(`the scan on ${store.variant} returned ${seen} documents, not ${records}`);
  const row = (figure: string, value: number, unit: string): BenchRow => ({ section, figure, variant: store.variant, value, unit });
  const size = records.toLocaleString('en');
  return [
    row(`checkpoint of ${size} documents, page log bytes / time`, bytes / (1024 * 1024) / checkpointSeconds, 'MB/s'),
    row(`checkpoint of ${size} documents`, checkpointSeconds, 's'),
    row(`cold full scan of ${size} documents`, records / scanSeconds, 'docs/s'),
    row('ping p99 during the cold scan (a ping every 5 ms)', percentile(trips, 99), 'ms'),
  ];
}

/**
 * The page log's stores side by side in one run (the embedded LMDB store and PostgreSQL on
 * this host): durable puts and gets, a checkpoint through the server, a cold full scan and how
 * responsive the server stays meanwhile. PostgreSQL's rows carry their ratio to LMDB's.
 */
export const pageLogSection: BenchSection = {
  name: 'page_log',
  description: 'page log stores side by side: LMDB and PostgreSQL (puts, gets, a server checkpoint, a cold scan with ping p99)',
  async run(context) {
    const records = context.quick ? 100_000 : 1_000_000;
    const postgres = await startPostgresServer();
    try {
      await postgres.createDatabase('bench_puts');
      await postgres.createDatabase('bench_server');
      const rows: BenchRow[] = [];
      for (const variant of ['lmdb', 'postgres'] as const) {
        const puts = { variant, location: variant === 'lmdb' ? join(context.scratch, 'pagelog-puts') : postgres.url('bench_puts') };
        rows.push(...await putsAndGets(puts, context.quick, context.log));
        const server = { variant, location: variant === 'lmdb' ? join(context.scratch, 'pagelog-server') : postgres.url('bench_server') };
        rows.push(...await serverOnStore(server, context.scratch, records, context.log));
      }
      // PostgreSQL beside LMDB: how many times worse (durations and p99 lower is better, rates higher).
      for (const row of rows.filter((each) => each.variant === 'postgres')) {
        const lmdb = rows.find((each) => each.variant === 'lmdb' && each.figure === row.figure)!;
        const lowerIsBetter = row.unit === 's' || row.unit === 'ms';
        row.reference = { value: lmdb.value, unit: lmdb.unit, source: 'the LMDB store, same run' };
        row.ratio = lowerIsBetter ? slowerBy(row.value, lmdb.value) : slowerBy(lmdb.value, row.value);
      }
      return rows;
    } finally {
      await postgres.destroy();
    }
  },
};
