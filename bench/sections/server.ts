import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { MongoClient } from 'mongodb';
import { builtPaths, ShimProcess } from '../../jstests/libs/index.js';
import { rateSlowerBy, slowerBy, type BenchRow, type BenchSection } from '../types.js';
import { WireResponder } from '../wire_responder.js';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const moduleTrace = fileURLToPath(new URL('../../jstests/libs/module_trace.js', import.meta.url));

/** Milliseconds from spawning `node args` until its stdout holds `readyText` (or it exits). */
async function timeUntilReady(args: string[], readyText?: string, env?: NodeJS.ProcessEnv): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'], ...(env === undefined ? {} : { env }) });
  let elapsed: number | undefined;
  await new Promise<void>((resolve) => {
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('latin1');
      if (elapsed === undefined && readyText !== undefined && output.includes(readyText)) {
        elapsed = performance.now() - started;
        resolve();
      }
    });
    child.on('exit', () => resolve());
  });
  elapsed ??= performance.now() - started;
  if (child.exitCode === null) {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.on('exit', resolve));
  }
  return elapsed;
}

/** `insertMany` of `count` small documents on one new connection; documents per second. */
async function insertManyRate(uri: string, collection: string, count: number): Promise<number> {
  const client = new MongoClient(uri);
  await client.connect();
  try {
    const documents = Array.from({ length: count }, (_, i) => ({ i, name: `item-${i}`, tag: i % 10 }));
    const started = performance.now();
    const result = await client.db('bench').collection(collection).insertMany(documents);
    const seconds = (performance.now() - started) / 1000;
    if (result.insertedCount !== count) throw new Error(`insertMany inserted ${result.insertedCount} of ${count}`);
    return count / seconds;
  } finally {
    await client.close();
  }
}

/**
 * The server's own costs: start-up time to the ready line (median of several spawns, beside
 * `node -e 0`), `insertMany` of small documents through the server beside the same driver
 * against a storage-less responder of the wire protocol in the same run, and `count` without
 * a filter on the collection just filled.
 */
export const serverSection: BenchSection = {
  name: 'server',
  description: 'mongod-shim start-up, insertMany against a storage-less responder, count {}',
  async run(context) {
    const rows: BenchRow[] = [];
    const spawns = context.quick ? 3 : 7;
    const documents = context.quick ? 10_000 : 100_000;

    const nodeTimes: number[] = [];
    for (let i = 0; i < spawns; i += 1) nodeTimes.push(await timeUntilReady(['-e', '0']));
    const nodeMillis = median(nodeTimes);
    rows.push({ section: 'server', figure: `node -e 0 (median of ${spawns})`, value: nodeMillis, unit: 'ms' });
    for (const storage of ['disagg', 'local'] as const) {
      context.log(`start-up to the ready line, ${storage}, ${spawns} spawns`);
      const times: number[] = [];
      for (let i = 0; i < spawns; i += 1) {
        const dbpath = join(context.scratch, `startup-${storage}-${i}`);
        mkdirSync(dbpath);
        times.push(await timeUntilReady([builtPaths.mongodShim, '--dbpath', dbpath, '--port', '0', '--replSet', 'rs0', '--storage', storage], '"Waiting for connections"'));
      }
      const millis = median(times);
      rows.push({
        section: 'server', figure: `start-up to the ready line, new dbpath (median of ${spawns})`, variant: storage, value: millis, unit: 'ms',
        reference: { value: nodeMillis, unit: 'ms', source: 'node -e 0 in the same run' }, ratio: slowerBy(millis, nodeMillis),
      });
      // What the process has loaded by its ready line: the server's own files (its bundle's
      // chunks) and its dependencies' modules, each costing about a millisecond to load.
      const traceFile = join(context.scratch, `modules-${storage}.txt`);
      const tracedDbpath = join(context.scratch, `startup-${storage}-traced`);
      mkdirSync(tracedDbpath);
      await timeUntilReady(['--import', moduleTrace, builtPaths.mongodShim, '--dbpath', tracedDbpath, '--port', '0', '--replSet', 'rs0', '--storage', storage], '"Waiting for connections"', {
        ...process.env, MODULE_TRACE_FILE: traceFile,
      });
      const loaded = readFileSync(traceFile, 'utf8').split('\n').filter((line) => line !== '' && !line.includes('/jstests/libs/'));
      const ownFiles = loaded.filter((line) => !line.includes('/node_modules/')).length;
      rows.push({ section: 'server', figure: 'files of the server loaded before the ready line', variant: storage, value: ownFiles, unit: 'files' });
      rows.push({ section: 'server', figure: 'modules of its dependencies loaded before the ready line', variant: storage, value: loaded.length - ownFiles, unit: 'modules' });
    }

    const responder = new WireResponder();
    const responderUri = await responder.listen();
    const shim = new ShimProcess({ replSet: 'rs0', setParameters: { checkpointIntervalSecs: 0 }, dbpath: join(context.scratch, 'db') });
    try {
      await shim.start();
      // One warm-up round each (JIT), then the measured round, alternating in the same run.
      context.log(`insertMany of ${documents} documents: responder, then server`);
      await insertManyRate(responderUri, 'warmup', documents);
      await insertManyRate(shim.uri, 'warmup', documents);
      const responderRate = await insertManyRate(responderUri, 'docs', documents);
      const serverRate = await insertManyRate(shim.uri, 'docs', documents);
      rows.push({ section: 'server', figure: `insertMany of ${documents} small documents, storage-less responder`, value: responderRate, unit: 'docs/s' });
      rows.push({
        section: 'server', figure: `insertMany of ${documents} small documents, through the server`, value: serverRate, unit: 'docs/s',
        reference: { value: responderRate, unit: 'docs/s', source: 'the storage-less responder in the same run' }, ratio: rateSlowerBy(serverRate, responderRate),
      });
      rows.push({ section: 'server', figure: 'insertMany rate, server / responder', value: serverRate / responderRate, unit: 'fraction' });

      const client = await shim.client();
      const database = client.db('bench');
      for (const round of ['first (counts the keys)', 'later (the kept count)']) {
        const started = performance.now();
        const { n } = await database.command({ count: 'docs' });
        const millis = performance.now() - started;
        if (n !== documents) throw new Error(`count {} said ${n}, expected ${documents}`);
        rows.push({ section: 'server', figure: `count {} on ${documents} documents, ${round}`, value: millis, unit: 'ms' });
      }
      await shim.stop();
    } finally {
      await shim.cleanup();
      await responder.close();
    }
    return rows;
  },
};
