import { BSON, Timestamp, type Document, type MongoClient } from 'mongodb';
import { cp, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

/** A magic-restore input: the configuration, then the oplog entries, each as raw BSON. */
export function restoreStream(config: Document, entries: Document[] = []): Buffer {
  return Buffer.concat([config, ...entries].map((document) => Buffer.from(BSON.serialize(document))));
}

/**
 * Copies a dbpath for a backup, as a file-system copy taken under `fsync: {lock: true}` would
 * be, leaving out the running server's `mongod.lock`. Returns the copy's path.
 */
export async function copyDbpath(dbpath: string, into?: string): Promise<string> {
  const target = into ?? join(await mkdtemp(join(tmpdir(), 'jstest-backup-')), 'db');
  await cp(dbpath, target, { recursive: true, filter: (source) => basename(source) !== 'mongod.lock' });
  return target;
}

/** The oplog entries after `ts`, in order. */
export async function oplogAfter(client: MongoClient, ts: Timestamp): Promise<Document[]> {
  return client.db('local').collection('oplog.rs').find({ ts: { $gt: ts } }).sort({ ts: 1 }).toArray();
}

/** Every document of a collection, by `_id`. */
export async function allDocuments(client: MongoClient, db: string, collection: string): Promise<Document[]> {
  return client.db(db).collection(collection).find({}).sort({ _id: 1 }).toArray();
}
