import { open as openLmdb } from 'lmdb';
import { join } from 'node:path';

/**
 * The page log's LMDB store, read and rewritten below the page-log API, as a damaged disk or a
 * buggy writer would leave it. Layout (engine/page_log/README.md, "Stored layout"): named
 * databases `pages` (key: table id u32, page id u64, LSN u64, big-endian; value: the image),
 * `log` and `checkpoints` (key: LSN u64 big-endian; values: the 48-byte log entry, the
 * completion record), `meta` (key: the ASCII bytes `format`; value: the 8-byte format record).
 */

/** The `meta` key of the format record. */
export const formatRecordKey = Buffer.from('format', 'ascii');

export type StoreDatabase = 'pages' | 'log' | 'checkpoints' | 'meta';

/** The `pages` key of one record. */
export function pageKey(tableId: number, pageId: number, lsn: number): Buffer {
  const key = Buffer.alloc(20);
  key.writeUInt32BE(tableId, 0);
  key.writeBigUInt64BE(BigInt(pageId), 4);
  key.writeBigUInt64BE(BigInt(lsn), 12);
  return key;
}

/** The `log` and `checkpoints` key of an LSN. */
export function lsnKey(lsn: number): Buffer {
  const key = Buffer.alloc(8);
  key.writeBigUInt64BE(BigInt(lsn), 0);
  return key;
}

function openStore(home: string) {
  return openLmdb<Buffer, Buffer>({ path: join(home, 'pagelog'), maxDbs: 4, keyEncoding: 'binary', encoding: 'binary', cache: false, compression: false });
}

/** The value stored under `key`, or undefined. The home must not be open elsewhere. */
export async function readStoreValue(home: string, database: StoreDatabase, key: Buffer): Promise<Buffer | undefined> {
  const root = openStore(home);
  try {
    const value = root.openDB<Buffer, Buffer>({ name: database, keyEncoding: 'binary', encoding: 'binary' }).get(key);
    return value === undefined ? undefined : Buffer.from(value);
  } finally {
    await root.close();
  }
}

/** Replaces the value stored under `key` (which must exist) with `edit(value)`. */
export async function rewriteStoreValue(home: string, database: StoreDatabase, key: Buffer, edit: (value: Buffer) => Buffer): Promise<void> {
  const root = openStore(home);
  try {
    const db = root.openDB<Buffer, Buffer>({ name: database, keyEncoding: 'binary', encoding: 'binary' });
    const value = db.get(key);
    if (value === undefined) throw new Error(`no ${database} record under key ${key.toString('hex')}`);
    await db.put(key, edit(Buffer.from(value)));
  } finally {
    await root.close();
  }
}
