/**
 * Where a page log lives, as a user writes it (`--pageLog`, `pageLogPath`, `wt-readpath
 * --page-log`), and the store that location names:
 *
 * - `PATH` or `lmdb:PATH`: the embedded LMDB store in that directory (the default);
 * - `postgres://user@host:port/db` (or `postgresql://`): the PostgreSQL store in that database;
 * - `FILE.mjs` or `FILE.js`, optionally `#ARGUMENT`: a store module, an ES module whose
 *   `openPageLogStore(argument, options)` returns a `PageLogStore` (see README.md).
 *
 * Other URL schemes are refused with `STORE_INVALID`. A URL's password never appears in a
 * message: `displayLocation` masks it.
 */
import { join, resolve } from 'node:path';
import { ErrorCode, PageLogError } from '../errors.js';
import { LMDB_DATA_FILE } from './lmdb/lmdb_files.js';
import { maskedUrl } from './postgres/masked_url.js';

export type StoreLocation =
  | { kind: 'lmdb'; path: string }
  | { kind: 'postgres'; url: string }
  | { kind: 'module'; file: string; argument: string };

const MODULE_FILE = /\.(m?js|cjs)$/;
/** `scheme://` at the start of a location: a URL. */
const URL_SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//;

/** Parses a page-log location; throws `STORE_INVALID` for one that names no known store. */
export function parseStoreLocation(location: string): StoreLocation {
  if (typeof location !== 'string' || location === '') {
    throw new PageLogError('the page log location must be a non-empty string (a directory, lmdb:PATH, postgres://..., or a store module)', {}, ErrorCode.InvalidArgument);
  }
  if (location.startsWith('lmdb:')) {
    const path = location.slice('lmdb:'.length);
    if (path === '') throw new PageLogError('lmdb: needs a directory, as in lmdb:/var/lib/pagelog', { uri: location }, ErrorCode.StoreInvalid);
    return { kind: 'lmdb', path: resolve(path) };
  }
  const scheme = URL_SCHEME.exec(location)?.[1]?.toLowerCase();
  if (scheme === 'postgres' || scheme === 'postgresql') {
    try {
      const url = new URL(location);
      if (url.hostname === '' && !url.searchParams.has('host')) throw new Error('no host');
    } catch {
      throw new PageLogError(`the PostgreSQL page log URL ${maskedUrl(location)} does not parse: write postgres://user:password@host:port/database`, { uri: maskedUrl(location) }, ErrorCode.StoreInvalid);
    }
    return { kind: 'postgres', url: location };
  }
  if (scheme !== undefined) {
    throw new PageLogError(`no page log store takes ${scheme}:// URLs (${maskedUrl(location)}): use a directory, lmdb:PATH, postgres://... or a store module`, {
      uri: maskedUrl(location),
    }, ErrorCode.StoreInvalid);
  }
  const hash = location.indexOf('#');
  const file = hash < 0 ? location : location.slice(0, hash);
  if (MODULE_FILE.test(file)) return { kind: 'module', file: resolve(file), argument: hash < 0 ? '' : location.slice(hash + 1) };
  return { kind: 'lmdb', path: resolve(location) };
}

/** The location as messages and status output show it: a URL's secrets masked. */
export function displayLocation(location: string): string {
  return URL_SCHEME.test(location) ? maskedUrl(location) : location;
}

/**
 * The location as the engine should get it from a command line: a directory resolved against
 * the working directory, anything else (a URL, `lmdb:PATH`, a module) as written.
 */
export function resolveLocation(location: string): string {
  return URL_SCHEME.test(location) || location.startsWith('lmdb:') ? location : resolve(location);
}

/**
 * The data file of an embedded store at `location` (the one file whose size says whether it
 * holds anything), or undefined for a store elsewhere.
 */
export function embeddedStoreDataFile(location: string): string | undefined {
  const parsed = parseStoreLocation(location);
  return parsed.kind === 'lmdb' ? join(parsed.path, LMDB_DATA_FILE) : undefined;
}
