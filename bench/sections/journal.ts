import type { Document, MongoClient } from 'mongodb';
import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ShimProcess } from '../../jstests/libs/index.js';
import type { BenchRow, BenchSection } from '../types.js';

const parameters = { checkpointIntervalSecs: 0 };

interface JournalCounters {
  syncs: number;
  waiters: number;
  bytesWritten: number;
}

async function journalCounters(client: MongoClient): Promise<JournalCounters> {
  const status = await client.db('admin').command({ serverStatus: 1 });
  const journal = status.journal as Document;
  return { syncs: journal.syncs as number, waiters: journal.waiters as number, bytesWritten: journal.bytesWritten as number };
}

/**
 * `insertOne` with `{j: true}` from `clients` concurrent clients for `seconds`: every reply
 * waits for the journal fsync. Returns the rate, the writes each fsync served and the journal's
 * write rate.
 */
async function journaledInserts(shim: ShimProcess, clients: number, seconds: number): Promise<{ opsPerSecond: number; writesPerSync: number; journalMBps: number }> {
  const connections = await Promise.all(Array.from({ length: clients }, () => shim.client()));
  const before = await journalCounters(connections[0]!);
  const deadline = performance.now() + seconds * 1000;
  let done = 0;
  const started = performance.now();
  await Promise.all(connections.map(async (client, c) => {
    const collection = client.db('bench').collection(`j${clients}`);
    for (let i = 0; performance.now() < deadline; i++) {
      await collection.insertOne({ _id: `${c}-${i}`, payload: 'x'.repeat(100) } as never, { writeConcern: { w: 1, j: true } });
      done += 1;
    }
  }));
  const elapsed = (performance.now() - started) / 1000;
  const after = await journalCounters(connections[0]!);
  await Promise.all(connections.map((client) => client.close()));
  const syncs = Math.max(1, after.syncs - before.syncs);
  return { opsPerSecond: done / elapsed, writesPerSync: done / syncs, journalMBps: (after.bytesWritten - before.bytesWritten) / 1e6 / elapsed };
}

/** The disk's rate for appends of `blockBytes`, each followed by `fdatasync`, for `seconds`. */
function diskAppendSyncRate(directory: string, blockBytes: number, seconds: number): number {
  const fd = openSync(join(directory, 'disk-rate.tmp'), 'w');
  const block = Buffer.alloc(blockBytes, 0x5a);
  let written = 0;
  const started = performance.now();
  try {
    while (performance.now() - started < seconds * 1000) {
      written += writeSync(fd, block);
      fdatasyncSync(fd);
    }
  } finally {
    closeSync(fd);
  }
  return written / 1e6 / ((performance.now() - started) / 1000);
}

/**
 * The journal: `insertOne` with `j: true` from 1 and from 16 clients (ops/s, and how many writes
 * share an fsync), the journal's MB/s beside the disk's append-plus-fdatasync rate in the same
 * run, and the time a server takes to start after a kill -9 with 100,000 journaled writes since
 * its last checkpoint (journal replay and replication recovery).
 */
export const journalSection: BenchSection = {
  name: 'journal',
  description: 'journaled writes, group commit and recovery time',
  async run(context) {
    const seconds = context.quick ? 1 : 5;
    const recoveryWrites = context.quick ? 10_000 : 100_000;
    const rows: BenchRow[] = [];
    const shim = new ShimProcess({ setParameters: parameters, replSet: 'rs0', dbpath: join(context.scratch, 'db') });
    await shim.start();
    for (const clients of [1, 16]) {
      context.log(`insertOne j:true from ${clients} client(s) for ${seconds} s`);
      const result = await journaledInserts(shim, clients, seconds);
      const variant = `${clients} client${clients === 1 ? '' : 's'}`;
      rows.push(
        { section: 'journal', figure: 'insertOne {j: true}', variant, value: result.opsPerSecond, unit: 'ops/s' },
        { section: 'journal', figure: 'writes per journal fsync (group commit)', variant, value: result.writesPerSync, unit: 'writes' },
        { section: 'journal', figure: 'journal write rate', variant, value: result.journalMBps, unit: 'MB/s' },
      );
    }
    rows.push({
      section: 'journal', figure: 'disk: 8 KB appends, each followed by fdatasync', value: diskAppendSyncRate(context.scratch, 8192, seconds), unit: 'MB/s',
    });

    context.log(`${recoveryWrites} journaled writes, then kill -9`);
    const client = await shim.client();
    await client.db('admin').command({ fsync: 1 });
    const collection = client.db('bench').collection('recovery');
    for (let start = 0; start < recoveryWrites; start += 1000) {
      await collection.insertMany(Array.from({ length: 1000 }, (_, i) => ({ _id: start + i, payload: 'y'.repeat(100) })) as never[], { writeConcern: { w: 1, j: true } });
    }
    await client.close();
    await shim.kill();
    const started = performance.now();
    await shim.start();
    const recoverySeconds = (performance.now() - started) / 1000;
    const check = await shim.client();
    const recovered = await check.db('bench').collection('recovery').countDocuments();
    await check.close();
    await shim.stop();
    await shim.cleanup();
    if (recovered !== recoveryWrites) throw new Error(`recovery after kill -9 found ${recovered} of ${recoveryWrites} journaled documents`);
    rows.push({
      section: 'journal', figure: `start-up after kill -9 with ${recoveryWrites.toLocaleString('en')} journaled writes since the checkpoint`, value: recoverySeconds, unit: 's',
    });
    return rows;
  },
};
