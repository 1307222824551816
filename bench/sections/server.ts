import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { MongoClient } from 'mongodb';
import { builtPaths, ShimProcess } from '../../jstests/libs/index.js';
import { rateSlowerBy, slowerBy, type BenchRow, type BenchSection } from '../types.js';
import { WireResponder } from '../wire_responder.js';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/**
 * Milliseconds from spawning `node args` until its stdout holds `readyText` (or it exits); the
 * process is then stopped, after `keepMs` more.
 */
async function timeUntilReady(args: string[], readyText?: string, env?: NodeJS.ProcessEnv, keepMs = 0): Promise<number> {
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
  if (keepMs > 0) await new Promise((resolve) => setTimeout(resolve, keepMs));
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
    const spawns = context.quick ? 3 : 11;
    const documents = context.quick ? 10_000 : 100_000;

    // Node reads the certificates NODE_EXTRA_CA_CERTS names at every start, before any program
    // runs (some 40 ms here for the system's bundle); the server makes no TLS connection. Where
    // it is set, start-up is measured as the environment runs it and without it.
    const environments: Array<{ label: string; env?: NodeJS.ProcessEnv }> = [{ label: 'as run' }];
    if (process.env.NODE_EXTRA_CA_CERTS !== undefined) {
      const { NODE_EXTRA_CA_CERTS: _ignored, ...withoutExtraCertificates } = process.env;
      environments.push({ label: 'without NODE_EXTRA_CA_CERTS', env: withoutExtraCertificates });
    }
    // One server that runs long enough to write the code caches of its bundles (see server-shim/main.cts),
    // as any server that has run for a couple of seconds since the build has; in disaggregated mode,
    // which runs the bundle of lmdb too.
    const warmDbpath = join(context.scratch, 'startup-warm');
    mkdirSync(warmDbpath);
    await timeUntilReady([builtPaths.mongodShim, '--dbpath', warmDbpath, '--port', '0', '--replSet', 'rs0'], '"Waiting for connections"', undefined, 2500);
    // The environments take turns, spawn by spawn, so that a slower moment of the machine
    // weighs on each alike.
    const nodeTimes = environments.map(() => [] as number[]);
    for (let i = 0; i < spawns; i += 1) {
      for (const [index, { env }] of environments.entries()) nodeTimes[index]!.push(await timeUntilReady(['-e', '0'], undefined, env));
    }
    const nodeMillis = nodeTimes.map(median);
    for (const [index, { label }] of environments.entries()) {
      rows.push({ section: 'server', figure: `node -e 0 (median of ${spawns})`, variant: label, value: nodeMillis[index]!, unit: 'ms' });
    }
    for (const storage of ['disagg', 'local'] as const) {
      context.log(`start-up to the ready line, ${storage}, ${spawns} spawns in each environment`);
      const times = environments.map(() => [] as number[]);
      for (let i = 0; i < spawns; i += 1) {
        for (const [index, { env }] of environments.entries()) {
          const dbpath = join(context.scratch, `startup-${storage}-${index}-${i}`);
          mkdirSync(dbpath);
          times[index]!.push(await timeUntilReady([builtPaths.mongodShim, '--dbpath', dbpath, '--port', '0', '--replSet', 'rs0', '--storage', storage], '"Waiting for connections"', env));
        }
      }
      for (const [index, { label }] of environments.entries()) {
        const millis = median(times[index]!);
        const reference = nodeMillis[index]!;
        rows.push({
          section: 'server', figure: `start-up to the ready line, new dbpath (median of ${spawns})`, variant: `${storage}, ${label}`, value: millis, unit: 'ms',
          reference: { value: reference, unit: 'ms', source: 'node -e 0 in the same run' }, ratio: slowerBy(millis, reference),
        });
        rows.push({ section: 'server', figure: 'start-up beyond node -e 0 (the server\'s own share)', variant: `${storage}, ${label}`, value: millis - reference, unit: 'ms' });
      }
    }

    const responder = new WireResponder();
    const responderUri = await responder.listen();
    const shim = new ShimProcess({ replSet: 'rs0', setParameters: { checkpointIntervalSecs: 0 }, dbpath: join(context.scratch, 'db') });
    try {
      await shim.start();
      // One warm-up round each (JIT), then measured rounds taking turns in the same run, each
      // into a new collection; the median of each side's rounds.
      const rounds = context.quick ? 1 : 3;
      context.log(`insertMany of ${documents} documents: responder, then server, ${rounds} rounds after a warm-up`);
      await insertManyRate(responderUri, 'warmup', documents);
      await insertManyRate(shim.uri, 'warmup', documents);
      const responderRates: number[] = [];
      const serverRates: number[] = [];
      for (let round = 0; round < rounds; round += 1) {
        responderRates.push(await insertManyRate(responderUri, `docs${round}`, documents));
        // The first measured round fills `docs`, which `count {}` reads below.
        serverRates.push(await insertManyRate(shim.uri, round === 0 ? 'docs' : `docs${round}`, documents));
      }
      const responderRate = median(responderRates);
      const serverRate = median(serverRates);
      rows.push({ section: 'server', figure: `insertMany of ${documents} small documents, storage-less responder (median of ${rounds})`, value: responderRate, unit: 'docs/s' });
      rows.push({
        section: 'server', figure: `insertMany of ${documents} small documents, through the server (median of ${rounds})`, value: serverRate, unit: 'docs/s',
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
