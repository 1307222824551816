/**
 * Opening a page log: the location names the store (`location.ts`), the store is opened, and
 * the core runs every rule of the PALI over it. Loaded on the first `openPageLog` call, so
 * that importing the page log module loads no store (reading a local home never needs one).
 */
import { statSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { ErrorCode, PageLogError } from '../errors.js';
import { importModuleFile } from '../module_files.js';
import { coreSettings, openPageLogOnStore } from './core.js';
import type { PageLog, PageLogOptions } from './interface.js';
import { parseStoreLocation, type StoreLocation } from './location.js';
import type { PageLogStore, StoreOpenOptions, StorePresence } from './store.js';

/** What a store module exports. */
export interface PageLogStoreModule {
  openPageLogStore(argument: string, options: StoreOpenOptions): Promise<PageLogStore>;
  probePageLogStore?(argument: string): StorePresence;
}

/** The methods every store has; `storageSize` and `snapshot` are optional. */
const STORE_METHODS = [
  'readFormat', 'createFormat', 'logEntry', 'pageRecords', 'image', 'pageEntries', 'logEntries', 'completion', 'completions', 'newestCompletion',
  'lastLsn', 'reserveLsns', 'refresh', 'newestTerm', 'append', 'complete', 'remove', 'sync', 'close', 'now', 'readNodeRecords', 'updateNodeRecords',
] as const;

export async function openPageLog(location: string, options: PageLogOptions = {}): Promise<PageLog> {
  const settings = coreSettings(options);
  const parsed = parseStoreLocation(location);
  const why = settings.readOnly ? 'it was opened read-only' : settings.role === 'follower' ? 'a follower reads a log its leader made' : 'create is false';
  const store = await openStore(parsed, { readOnly: settings.readOnly, create: settings.create, noSync: settings.noSync }, why);
  return openPageLogOnStore(store, settings);
}

async function openStore(location: StoreLocation, options: StoreOpenOptions, why: string): Promise<PageLogStore> {
  switch (location.kind) {
    case 'lmdb': {
      const { openLmdbStore } = await import('./lmdb/store.js');
      return openLmdbStore(location.path, { ...options, why });
    }
    case 'postgres': {
      const { openPostgresStore } = await import('./postgres/store.js');
      return openPostgresStore(location.url, options);
    }
    case 'module': {
      const module = await loadStoreModule(location.file);
      const store = await module.openPageLogStore(location.argument, options);
      checkStoreShape(store, location.file);
      return store;
    }
  }
}

/** Whether the location holds a page log, without opening it. */
export async function probePageLog(location: string): Promise<StorePresence> {
  const parsed = parseStoreLocation(location);
  switch (parsed.kind) {
    case 'lmdb': {
      const { probeLmdbStore } = await import('./lmdb/store.js');
      return probeLmdbStore(parsed.path);
    }
    case 'postgres':
      // A database server is asked by opening it: its errors say what is wrong.
      return { state: 'present' };
    case 'module': {
      const module = await loadStoreModule(parsed.file);
      return module.probePageLogStore?.(parsed.argument) ?? { state: 'present' };
    }
  }
}

function invalidModule(message: string, file: string, cause?: unknown): PageLogError {
  return new PageLogError(message, { file, ...(cause === undefined ? {} : { cause }) }, ErrorCode.StoreInvalid);
}

async function loadStoreModule(file: string): Promise<PageLogStoreModule> {
  try {
    if (!statSync(file).isFile()) throw invalidModule(`the page log store module ${file} is not a file`, file);
  } catch (error) {
    if (error instanceof PageLogError) throw error;
    throw invalidModule(`the page log store module ${file} does not exist`, file, error);
  }
  let module: Partial<PageLogStoreModule>;
  try {
    module = await importModuleFile(pathToFileURL(file).href) as Partial<PageLogStoreModule>;
  } catch (error) {
    throw invalidModule(`the page log store module ${file} does not load: ${(error as Error).message}`, file, error);
  }
  if (typeof module.openPageLogStore !== 'function') {
    throw invalidModule(`the page log store module ${file} does not export openPageLogStore(argument, options)`, file);
  }
  return module as PageLogStoreModule;
}

function checkStoreShape(store: unknown, file: string): void {
  if (typeof store !== 'object' || store === null) throw invalidModule(`the page log store module ${file} returned ${store === null ? 'null' : typeof store}, not a store`, file);
  const candidate = store as Record<string, unknown>;
  const missing = STORE_METHODS.filter((name) => typeof candidate[name] !== 'function');
  if (missing.length > 0) throw invalidModule(`the page log store module ${file} returned a store without ${missing.map((name) => `${name}()`).join(', ')}`, file);
  if (typeof candidate.location !== 'string' || typeof candidate.kind !== 'string') {
    throw invalidModule(`the page log store module ${file} returned a store without string "location" and "kind"`, file);
  }
}
