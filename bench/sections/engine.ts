import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import type { StorageMode } from '../../engine/api.js';
import type { EngineFigures } from '../engine_workload.js';
import { rateSlowerBy, slowerBy, type BenchRow, type BenchSection, type Reference } from '../types.js';

const workload = join(dirname(fileURLToPath(import.meta.url)), '..', 'engine_workload.js');

/** WiredTiger (C) on this kind of machine, 100 MB cache: the figures to be within 3x of. */
const WIREDTIGER = {
  load: { value: 1.85, unit: 's', source: 'WiredTiger 12 (C), 1M records + checkpoint' },
  open: { value: 18, unit: 'ms', source: 'WiredTiger 12 (C), open of the loaded home' },
  reads: { value: 114_000, unit: 'reads/s', source: 'WiredTiger 12 (C), random point reads, 100 MB cache' },
} satisfies Record<string, Reference>;

/**
 * The engine's first figures: load 1,000,000 records (`key%012d`, 100-byte
 * values) through a cursor plus a checkpoint, reopen time, 100,000 random point reads, a full
 * scan and peak RSS with the default cache; each storage mode in its own process.
 */
export const engineSection: BenchSection = {
  name: 'engine',
  description: 'load, reopen, random reads, scan and peak RSS, per storage mode',
  async run(context) {
    const count = context.quick ? 100_000 : 1_000_000;
    const reads = context.quick ? 10_000 : 100_000;
    const rows: BenchRow[] = [];
    for (const storage of ['local', 'disagg'] as StorageMode[]) {
      context.log(`engine (${storage}): loading ${count.toLocaleString('en')} records`);
      const result = await execa(process.execPath, [workload, join(context.scratch, storage), storage, String(count), String(reads)], {
        stdin: 'ignore', stderr: 'inherit',
      });
      const figures = JSON.parse(result.stdout.trim().split('\n').pop()!) as EngineFigures;
      const row = (figure: string, value: number, unit: string, reference?: Reference, ratio?: number): BenchRow =>
        ({ section: 'engine', figure, variant: storage, value, unit, reference, ratio });
      const loadSeconds = (figures.loadMs + figures.checkpointMs) / 1000;
      const readRate = figures.reads / (figures.readMs / 1000);
      rows.push(
        row(`load ${count.toLocaleString('en')} records + checkpoint`, loadSeconds, 's', WIREDTIGER.load, slowerBy(loadSeconds, WIREDTIGER.load.value)),
        row('  of which checkpoint', figures.checkpointMs / 1000, 's'),
        row('  home size after the checkpoint', figures.homeBytes / (1024 * 1024), 'MB'),
        row('  data made durable per second (home size / load + checkpoint)', figures.homeBytes / (1024 * 1024) / loadSeconds, 'MB/s'),
        row('reopen', figures.openMs, 'ms', WIREDTIGER.open, slowerBy(figures.openMs, WIREDTIGER.open.value)),
        row('  first point read after reopen (opens the table)', figures.firstReadMs, 'ms'),
        row(`${figures.reads.toLocaleString('en')} random point reads`, readRate, 'reads/s', WIREDTIGER.reads, rateSlowerBy(readRate, WIREDTIGER.reads.value)),
        row('full scan', figures.scanned / (figures.scanMs / 1000), 'records/s'),
        row('peak RSS (default 100 MB cache)', figures.maxRssBytes / (1024 * 1024), 'MB'),
      );
    }
    return rows;
  },
};
