import { CommandError, ErrorCodes } from '../errors/index.js';

/** A database and collection name pair. */
export interface Namespace {
  db: string;
  collection: string;
}

/** Longest namespace accepted: the engine's table names hold at most 200 characters. */
const maximumNamespaceLength = 200;

const invalid = (message: string): CommandError => new CommandError(ErrorCodes.InvalidNamespace, message);

/**
 * Checks a database name with mongod's rules (no `/\. "$*<>:|?`, no NUL, under 64 bytes) and
 * this server's: the name becomes part of a file name, so nothing that could leave the dbpath.
 */
export function checkDatabaseName(db: unknown): string {
  if (typeof db !== 'string' || db.length === 0) throw invalid('Invalid database name: database names cannot be empty');
  if (Buffer.byteLength(db) >= 64) throw invalid(`Invalid database name: '${db}' is longer than 63 bytes`);
  if (/[/\\. "$*<>:|?\0]/.test(db)) throw invalid(`Invalid database name: '${db}'`);
  if (db.startsWith('WiredTiger')) throw invalid(`Invalid database name: '${db}' is reserved for the storage engine`);
  return db;
}

/**
 * Checks a collection name: not empty, no `$` (mongod's rule), no NUL, and none of `..`, `/` or
 * `\`, which could make the table's file name escape the dbpath.
 */
export function checkCollectionName(db: string, collection: unknown): string {
  if (typeof collection !== 'string' || collection.length === 0) throw invalid(`Invalid namespace specified '${db}.'`);
  const ns = `${db}.${collection}`;
  if (collection.includes('\0')) throw invalid(`Invalid collection name: collection names cannot contain null characters: ${JSON.stringify(ns)}`);
  if (collection.includes('$')) throw invalid(`Invalid collection name: ${ns}`);
  if (collection.startsWith('.') || collection.includes('..') || /[/\\]/.test(collection)) {
    throw invalid(`Invalid namespace specified '${ns}': collection names cannot contain '..', '/' or '\\' or start with '.'`);
  }
  if (ns.length > maximumNamespaceLength) throw invalid(`Fully qualified namespace is too long. Namespace: ${ns} Max: ${maximumNamespaceLength}`);
  return collection;
}

/** Checks both parts and returns the namespace. */
export function checkNamespace(db: unknown, collection: unknown): Namespace {
  const checkedDb = checkDatabaseName(db);
  return { db: checkedDb, collection: checkCollectionName(checkedDb, collection) };
}

/** Splits `db.collection` (the collection part may contain dots). */
export function parseNamespace(ns: string): Namespace {
  const dot = ns.indexOf('.');
  if (dot <= 0) throw invalid(`Invalid namespace specified '${ns}'`);
  return checkNamespace(ns.slice(0, dot), ns.slice(dot + 1));
}

/** `db.collection`. */
export function namespaceString(namespace: Namespace): string {
  return `${namespace.db}.${namespace.collection}`;
}

/** The engine table holding a collection. */
export function tableUriFor(namespace: Namespace): string {
  return `table:${namespace.db}.${namespace.collection}`;
}
