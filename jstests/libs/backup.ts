import { Long, type Document, type MongoClient } from 'mongodb';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, open, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';

/** One file a `$backupCursor` lists. */
export interface BackupFile {
  filename: string;
  fileSize: number;
  required: boolean;
  /** The collection the file holds, or ''. */
  ns: string;
  uuid: string;
}

/** An open `$backupCursor`: its id, its metadata document and the files to copy. */
export interface BackupCursor {
  cursorId: Long;
  metadata: Document;
  files: BackupFile[];
}

/**
 * Opens a `$backupCursor` on `admin` and reads it to the end of its documents (the cursor
 * itself stays open, holding the backup, until `closeBackupCursor`).
 */
export async function openBackupCursor(client: MongoClient, options: Document = {}): Promise<BackupCursor> {
  const admin = client.db('admin');
  const reply = await admin.command({ aggregate: 1, pipeline: [{ $backupCursor: options }], cursor: {} });
  const cursor = reply.cursor as Document;
  const documents = [...(cursor.firstBatch as Document[])];
  const cursorId = cursor.id as Long;
  for (;;) {
    if (cursorId.isZero()) break;
    const more = await admin.command({ getMore: cursorId, collection: '$cmd.aggregate' });
    const batch = (more.cursor as Document).nextBatch as Document[];
    if (batch.length === 0) break;
    documents.push(...batch);
  }
  const [first, ...files] = documents;
  return { cursorId, metadata: (first as Document).metadata as Document, files: files as unknown as BackupFile[] };
}

/** Kills a backup cursor, which releases its backup. */
export async function closeBackupCursor(client: MongoClient, cursor: BackupCursor): Promise<Document> {
  return client.db('admin').command({ killCursors: '$cmd.aggregate', cursors: [cursor.cursorId] });
}

const pause = (milliseconds: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, milliseconds));

/**
 * Copies the files a backup cursor lists, `fileSize` bytes each, to the same paths under a new
 * dbpath (a temporary one unless `into` is given), one by one with `pauseMs` between files, as
 * a slow copy tool would while the server goes on. Returns the new dbpath.
 */
export async function copyBackupFiles(backup: BackupCursor, options: { into?: string; pauseMs?: number } = {}): Promise<string> {
  const target = options.into ?? join(await mkdtemp(join(tmpdir(), 'jstest-backup-')), 'db');
  const dbpath = backup.metadata.dbpath as string;
  for (const file of backup.files) {
    const destination = join(target, relative(dbpath, file.filename));
    await mkdir(dirname(destination), { recursive: true });
    const bytes = Buffer.alloc(file.fileSize);
    const handle = await open(file.filename, 'r');
    try {
      let done = 0;
      while (done < file.fileSize) {
        const { bytesRead } = await handle.read(bytes, done, file.fileSize - done, done);
        if (bytesRead === 0) throw new Error(`${file.filename} is shorter than the ${file.fileSize} bytes the backup cursor listed`);
        done += bytesRead;
      }
    } finally {
      await handle.close();
    }
    await writeFile(destination, bytes);
    if (options.pauseMs) await pause(options.pauseMs);
  }
  return target;
}

/** Every file under `directory` (recursively), by path relative to it. */
export async function filesUnder(directory: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (current: string): Promise<void> => {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) await walk(path);
      else found.push(relative(directory, path));
    }
  };
  await walk(directory);
  return found.sort();
}

/**
 * Copies a dbpath file by file with `pauseMs` between files (leaving out the running server's
 * `mongod.lock`), as a slow copy under `fsync: {lock: true}` would. Returns the copy's path.
 */
export async function copyDbpathSlowly(dbpath: string, pauseMs: number): Promise<string> {
  const target = join(await mkdtemp(join(tmpdir(), 'jstest-backup-')), 'db');
  for (const file of await filesUnder(dbpath)) {
    if (file === 'mongod.lock') continue;
    await mkdir(dirname(join(target, file)), { recursive: true });
    await writeFile(join(target, file), await readFile(join(dbpath, file)));
    await pause(pauseMs);
  }
  return target;
}

/**
 * A SHA-256 of every file under `dbpath` except those that are not data: the server's
 * `mongod.lock` and LMDB's reader table `lock.mdb`, which reads rewrite.
 */
export async function dataFileHashes(dbpath: string): Promise<Record<string, string>> {
  const hashes: Record<string, string> = {};
  for (const file of await filesUnder(dbpath)) {
    const name = file.split('/').pop();
    if (name === 'mongod.lock' || name === 'lock.mdb') continue;
    hashes[file] = createHash('sha256').update(await readFile(join(dbpath, file))).digest('hex');
  }
  return hashes;
}
