#!/usr/bin/env node
/**
 * mongod-shim: a small mongod-like server over the disaggregated-storage engine.
 * `mongod-shim --dbpath DIR [--port N] [--replSet NAME] ...`; see `--help` and README.md.
 *
 * This file only starts the server bundle (`server.cjs`, built from `server_main.ts` by
 * `npm run build`) through V8's code cache, because compiling the server is most of what its
 * start-up costs beyond Node's own. The cache (`server.cjs.cache`) is written by the first
 * server without a usable one, once it reports it is ready; V8 refuses a cache made by another Node
 * version or other flags, and the header below refuses one made for another build of the
 * bundle (V8 itself only compares the source's length). The build's bundle of `lmdb`
 * (`lmdb.cjs`, see `bundle.ts`) runs the same way when the server opens a page log.
 * Nothing here may fail the start: a cache that cannot be read or written is only a slower
 * start, and a bundle of a package that is not the one installed is not run.
 *
 * A CommonJS module, unlike the rest of the project: Node starts a CommonJS program without
 * setting up its ES module loader, which is a measurable part of the start-up. The build writes
 * it as `main.cjs` and links `main.js`, the binary's name, to it (Node runs a program from the
 * file a link names, and picks the loader by that file's name).
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync, realpathSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import Module = require('node:module');
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';

/** A cache's header: its script's size and modification time, as two float64s. */
const HEADER_BYTES = 16;
/**
 * How long a process that never reports it is ready (a mode that runs and exits) runs before
 * its caches are written.
 */
const CACHE_AFTER_MS = 5000;
/**
 * The symbols under which the bundle finds this module's `import()` and its loader of bundled
 * packages (`IMPORT_MODULE_HOOK` and `BUNDLED_PACKAGE_HOOK` of `engine/module_files.ts`), and
 * under which it reports that the server is ready (`STARTED_HOOK` of
 * `lifecycle/background.ts`): ES modules, which this CommonJS module cannot load.
 */
const IMPORT_MODULE_HOOK = Symbol.for('disagg-lab.importModule');
const BUNDLED_PACKAGE_HOOK = Symbol.for('disagg-lab.bundledPackage');
const STARTED_HOOK = Symbol.for('disagg-lab.started');

/** Caches to write (for scripts that had none V8 accepted), once the server is ready. */
const pendingCaches: Array<() => void> = [];
let started = false;

function writePendingCaches(): void {
  for (const write of pendingCaches.splice(0)) write();
}

/** Reads `length` bytes of open file `fd` into the start of `buffer`; false when the file ends first. */
function readFully(fd: number, buffer: Buffer, length: number): boolean {
  for (let offset = 0; offset < length;) {
    const read = readSync(fd, buffer, offset, length - offset, offset);
    if (read === 0) return false;
    offset += read;
  }
  return true;
}

/** A script's source, the identity its cache must carry (its size and modification time), and its cache if that matches. */
interface ScriptFile {
  source: string;
  identity: Buffer;
  cachedData: Buffer | undefined;
}

/**
 * Reads the script `file` (ASCII, as the build writes it, so latin1 reads it exactly, and faster)
 * and its cache `file.cache` into one buffer, the cache after the source has been copied out:
 * memory a process touches for the first time is a large part of its start-up on a small
 * machine (a page fault per 4 KB), and the server's bundle and cache come to nearly 2 MB.
 */
function readScript(file: string): ScriptFile {
  const fd = openSync(file, 'r');
  let cacheFd: number | undefined;
  try {
    const stats = fstatSync(fd);
    const identity = Buffer.alloc(HEADER_BYTES);
    identity.writeDoubleLE(stats.size, 0);
    identity.writeDoubleLE(stats.mtimeMs, 8);
    let cacheSize = 0;
    try {
      cacheFd = openSync(`${file}.cache`, 'r');
      cacheSize = fstatSync(cacheFd).size;
    } catch {
      // No cache yet, or none readable: compiled afresh.
    }
    // A cache is a fraction of its script's size: one far larger is not one, and is not read.
    if (cacheSize > HEADER_BYTES + 4 * stats.size) cacheSize = 0;
    const buffer = Buffer.allocUnsafeSlow(Math.max(stats.size, cacheSize));
    if (!readFully(fd, buffer, stats.size)) throw new Error(`${file} changed while it was read`);
    const source = buffer.toString('latin1', 0, stats.size);
    let cachedData: Buffer | undefined;
    try {
      if (cacheFd !== undefined && cacheSize > HEADER_BYTES && readFully(cacheFd, buffer, cacheSize) && buffer.subarray(0, HEADER_BYTES).equals(identity)) {
        cachedData = buffer.subarray(HEADER_BYTES, cacheSize);
      }
    } catch {
      // An unreadable cache is no cache.
    }
    return { source, identity, cachedData };
  } finally {
    closeSync(fd);
    if (cacheFd !== undefined) closeSync(cacheFd);
  }
}

function writeCache(cacheFile: string, script: Script, identity: Buffer): void {
  const temporary = `${cacheFile}.${process.pid}`;
  try {
    writeFileSync(temporary, Buffer.concat([identity, script.createCachedData()]));
    renameSync(temporary, cacheFile);
  } catch {
    try {
      unlinkSync(temporary);
    } catch {
      // Nothing was written.
    }
  }
}

/** The start of Node's CommonJS wrapper (`Module.wrap`). */
const WRAPPER_START = '(function (exports, require, module, __filename, __dirname) {';

/**
 * `source` as a function expression of Node's CommonJS wrapper. The build writes its bundles
 * that way (after a first comment line, for a package bundle): wrapping a megabyte of source
 * at run time makes a string that V8 copies whole before it compiles or runs it.
 */
function wrapped(source: string): string {
  const start = source.startsWith('//') ? source.indexOf('\n') + 1 : 0;
  return source.startsWith(WRAPPER_START, start) ? source : Module.wrap(source);
}

/**
 * Runs the script read from `file` through its code cache as the module `module` named
 * `filename`; when there was none V8 accepted, one is written once the server is ready.
 */
function runCached(file: string, { source, identity, cachedData }: ScriptFile, module: { exports: unknown }, filename: string, require: NodeJS.Require): void {
  const script = new Script(wrapped(source), { filename: file, cachedData });
  if (cachedData === undefined || script.cachedDataRejected === true) {
    const write = (): void => writeCache(`${file}.cache`, script, identity);
    // A script first run after the start (a page log opened later) gets its cache a while after.
    if (started) setTimeout(write, CACHE_AFTER_MS).unref();
    else pendingCaches.push(write);
  }
  (script.runInThisContext() as (...args: unknown[]) => void).call(module.exports, module.exports, require, module, filename, dirname(filename));
}

/** The first line of a package bundle: `// bundled NAME VERSION ENTRY SIZE` (see `bundle.ts`). */
const BUNDLE_BANNER = /^\/\/ bundled (\S+) (\S+) (\S+) (\d+)\n/;

/**
 * The exports of package `name` run from the build's bundle of it (`NAME.cjs` here), or
 * undefined when there is none or the package installed is not the one it was built from (its
 * version and the size of its entry file differ): the caller then loads the package itself.
 * The bundle runs as the package's entry file would (`__filename`, `require` and the module
 * cache entry are the entry's), so that it finds its native addon in its package; a later
 * `require` of the package gets the same exports.
 */
function loadBundledPackage(name: string): unknown {
  try {
    const file = join(__dirname, `${name}.cjs`);
    const script = readScript(file);
    const banner = BUNDLE_BANNER.exec(script.source);
    if (banner === null || banner[1] !== name) return undefined;
    const packageDirectory = require.resolve.paths(name)
      ?.map((directory) => join(directory, name))
      .find((directory) => {
        try {
          return statSync(join(directory, 'package.json')).isFile();
        } catch {
          return false;
        }
      });
    if (packageDirectory === undefined) return undefined;
    const { version } = JSON.parse(readFileSync(join(packageDirectory, 'package.json'), 'utf8')) as { version?: unknown };
    const entry = realpathSync(join(packageDirectory, banner[3]!));
    if (version !== banner[2] || statSync(entry).size !== Number(banner[4])) return undefined;
    const loaded = require.cache[entry];
    if (loaded !== undefined) return loaded.exports;
    const module = new Module(entry);
    module.filename = entry;
    module.paths = (Module as unknown as { _nodeModulePaths(directory: string): string[] })._nodeModulePaths(dirname(entry));
    require.cache[entry] = module;
    try {
      runCached(file, script, module, entry, Module.createRequire(entry));
    } catch (error) {
      delete require.cache[entry];
      throw error;
    }
    module.loaded = true;
    return module.exports;
  } catch {
    // The package's own loader reports whatever this met.
    return undefined;
  }
}

// Code compiled from a cache cannot call `import()` on Node 20, so the bundle loads an ES module
// file named at run time (a key provider, a page-log store) through this module's own.
(globalThis as Record<symbol, unknown>)[IMPORT_MODULE_HOOK] = (specifier: string) => import(specifier);
(globalThis as Record<symbol, unknown>)[BUNDLED_PACKAGE_HOOK] = loadBundledPackage;
// Once the ready line is out, so that writing them does not delay it.
(globalThis as Record<symbol, unknown>)[STARTED_HOOK] = () => {
  started = true;
  setImmediate(writePendingCaches).unref();
};
setTimeout(writePendingCaches, CACHE_AFTER_MS).unref();
const bundle = join(__dirname, 'server.cjs');
runCached(bundle, readScript(bundle), { exports: {} }, bundle, Module.createRequire(bundle));
