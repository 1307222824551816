import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MongoClient } from 'mongodb';
import { dir } from 'tmp-promise';
import { builtPaths } from '../libs/index.js';

const traceModule = fileURLToPath(new URL('../libs/module_trace.js', import.meta.url));

/** A server started under the module trace; `loaded()` lists the modules it has loaded so far. */
interface TracedServer {
  client: MongoClient;
  loaded(): string[];
  stop(): Promise<void>;
}

async function startTraced(storage: 'local' | 'disagg'): Promise<TracedServer> {
  const run = await dir({ prefix: 'jstest-trace-', unsafeCleanup: true });
  const dbpath = join(run.path, 'db');
  await mkdir(dbpath);
  const traceFile = join(run.path, 'modules.txt');
  const child: ChildProcess = spawn(process.execPath, ['--import', traceModule, builtPaths.mongodShim, '--dbpath', dbpath, '--port', '0', '--replSet', 'rs0', '--storage', storage], {
    env: { ...process.env, MODULE_TRACE_FILE: traceFile },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const ready = /"msg":"Waiting for connections".*?"port":(\d+)/.exec(output);
      if (ready) resolve(Number(ready[1]));
    });
    child.on('exit', (code) => reject(new Error(`mongod-shim exited with ${code} before it was ready:\n${output}`)));
  });
  const loadedAtReady = readFileSync(traceFile, 'utf8');
  const client = new MongoClient(`mongodb://127.0.0.1:${port}/?directConnection=true`);
  await client.connect();
  return {
    client,
    loaded: () => readFileSync(traceFile, 'utf8').split('\n').filter((line) => line !== '').flatMap(sourceModules),
    stop: async () => {
      await client.close();
      const exited = new Promise((resolve) => child.on('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      expect(loadedAtReady).to.not.equal('');
      await run.cleanup();
    },
  };
}

/**
 * The project modules a loaded file holds: the server is built as a bundle split into chunks
 * (`npm run build`), so a chunk stands for the modules its source map lists, each named as its
 * own built file (`.../server-shim/query/matcher.js`); other files stand for themselves.
 */
function sourceModules(url: string): string[] {
  if (!url.startsWith('file:')) return [url];
  const file = fileURLToPath(url);
  if (file.includes('/node_modules/') || !existsSync(`${file}.map`)) return [url];
  const sources = (JSON.parse(readFileSync(`${file}.map`, 'utf8')) as { sources: string[] }).sources;
  if (sources.length <= 1) return [url];
  return sources.map((source) => pathToFileURL(resolve(dirname(file), source).replace(/\.ts$/, '.js')).href);
}

/** The loaded modules whose URL contains any of `parts`. */
function loadedAmong(loaded: string[], parts: string[]): string[] {
  return loaded.filter((url) => parts.some((part) => url.includes(part)));
}

/** What serving clients needs none of until a client asks for it. */
const notNeededToServe = [
  '/server-shim/query/', '/node_modules/re2js/', '/server-shim/modes/magic_restore', '/server-shim/modes/repair', '/server-shim/restore/',
  '/engine/verify/verify', '/engine/repair/', '/engine/pit/', '/server-shim/commands/validate', '/server-shim/commands/repair_metadata',
];

describe('mongod-shim: start-up loads only what the mode needs', () => {
  it('local mode serves inserts without lmdb, the query engine, the start-up modes, the verifier or the repair worker, and loads the query engine for the first query', async () => {
    const server = await startTraced('local');
    try {
      const items = server.client.db('trace').collection<{ _id: number; name: string }>('items');
      await items.insertMany([{ _id: 1, name: 'one' }, { _id: 2, name: 'two' }]);
      expect(loadedAmong(server.loaded(), ['/node_modules/lmdb/', ...notNeededToServe])).to.deep.equal([]);
      expect(await items.find({ name: { $regex: '^t' } }).toArray()).to.deep.equal([{ _id: 2, name: 'two' }]);
      expect(loadedAmong(server.loaded(), ['/server-shim/query/matcher.js', '/node_modules/re2js/'])).to.have.length(2);
      expect(loadedAmong(server.loaded(), ['/node_modules/lmdb/'])).to.deep.equal([]);
    } finally {
      await server.stop();
    }
  });

  it('disaggregated mode loads lmdb for its page log, and still none of the rest', async () => {
    const server = await startTraced('disagg');
    try {
      await server.client.db('trace').collection<{ _id: number }>('items').insertOne({ _id: 1 });
      expect(loadedAmong(server.loaded(), ['/node_modules/lmdb/'])).to.not.deep.equal([]);
      expect(loadedAmong(server.loaded(), notNeededToServe)).to.deep.equal([]);
    } finally {
      await server.stop();
    }
  });
});
