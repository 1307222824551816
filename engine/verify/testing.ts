import { chmodSync, cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { open as openLmdb } from 'lmdb';
import type { Connection, ConnectionConfig } from '../api.js';
import { checksum, formatCompletionMetadata, parseCompletionMetadata } from '../format/index.js';
import { KEY_PROVIDER_TABLE_ID, openPageLog, TURTLE_PAGE_TABLE_ID } from '../page_log/index.js';

/**
 * Test support for verification and the read-path tool: fixture copies, byte flips, sample
 * homes, and damage done to a page log through its own API or by editing its store.
 */

/** The WiredTiger-written homes beside the project (CI runs from the repository root). */
export const FIXTURES = join(process.cwd(), '..', 'shared', 'fixtures', 'wiredtiger-12.0.0');
/** The fixture homes, by folder name. */
export const FIXTURE_HOMES = ['small', 'records', 'multilevel'] as const;
/** The table each fixture home holds. */
export const FIXTURE_TABLES: Record<(typeof FIXTURE_HOMES)[number], string> = { small: 'table:strings', records: 'table:records', multilevel: 'table:strings' };

/** Copies a read-only fixture home into `into` and makes the copy writable; returns its path. */
export function copyFixture(name: string, into: string): string {
  const home = join(into, name);
  cpSync(join(FIXTURES, name, 'home'), home, { recursive: true });
  chmodSync(home, 0o755);
  for (const file of readdirSync(home)) chmodSync(join(home, file), 0o644);
  return home;
}

/** XORs the byte at `offset` of `path` with `mask`. */
export function flipByte(path: string, offset: number, mask = 0x5a): void {
  const bytes = readFileSync(path);
  bytes[offset] = bytes[offset]! ^ mask;
  writeFileSync(path, bytes);
}

/**
 * Writes a sample home through the engine and leaves the connection open: `table:t` (S/S,
 * 2000 records, shared in disaggregated mode) and there also the local `table:local` (q/u),
 * with two checkpoints. The caller closes it.
 */
export async function writeSampleHome(open: (home: string, config?: ConnectionConfig) => Promise<Connection>, home: string, config: ConnectionConfig): Promise<Connection> {
  const connection = await open(home, config);
  connection.createTable('table:t', 'key_format=S,value_format=S');
  if (config.storage === 'disagg') connection.createTable('table:local', 'key_format=q,value_format=u', { shared: false });
  const cursor = connection.openSession().openCursor('table:t');
  for (let i = 0; i < 2000; i++) cursor.put(`key${String(i).padStart(6, '0')}`, `value-${i}-${'x'.repeat(i % 50)}`);
  await connection.checkpoint();
  for (let i = 0; i < 2000; i += 7) cursor.put(`key${String(i).padStart(6, '0')}`, `rewritten-${i}`);
  if (config.storage === 'disagg') {
    const local = connection.openSession().openCursor('table:local');
    for (let i = 0; i < 100; i++) local.put(BigInt(i), Buffer.from([i, i + 1]));
  }
  await connection.checkpoint();
  return connection;
}

/** What `appendCheckpoint` changes about the newest checkpoint it copies. */
export interface CheckpointDamage {
  /** Rewrites the turtle page text (default: unchanged). */
  turtle?: (text: string) => string;
  /** Puts this key-provider page first and points the turtle page at it. */
  keyProviderPage?: Buffer;
  /** Rewrites the completion metadata (default: names the new turtle page with its checksum). */
  metadata?: (metadata: string, turtleLsn: number) => string;
}

/**
 * Appends a checkpoint to the page log of `home` through the page-log API, copying the newest
 * one with `damage` applied; returns the LSNs it wrote. The home must be closed.
 */
export async function appendCheckpoint(home: string, damage: CheckpointDamage): Promise<{ completionLsn: number; turtleLsn: number; keyProviderLsn?: number }> {
  const log = await openPageLog(join(home, 'pagelog'));
  try {
    const newest = log.getCompleteCheckpoint();
    if (newest === undefined) throw new Error('the page log has no checkpoint to copy');
    const previous = parseCompletionMetadata(newest.metadata, newest.lsn);
    const previousTurtle = log.openHandle(TURTLE_PAGE_TABLE_ID).get(1, previous.metadataLsn)[0]!;
    log.beginCheckpoint();
    let text = previousTurtle.image.toString('utf8');
    let keyProviderLsn: number | undefined;
    if (damage.keyProviderPage !== undefined) {
      keyProviderLsn = log.openHandle(KEY_PROVIDER_TABLE_ID).put(1, { backlinkLsn: 0, baseLsn: 0, flags: 0 }, damage.keyProviderPage);
      text = text.replace(/key_provider=\(page\.1=\(page_id=1,lsn=\d+\)/, `key_provider=(page.1=(page_id=1,lsn=${keyProviderLsn})`);
    }
    if (damage.turtle) text = damage.turtle(text);
    const image = Buffer.from(text, 'utf8');
    const turtleLsn = log.openHandle(TURTLE_PAGE_TABLE_ID).put(1, { backlinkLsn: previousTurtle.lsn, baseLsn: 0, flags: 0 }, image);
    const metadata = formatCompletionMetadata({ ...previous, metadataLsn: turtleLsn, metadataChecksum: checksum(image) });
    const completionLsn = await log.completeCheckpoint({
      timestamp: newest.timestamp, oldestTimestamp: newest.oldestTimestamp,
      metadata: damage.metadata ? damage.metadata(metadata, turtleLsn) : metadata,
    });
    return { completionLsn, turtleLsn, ...(keyProviderLsn === undefined ? {} : { keyProviderLsn }) };
  } finally {
    await log.close();
  }
}

/**
 * Edits the value stored under the newest key of one of the page log's LMDB databases
 * (`checkpoints`, `log`, `pages`) directly, below the page-log API; returns that key.
 */
export async function editNewestStoreValue(home: string, database: 'checkpoints' | 'log', edit: (value: Buffer) => Buffer): Promise<Buffer> {
  const root = openLmdb<Buffer, Buffer>({ path: join(home, 'pagelog'), maxDbs: 4, keyEncoding: 'binary', encoding: 'binary', cache: false, compression: false });
  try {
    const db = root.openDB<Buffer, Buffer>({ name: database, keyEncoding: 'binary', encoding: 'binary' });
    for (const { key, value } of db.getRange({ reverse: true, limit: 1 })) {
      await db.put(key, edit(Buffer.from(value)));
      return Buffer.from(key);
    }
    throw new Error(`the ${database} database is empty`);
  } finally {
    await root.close();
  }
}

/**
 * Flips one byte inside every copy of `needle` in the store file `pagelog/data.mdb`: the
 * bytes of a stored page image, changed where LMDB keeps them. Returns how many it changed.
 */
export function flipInStore(home: string, needle: Buffer, at = 0): number {
  const path = join(home, 'pagelog', 'data.mdb');
  const bytes = readFileSync(path);
  let count = 0;
  for (let i = bytes.indexOf(needle); i >= 0; i = bytes.indexOf(needle, i + 1)) {
    bytes[i + at] = bytes[i + at]! ^ 0x20;
    count++;
  }
  writeFileSync(path, bytes);
  return count;
}
