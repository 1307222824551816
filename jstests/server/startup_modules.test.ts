import { expect } from 'chai';
import { execa } from 'execa';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Script } from 'node:vm';
import { MongoClient } from 'mongodb';
import { dir, withDir } from 'tmp-promise';
import { ADDON_FILE, lmdbPackageDirectory, nativeAddonsMapped } from '../../engine/page_log/lmdb/addon/installed_addon.js';
import { builtPaths } from '../libs/index.js';

const serverBundle = join(dirname(builtPaths.mongodShim), 'server.cjs');
const lmdbBundle = join(dirname(builtPaths.mongodShim), 'lmdb.cjs');
const projectRoot = resolve(dirname(builtPaths.mongodShim), '..', '..');

/** A running server whose V8 coverage is written when it exits. */
interface CoveredServer {
  client: MongoClient;
  pid: number;
  /** Stops the server (SIGTERM) and lists what it had run (see `whatRan`) when it ran covered. */
  stop(): Promise<string[]>;
}

async function startServer(storage: 'local' | 'disagg', entry = builtPaths.mongodShim, covered = true, extraArgs: string[] = [], env: Record<string, string> = {}): Promise<CoveredServer> {
  const run = await dir({ prefix: 'jstest-startup-', unsafeCleanup: true });
  const dbpath = join(run.path, 'db');
  const coverage = join(run.path, 'coverage');
  await mkdir(dbpath);
  const child: ChildProcess = spawn(process.execPath, [entry, '--dbpath', dbpath, '--port', '0', '--replSet', 'rs0', '--storage', storage, ...extraArgs], {
    env: { ...process.env, ...env, ...(covered ? { NODE_V8_COVERAGE: coverage } : {}) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const ready = /"msg":"Waiting for connections".*?"port":(\d+)/.exec(output);
      if (ready) resolve(Number(ready[1]));
    });
    child.on('exit', (code) => reject(new Error(`mongod-shim exited with ${code} before it was ready:\n${output}`)));
  });
  const client = new MongoClient(`mongodb://127.0.0.1:${port}/?directConnection=true`);
  await client.connect();
  return {
    client,
    pid: child.pid!,
    stop: async () => {
      await client.close();
      const exited = new Promise((resolve) => child.on('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      try {
        return covered ? whatRan(coverage) : [];
      } finally {
        await run.cleanup();
      }
    },
  };
}

/**
 * What a process ran, from the V8 coverage Node writes at exit (`NODE_V8_COVERAGE`): the URL of
 * every script it loaded (dependencies are scripts of their own), and each module of the server
 * bundle whose body ran. The bundle keeps every module that is imported lazily in a function
 * named after its source (`"server-shim/query/matcher.ts"() {...}`), run on first import; the
 * bundle's other named functions that ran are listed as `server.cjs#NAME`.
 */
function whatRan(coverageDirectory: string): string[] {
  const ran: string[] = [];
  for (const file of readdirSync(coverageDirectory)) {
    const { result } = JSON.parse(readFileSync(join(coverageDirectory, file), 'utf8')) as {
      result: { url: string; functions: { functionName: string; ranges: { count: number }[] }[] }[];
    };
    for (const script of result) {
      ran.push(script.url);
      if (script.url.endsWith('/server.cjs')) {
        for (const fn of script.functions) {
          if ((fn.ranges[0]?.count ?? 0) === 0 || fn.functionName === '') continue;
          ran.push(/\.ts$/.test(fn.functionName) ? fn.functionName : `server.cjs#${fn.functionName}`);
        }
      } else if (script.url.endsWith('/lmdb.cjs')) {
        // The bundle of lmdb keeps each package file in a function named after its path too
        // (relative to where it was built, so whatever leads to node_modules/ is left out).
        for (const fn of script.functions) {
          const packageFile = /(?:^|\/)(node_modules\/.*)$/.exec(fn.functionName)?.[1];
          if (packageFile !== undefined && (fn.ranges[0]?.count ?? 0) > 0) ran.push(`lmdb.cjs:${packageFile}`);
        }
      }
    }
  }
  expect(ran.some((entry) => entry.endsWith('/server.cjs')), 'the coverage names the server bundle').to.equal(true);
  return ran;
}

/** The entries of `ran` that contain any of `parts`. */
function ranAmong(ran: string[], parts: string[]): string[] {
  return ran.filter((entry) => parts.some((part) => entry.includes(part)));
}

/** lmdb's scripts: the build's bundle of it (`dist/server-shim/lmdb.cjs`) or the package's own. */
const lmdbScripts = ['/server-shim/lmdb.cjs', '/node_modules/lmdb/'];

/** What serving clients needs none of until a client asks for it. */
const notNeededToServe = [
  'server-shim/query/', '/node_modules/re2js/', 'server-shim/modes/magic_restore', 'server-shim/modes/repair', 'server-shim/restore/',
  'engine/verify/verify', 'engine/repair/', 'engine/pit/', 'server-shim/commands/validate', 'server-shim/commands/repair_metadata',
];

/** True when `cacheFile` holds a code cache for `bundle` as it is now that V8 accepts. */
function codeCacheAccepted(bundle: string, cacheFile: string): boolean {
  if (!existsSync(cacheFile)) return false;
  const cache = readFileSync(cacheFile);
  const stats = statSync(bundle);
  if (cache.length < 16 || cache.readDoubleLE(0) !== stats.size || cache.readDoubleLE(8) !== stats.mtimeMs) return false;
  // The build writes its bundles wrapped as CommonJS modules already (see server-shim/main.cts).
  const script = new Script(readFileSync(bundle, 'latin1'), { filename: bundle, cachedData: cache.subarray(16) });
  return script.cachedDataRejected === false;
}

/**
 * Runs `test` on a copy of the built server (its launcher, `main.js` linked to `main.cjs` as the
 * build does, and the bundles) in a directory of its own beside a link to the project's
 * packages, so that its caches and bundles can be damaged; `test` gets the copy's
 * `server-shim` directory. The copy is removed after.
 */
async function withCopyOfServer(test: (shimDirectory: string) => Promise<void>): Promise<void> {
  const copy = await dir({ prefix: 'jstest-server-copy-', unsafeCleanup: true });
  try {
    const shimDirectory = join(copy.path, 'server-shim');
    mkdirSync(shimDirectory);
    symlinkSync(join(projectRoot, 'node_modules'), join(copy.path, 'node_modules'));
    writeFileSync(join(copy.path, 'package.json'), JSON.stringify({ type: 'module' }));
    for (const file of ['main.cjs', 'server.cjs', 'lmdb.cjs']) copyFileSync(join(dirname(serverBundle), file), join(shimDirectory, file));
    symlinkSync('main.cjs', join(shimDirectory, 'main.js'));
    await test(shimDirectory);
  } finally {
    await copy.cleanup();
  }
}

/** Waits until `check` holds, for at most `ms`. */
async function eventually(check: () => boolean, ms: number): Promise<boolean> {
  for (const started = Date.now(); Date.now() - started < ms; await new Promise((resolve) => setTimeout(resolve, 100))) {
    if (check()) return true;
  }
  return check();
}

describe('mongod-shim: start-up loads only what the mode needs', () => {
  it('local mode serves inserts without lmdb, the query engine, the start-up modes, the verifier or the repair worker', async () => {
    const server = await startServer('local');
    await server.client.db('trace').collection<{ _id: number; name: string }>('items').insertMany([{ _id: 1, name: 'one' }, { _id: 2, name: 'two' }]);
    const ran = await server.stop();
    expect(ranAmong(ran, ['server-shim/storage/storage.ts', 'server-shim/commands/insert.ts'])).to.have.length(2);
    expect(ranAmong(ran, lmdbScripts)).to.deep.equal([]);
    expect(ranAmong(ran, notNeededToServe)).to.deep.equal([]);
  });

  it('draws its identifiers without loading Node\'s crypto modules, which bson loads for its first generated _id', async () => {
    // Node's own modules are not in the coverage: a module preloaded into the server lists them as it exits.
    const probe = await dir({ prefix: 'jstest-builtins-', unsafeCleanup: true });
    try {
      const builtinsAtExit = async (insertWithoutId: boolean): Promise<string[]> => {
        const listFile = join(probe.path, `builtins-${insertWithoutId}.txt`);
        const preload = join(probe.path, 'list_builtins.cjs');
        writeFileSync(preload, `process.on('exit', () => require('node:fs').writeFileSync(process.env.BUILTINS_LIST_FILE, process.moduleLoadList.join('\\n')));`);
        const server = await startServer('disagg', builtPaths.mongodShim, false, [], { NODE_OPTIONS: `--require ${preload}`, BUILTINS_LIST_FILE: listFile });
        // A collection (a UUID), a cursor (a cursor id) and, when asked, a document without _id (an ObjectId).
        const items = server.client.db('trace').collection<{ _id?: number; n: number }>('items');
        await items.insertMany(Array.from({ length: 3 }, (_, n) => ({ _id: n, n })));
        // As a command: the driver's insertOne would make the _id itself.
        if (insertWithoutId) await server.client.db('trace').command({ insert: 'items', documents: [{ n: 3 }] });
        expect(await items.find({}, { batchSize: 1 }).toArray()).to.have.length(insertWithoutId ? 4 : 3);
        await server.stop();
        return readFileSync(listFile, 'utf8').split('\n');
      };
      const cryptoModules = (builtins: string[]): string[] => builtins.filter((name) => /^NativeModule (crypto|internal\/crypto\/|v8$)/.test(name));
      expect(cryptoModules(await builtinsAtExit(false))).to.deep.equal([]);
      const afterGeneratedId = await builtinsAtExit(true);
      expect(afterGeneratedId).to.include('NativeModule internal/crypto/webcrypto');
      expect(afterGeneratedId).to.not.include('NativeModule crypto');
    } finally {
      await probe.cleanup();
    }
  });

  it('compiles the WebAssembly of bson\'s Long when a cursor id is first written as text, not as it starts', async () => {
    const idle = await startServer('disagg');
    expect(await idle.stop()).to.not.include('server.cjs#longWasm');
    const server = await startServer('local');
    const items = server.client.db('trace').collection<{ _id: number }>('items');
    await items.insertMany(Array.from({ length: 7 }, (_, n) => ({ _id: n })));
    // Batches of two: the server keeps the cursor under its id as text, which Long's division makes.
    expect((await items.find({}, { batchSize: 2 }).sort({ _id: 1 }).toArray()).map(({ _id }) => _id)).to.deep.equal([0, 1, 2, 3, 4, 5, 6]);
    expect(await server.stop()).to.include('server.cjs#longWasm');
  });

  it('loads the query engine, with re2js, for the first query that needs it, and still no lmdb in local mode', async () => {
    const server = await startServer('local');
    const items = server.client.db('trace').collection<{ _id: number; name: string }>('items');
    await items.insertMany([{ _id: 1, name: 'one' }, { _id: 2, name: 'two' }]);
    expect(await items.find({ name: { $regex: '^t' } }).toArray()).to.deep.equal([{ _id: 2, name: 'two' }]);
    const ran = await server.stop();
    expect(ranAmong(ran, ['server-shim/query/matcher.ts', '/node_modules/re2js/'])).to.have.length(2);
    expect(ranAmong(ran, lmdbScripts)).to.deep.equal([]);
  });

  it('loads the native package of @node-rs/crc32 for glibc Linux directly, and through the package\'s loader when NAPI_RS_NATIVE_LIBRARY_PATH names the addon', async function () {
    const nativePackage = join(projectRoot, 'node_modules', '@node-rs', `crc32-linux-${process.arch}-gnu`);
    if (process.platform !== 'linux' || !existsSync(nativePackage)) this.skip();
    const loader = '/node_modules/@node-rs/crc32/index.js';
    const direct = await startServer('local');
    await direct.client.db('trace').collection<{ _id: number }>('items').insertOne({ _id: 1 });
    expect(ranAmong(await direct.stop(), [loader])).to.deep.equal([]);
    const addon = readdirSync(nativePackage).find((file) => file.endsWith('.node'))!;
    const throughLoader = await startServer('local', builtPaths.mongodShim, true, [], { NAPI_RS_NATIVE_LIBRARY_PATH: join(nativePackage, addon) });
    const items = throughLoader.client.db('trace').collection<{ _id: number }>('items');
    await items.insertOne({ _id: 1 });
    expect(await items.findOne({ _id: 1 })).to.deep.equal({ _id: 1 });
    expect(ranAmong(await throughLoader.stop(), [loader])).to.have.length(1);
  });

  it('disaggregated mode loads lmdb for its page log, from the build\'s bundle of it, and still none of the rest', async () => {
    const server = await startServer('disagg');
    await server.client.db('trace').collection<{ _id: number }>('items').insertOne({ _id: 1 });
    const addonsMapped = nativeAddonsMapped(server.pid)?.filter((file) => file.includes('lmdb'));
    const ran = await server.stop();
    expect(ranAmong(ran, ['/server-shim/lmdb.cjs'])).to.have.length(1);
    expect(ranAmong(ran, ['/node_modules/lmdb/', '/node_modules/msgpackr/'])).to.deep.equal([]);
    // msgpackr, and its native unpacker: the page log stores no msgpack (see the bundle's test).
    expect(ranAmong(ran, ['msgpackr'])).to.deep.equal([]);
    // lmdb's addon is the page log's build of it, loaded without lmdb's finder.
    expect(addonsMapped).to.deep.equal([join(lmdbPackageDirectory(projectRoot), ADDON_FILE)]);
    expect(ranAmong(ran, ['node-gyp-build', 'detect-libc'])).to.deep.equal([]);
    expect(ranAmong(ran, ['lmdb.cjs:node_modules/ordered-binary/'])).to.have.length.above(0);
    expect(ranAmong(ran, notNeededToServe)).to.deep.equal([]);
  });
});

describe('mongod-shim: the code cache of its bundle', () => {
  it('runs as a CommonJS program: main.js links to the launcher main.cjs', () => {
    // Node picks the loader by the name of the file a link names, and a CommonJS program starts
    // without Node's ES module loader.
    expect(readlinkSync(builtPaths.mongodShim)).to.equal('main.cjs');
  });

  it('reads bundles that are pure ASCII, as the launcher assumes when it reads them as latin1', () => {
    for (const file of [serverBundle, lmdbBundle]) {
      const bytes = readFileSync(file);
      expect(bytes.findIndex((byte) => byte >= 0x80), file).to.equal(-1);
    }
  });

  it('runs its bundles in strict mode, as the modules they are built from', () => {
    // A directive counts only as the first statement of the wrapper function the bundles open with.
    const wrapperStart = '(function (exports, require, module, __filename, __dirname) {';
    for (const file of [serverBundle, lmdbBundle]) {
      const source = readFileSync(file, 'latin1');
      const body = source.slice(source.indexOf(wrapperStart) + wrapperStart.length);
      expect(body.trimStart(), file).to.match(/^(['"])use strict\1;/);
    }
  });

  it('is written by a server that has run a while, for the bundle as built, and V8 accepts it', async () => {
    const server = await startServer('local', builtPaths.mongodShim, false);
    try {
      expect(await eventually(() => codeCacheAccepted(serverBundle, `${serverBundle}.cache`), 10_000)).to.equal(true);
    } finally {
      await server.stop();
    }
  });

  it('is written for each bundle the server ran as soon as it is ready, from the start-up alone', async () => {
    // Written after a busy while instead, a cache misses the start-up code whose bytecode V8
    // has dropped meanwhile, and every later start compiles it again.
    await withCopyOfServer(async (shimDirectory) => {
      const server = await startServer('disagg', join(shimDirectory, 'main.js'), false);
      try {
        const bundles = ['server.cjs', 'lmdb.cjs'].map((file) => join(shimDirectory, file));
        // Well before the launcher's fallback, 5 s after the start, for a process never ready.
        expect(await eventually(() => bundles.every((bundle) => codeCacheAccepted(bundle, `${bundle}.cache`)), 2_000)).to.equal(true);
      } finally {
        await server.stop();
      }
    });
  });

  it('loads a key provider from an ES module file when the bundle runs from the cache', async () => {
    // Code compiled from a cache cannot call import() on Node 20; the launcher lends its own.
    const warm = await startServer('local', builtPaths.mongodShim, false);
    await eventually(() => codeCacheAccepted(serverBundle, `${serverBundle}.cache`), 10_000);
    await warm.stop();
    expect(codeCacheAccepted(serverBundle, `${serverBundle}.cache`)).to.equal(true);
    const modules = await dir({ prefix: 'jstest-key-module-', unsafeCleanup: true });
    try {
      const example = join(projectRoot, 'dist', 'engine', 'key_provider', 'example.js');
      const moduleFile = join(modules.path, 'provider.mjs');
      writeFileSync(moduleFile, `export { createExampleKeyProvider as default } from ${JSON.stringify(pathToFileURL(example).href)};\n`);
      const server = await startServer('disagg', builtPaths.mongodShim, false, ['--keyProvider', moduleFile]);
      await server.client.db('trace').collection<{ _id: number }>('items').insertOne({ _id: 1 });
      expect(await server.client.db('trace').collection<{ _id: number }>('items').findOne({ _id: 1 })).to.deep.equal({ _id: 1 });
      await server.stop();
    } finally {
      await modules.cleanup();
    }
  });

  it('starts from a cache V8 refuses, or one made for another build, and writes a good one in its place', async () => {
    await withCopyOfServer(async (shimDirectory) => {
      const bundle = join(shimDirectory, 'server.cjs');
      const cacheFile = `${bundle}.cache`;
      const stats = statSync(bundle);
      const header = Buffer.alloc(16);
      header.writeDoubleLE(stats.size, 0);
      header.writeDoubleLE(stats.mtimeMs, 8);
      const damaged = [
        Buffer.concat([header, Buffer.alloc(4096, 0x5a)]),
        Buffer.concat([Buffer.alloc(16), readFileSync(`${serverBundle}.cache`).subarray(16)]),
        // Cut short, larger than the bundle (the launcher reads both into one buffer), and far
        // larger than any cache of it (which the launcher skips).
        header.subarray(0, 8),
        Buffer.concat([header, Buffer.alloc(2 * stats.size, 0x5a)]),
        Buffer.concat([header, Buffer.alloc(5 * stats.size, 0x5a)]),
      ];
      for (const cache of damaged) {
        writeFileSync(cacheFile, cache);
        const server = await startServer('local', join(shimDirectory, 'main.js'), false);
        try {
          await server.client.db('trace').collection<{ _id: number }>('items').insertOne({ _id: 1 });
          expect(await eventually(() => codeCacheAccepted(bundle, cacheFile), 10_000)).to.equal(true);
        } finally {
          await server.stop();
        }
      }
    });
  });

  it('writes a code cache for its bundle of lmdb that V8 accepts, and starts from a damaged one', async () => {
    await withCopyOfServer(async (shimDirectory) => {
      const bundle = join(shimDirectory, 'lmdb.cjs');
      const cacheFile = `${bundle}.cache`;
      for (const damage of [undefined, (cache: Buffer) => Buffer.concat([cache.subarray(0, 16), Buffer.alloc(4096, 0x5a)])]) {
        if (damage !== undefined) writeFileSync(cacheFile, damage(readFileSync(cacheFile)));
        const server = await startServer('disagg', join(shimDirectory, 'main.js'), damage !== undefined);
        try {
          await server.client.db('trace').collection<{ _id: number }>('items').insertOne({ _id: 1 });
          expect(await eventually(() => codeCacheAccepted(bundle, cacheFile), 10_000)).to.equal(true);
        } finally {
          const ran = await server.stop();
          if (damage !== undefined) expect(ranAmong(ran, lmdbScripts)).to.deep.equal([pathToFileURL(bundle).href]);
        }
      }
    });
  });

  it('runs a bundle of lmdb that reads string keys, compiling their reader on first use, and has no msgpack encoder', async () => {
    // Run as the launcher runs it: as the package's entry file.
    const entry = join(lmdbPackageDirectory(projectRoot), 'dist', 'index.cjs');
    const run = `
      const { readFileSync } = require('node:fs');
      const { createRequire } = require('node:module');
      const { dirname } = require('node:path');
      const { Script } = require('node:vm');
      const [bundle, entry, store] = process.argv.slice(1);
      const wrapper = new Script(readFileSync(bundle, 'latin1'), { filename: bundle }).runInThisContext();
      const module = { exports: {} };
      wrapper(module.exports, createRequire(entry), module, entry, dirname(entry));
      const lmdb = module.exports;
      const key = lmdb.keyValueToBuffer('a key with text, ü and 🙂');
      let refused = '';
      try { lmdb.open({ path: store }); } catch (error) { refused = error.message; }
      process.stdout.write(JSON.stringify({ read: lmdb.bufferToKeyValue(key), refused }));
    `;
    await withDir(async ({ path }) => {
      const { stdout } = await execa(process.execPath, ['-e', run, lmdbBundle, entry, join(path, 'store')]);
      const result = JSON.parse(stdout) as { read: string; refused: string };
      expect(result.read).to.equal('a key with text, ü and 🙂');
      expect(result.refused).to.include('no msgpack encoder');
    }, { unsafeCleanup: true });
  });

  it('loads lmdb from its package when the bundle was built from another lmdb, and serves', async () => {
    await withCopyOfServer(async (shimDirectory) => {
      const bundle = join(shimDirectory, 'lmdb.cjs');
      const source = readFileSync(bundle, 'latin1');
      const banner = /^\/\/ bundled lmdb (\S+) (\S+) (\d+)\n/.exec(source)!;
      expect(banner, 'the bundle names what it was built from').to.not.equal(null);
      const others = [
        `// bundled lmdb 0.0.1 ${banner[2]} ${banner[3]}\n`,
        `// bundled lmdb ${banner[1]} ${banner[2]} ${Number(banner[3]) + 1}\n`,
      ];
      for (const other of others) {
        writeFileSync(bundle, other + source.slice(banner[0].length), 'latin1');
        const server = await startServer('disagg', join(shimDirectory, 'main.js'));
        const items = server.client.db('trace').collection<{ _id: number }>('items');
        await items.insertOne({ _id: 1 });
        expect(await items.findOne({ _id: 1 }), other).to.deep.equal({ _id: 1 });
        const ran = await server.stop();
        expect(ranAmong(ran, ['/server-shim/lmdb.cjs']), other).to.deep.equal([]);
        expect(ranAmong(ran, ['/node_modules/lmdb/']), other).to.have.length(1);
      }
    });
  });
});
