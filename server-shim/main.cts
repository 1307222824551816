#!/usr/bin/env node
/**
 * mongod-shim: a small mongod-like server over the disaggregated-storage engine.
 * `mongod-shim --dbpath DIR [--port N] [--replSet NAME] ...`; see `--help` and README.md.
 *
 * This file only starts the server bundle (`server.cjs`, built from `server_main.ts` by
 * `npm run build`) through V8's code cache, because compiling the server is most of what its
 * start-up costs beyond Node's own. The cache (`server.cjs.cache`) is written by the first
 * server that runs for a while without a usable one; V8 refuses a cache made by another Node
 * version or other flags, and the header below refuses one made for another build of the
 * bundle (V8 itself only compares the source's length). Nothing here may fail the start: a
 * cache that cannot be read or written is only a slower start.
 *
 * A CommonJS module, unlike the rest of the project: Node starts a CommonJS program without
 * setting up its ES module loader, which is a measurable part of the start-up. The build writes
 * it as `main.cjs` and links `main.js`, the binary's name, to it (Node runs a program from the
 * file a link names, and picks the loader by that file's name).
 */
import { readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import Module = require('node:module');
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';

const bundle = join(__dirname, 'server.cjs');
const cacheFile = `${bundle}.cache`;
/** The cache's header: the bundle's size and modification time, as two float64s. */
const HEADER_BYTES = 16;
/** How long the server runs before the cache is written: long enough to have compiled its start-up. */
const CACHE_AFTER_MS = 1500;
/**
 * The symbol under which the bundle finds this module's `import()`: `IMPORT_MODULE_HOOK` of
 * `engine/module_files.ts`, an ES module, which this CommonJS module cannot load.
 */
const IMPORT_MODULE_HOOK = Symbol.for('disagg-lab.importModule');

function bundleIdentity(): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  const stats = statSync(bundle);
  header.writeDoubleLE(stats.size, 0);
  header.writeDoubleLE(stats.mtimeMs, 8);
  return header;
}

function readCache(identity: Buffer): Buffer | undefined {
  try {
    const cache = readFileSync(cacheFile);
    return cache.subarray(0, HEADER_BYTES).equals(identity) ? cache.subarray(HEADER_BYTES) : undefined;
  } catch {
    return undefined;
  }
}

function writeCache(script: Script, identity: Buffer): void {
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

const identity = bundleIdentity();
const cachedData = readCache(identity);
// Code compiled from a cache cannot call `import()` on Node 20, so the bundle loads an ES module
// file named at run time (a key provider, a page-log store) through this module's own.
(globalThis as Record<symbol, unknown>)[IMPORT_MODULE_HOOK] = (specifier: string) => import(specifier);
// esbuild writes the bundle as ASCII (its default charset), so latin1 reads it exactly, and faster.
const script = new Script(Module.wrap(readFileSync(bundle, 'latin1')), { filename: bundle, cachedData });
if (cachedData === undefined || script.cachedDataRejected === true) setTimeout(() => writeCache(script, identity), CACHE_AFTER_MS).unref();
const serverModule = { exports: {} };
(script.runInThisContext() as (...args: unknown[]) => void).call(serverModule.exports, serverModule.exports, Module.createRequire(bundle), serverModule, bundle, dirname(bundle));
