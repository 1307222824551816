/**
 * The embedded store of the page log: one LMDB environment in a directory, with four named
 * databases (see ../README.md, "Stored layout"). One host; any number of processes on it.
 *
 * Writes are lmdb-js asynchronous writes, which a background thread commits in order (the
 * writes of one event-loop turn in one transaction). Each batch is conditional on the absence
 * of the next term's record (`ifNoExists`, checked inside the transaction): the fence.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database, RootDatabase } from 'lmdb';
import { ErrorCode, PageLogError } from '../../errors.js';
import { loadBundledPackage } from '../../module_files.js';
import { leasedCheckpoints, type NodeRecords, type NodeRecordUpdate, type TermRecord } from '../nodes.js';
import {
  FORMAT_KEY,
  RecordKind,
  decodeLeaseRecord,
  decodeLogEntry,
  decodeLsnKey,
  decodePageKey,
  decodeTermRecord,
  encodeLeaseKey,
  encodeLeaseRecord,
  encodeLogEntry,
  encodeLsnKey,
  encodePageKey,
  encodeTableEndKey,
  encodeTableStartKey,
  encodeTermKey,
  encodeTermRecord,
  LEASE_KEY_PREFIX,
  prefixEndKey,
  TERM_KEY_PREFIX,
  type LeaseRecordFields,
  type LogEntryFields,
} from '../record_format.js';
import type { FencedOutcome, PageLogStore, PageRecordKey, StoredPageRecord, StoredRecordKey, StoreOpenOptions, StorePresence, StoreRecord } from '../store.js';
import type { PageLogStorageSize } from '../interface.js';
import { checkFixedAddon, checkLoadedAddon, lmdbPackageDirectory } from './addon/installed_addon.js';
import { checkLmdbDataFileSettled, checkLmdbLockFile, LMDB_DATA_FILE } from './lmdb_files.js';

type Store = Database<Buffer, Buffer>;

/** Where the lmdb package is looked for from (in the server's bundle, the bundle's directory). */
const MODULE_DIRECTORY = dirname(fileURLToPath(import.meta.url));

/** The named databases of a page log; LMDB lists them as keys of its main database. */
const NAMED_DATABASES = ['pages', 'log', 'checkpoints', 'meta'] as const;
type NamedDatabase = (typeof NAMED_DATABASES)[number];

/** lmdb-js may hand back a plain Uint8Array; callers are promised Buffers. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

function isEmptyFile(path: string): boolean {
  try {
    const stat = statSync(path);
    return stat.isFile() && stat.size === 0;
  } catch {
    return false;
  }
}

/**
 * Whether the directory holds an LMDB page log: its data file present (and whether LMDB ever
 * initialised it), absent, or unreadable (a file where the directory should be, no permission).
 */
export function probeLmdbStore(path: string): StorePresence {
  const file = join(path, LMDB_DATA_FILE);
  try {
    const stat = statSync(file);
    if (stat.isFile() && stat.size === 0) return { state: 'empty', file };
    return { state: 'present' };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { state: 'absent', file };
    return { state: 'unreadable', file, reason: (error as Error).message, code: code === 'ENOTDIR' ? 'CORRUPTION' : 'IO' };
  }
}

/**
 * Opens (and, with `create`, creates) the LMDB store in directory `path`.
 *
 * Before LMDB maps an existing store, its files are checked (`checkLmdbDataFileSettled`), so
 * that a truncated or garbage file is an error rather than a fault in the mapping.
 *
 * Errors: `MISSING_FILE` naming the path when there is no store there and `create` is false;
 * `FORMAT_TRUNCATED` naming `data.mdb` with the expected and actual sizes when it lacks a page
 * LMDB may read (an empty one is a store LMDB never initialised: created anew when `create`
 * allows); `CORRUPTION` when a meta page or the free DB is damaged or a file is not a regular
 * file; `IO` when LMDB cannot open it; `CORRUPTION` when the directory holds an LMDB
 * environment that is not a page log.
 */
export async function openLmdbStore(path: string, options: StoreOpenOptions & { why?: string }): Promise<PageLogStore> {
  const dataFile = join(path, LMDB_DATA_FILE);
  // An empty data file is one LMDB created but was stopped (a kill) before it wrote its meta
  // pages: it holds nothing. A caller that may create (nothing depends on this store yet) gets
  // the store LMDB then initialises; any other caller, an error.
  const existed = existsSync(dataFile) && !(options.create && isEmptyFile(dataFile));
  checkLmdbLockFile(path);
  if (existed) {
    // LMDB is opened without overlapping sync (below): the meta it opens is the newest one.
    checkLmdbDataFileSettled(path, { overlappingSync: false });
  } else {
    if (!options.create) {
      throw new PageLogError(`no page log at ${path} (${options.why ?? 'create is false'})`, { file: path }, ErrorCode.MissingFile);
    }
    try {
      mkdirSync(path, { recursive: true });
    } catch (error) {
      throw new PageLogError(`cannot create the page log directory ${path}`, { file: path, cause: error }, ErrorCode.Io);
    }
  }
  // Before lmdb loads its addon: without the page log's build of it, processes sharing the
  // store can lose commits (addon/README.md).
  const packageDirectory = lmdbPackageDirectory(MODULE_DIRECTORY);
  checkFixedAddon(packageDirectory);
  // Imported here, not at the top: a home in local mode never opens a page log, and loading
  // lmdb (its native addon and encoders) is a large part of a process's start-up. The server
  // runs it from the build's bundle of it when that matches the package installed.
  const bundled = loadBundledPackage('lmdb') as typeof import('lmdb') | undefined;
  const { open } = bundled ?? await import('lmdb');
  // The server's bundle of lmdb loads the build by its path; lmdb's own finder can be told to
  // pass over it.
  if (bundled === undefined) checkLoadedAddon(packageDirectory);
  let root: RootDatabase<Buffer, Buffer>;
  try {
    root = open<Buffer, Buffer>({
      path,
      maxDbs: NAMED_DATABASES.length,
      keyEncoding: 'binary',
      encoding: 'binary',
      readOnly: options.readOnly,
      noSync: options.noSync,
      // Not lmdb-js's overlapping sync, its default here: each commit is synced as it commits
      // (../README.md, "Key parameters"), and no open uses a previous snapshot, the one case in
      // which LMDB still sets the shared transaction id at open (addon/source_fixes.ts).
      overlappingSync: false,
      cache: false,
      compression: false,
    });
  } catch (error) {
    throw new PageLogError(`cannot open the page log at ${path}`, { file: path, cause: error }, ErrorCode.Io);
  }
  try {
    // Checked before the named databases are opened, which would create them in a foreign store.
    const damage = new DamageReport(dataFile);
    checkNoForeignData(path, damage.reportingReads(root));
    return new LmdbStore(path, root, options.readOnly === true, damage);
  } catch (error) {
    await root.close();
    throw error;
  }
}

/**
 * LMDB's reports of a damaged file, as the reads of one environment meet them. The page log's
 * build of LMDB answers a damaged page with MDB_CORRUPTED, or MDB_PAGE_NOTFOUND for a page past
 * the snapshot's last one (see `addon/README.md`), and fails the transaction, whose later reads
 * then say MDB_BAD_TXN. A read transaction fails for nothing else here, so a read's MDB_BAD_TXN
 * is damage too; in a write batch it may follow a failed write instead, and is left as it is.
 */
class DamageReport {
  /** Write transactions running now (see `whileWriting`). */
  private writing = 0;

  constructor(private readonly dataFile: string) {}

  /** Runs `work`, the body of a write transaction, as one whose MDB_BAD_TXN is not damage. */
  whileWriting<T>(work: () => T): T {
    this.writing += 1;
    try {
      return work();
    } finally {
      this.writing -= 1;
    }
  }

  /** `error`, or the page-log corruption it reports. */
  asDamage(error: unknown): unknown {
    const code = error instanceof Error ? /^MDB_(CORRUPTED|PAGE_NOTFOUND|BAD_TXN)\b/.exec(error.message)?.[1] : undefined;
    if (code === undefined || (code === 'BAD_TXN' && this.writing > 0)) return error;
    return new PageLogError(`the page log's LMDB file is damaged: ${(error as Error).message}`, { file: this.dataFile, cause: error }, ErrorCode.Corruption);
  }

  /**
   * `database` with its point reads and range reads reporting damage; changed in place.
   * `getKeys` goes through `getRange`. A range stays lmdb's own iterable (lmdb's counts call its
   * `iterate`): only its iterators are wrapped, from their cursor's opening on.
   */
  reportingReads<D extends Store | RootDatabase<Buffer, Buffer>>(database: D): D {
    const reads = database as unknown as Record<'getBinary' | 'getRange', (...args: unknown[]) => unknown>;
    const { getBinary, getRange } = reads;
    const reporting = <T>(read: () => T): T => {
      try {
        return read();
      } catch (error) {
        throw this.asDamage(error);
      }
    };
    // A point read is on the page log's hot path: no closure per call.
    reads.getBinary = (...args) => {
      try {
        return getBinary.apply(database, args);
      } catch (error) {
        throw this.asDamage(error);
      }
    };
    reads.getRange = (...args) => {
      const range = reporting(() => getRange.apply(database, args) as Iterable<unknown>);
      const iterate = range[Symbol.iterator].bind(range);
      range[Symbol.iterator] = () => {
        const iterator = reporting(iterate);
        const reportingIterator: IterableIterator<unknown> = {
          next: (...value: [] | [unknown]) => reporting(() => iterator.next(...value)),
          return: (value?: unknown) => iterator.return?.(value) ?? { done: true, value },
          [Symbol.iterator]: () => reportingIterator,
        };
        return reportingIterator;
      };
      return range;
    };
    return database;
  }
}

/** Refuses an LMDB environment whose main database holds anything but the page log's databases. */
function checkNoForeignData(path: string, root: RootDatabase<Buffer, Buffer>): void {
  for (const key of root.getKeys({})) {
    // lmdb-js stores a database name with a trailing NUL.
    const name = Buffer.from(key).toString('latin1').replace(/\0$/, '');
    if (!(NAMED_DATABASES as readonly string[]).includes(name)) {
      throw new PageLogError(`${path} holds an LMDB environment that is not a page log`, { file: path }, ErrorCode.Corruption);
    }
  }
}

function corruption(message: string, location: { tableId?: number; pageId?: number; lsn?: number }): PageLogError {
  return new PageLogError(message, location, ErrorCode.Corruption);
}

/**
 * `PageLogStore` on LMDB. Node records (terms and leases) are keys of the `meta` database,
 * updated in LMDB write transactions, which LMDB serializes across every process that has the
 * store open.
 */
class LmdbStore implements PageLogStore {
  readonly kind = 'lmdb';
  /** (table id, page id, LSN) -> image bytes (empty for a discard). */
  private readonly pages: Store;
  /** LSN -> 48-byte log entry for every record. */
  private readonly log: Store;
  /** LSN -> completion record body. */
  private readonly checkpoints: Store;
  /** Fixed keys: the format record; `term:N` and `lease:NODE` node records. */
  private readonly meta: Store;
  /** A handler for lmdb-js's own end-of-batch write is queued for this event turn. */
  private commitHookQueued = false;

  constructor(
    readonly location: string,
    private readonly root: RootDatabase<Buffer, Buffer>,
    readOnly: boolean,
    private readonly damage: DamageReport,
  ) {
    const options = { keyEncoding: 'binary', encoding: 'binary' } as const;
    const openAll = (): Record<NamedDatabase, Store> => {
      const opened = {} as Record<NamedDatabase, Store>;
      for (const name of NAMED_DATABASES) opened[name] = root.openDB<Buffer, Buffer>({ name, ...options });
      return opened;
    };
    // A writer opens (and, in a new store, creates) them in one write transaction: on its own,
    // each is a transaction and a synced commit.
    let opened: Record<NamedDatabase, Store>;
    try {
      opened = readOnly ? openAll() : root.transactionSync(() => damage.whileWriting(openAll));
    } catch (error) {
      throw damage.asDamage(error);
    }
    this.pages = damage.reportingReads(opened.pages);
    this.log = damage.reportingReads(opened.log);
    this.checkpoints = damage.reportingReads(opened.checkpoints);
    this.meta = damage.reportingReads(opened.meta);
  }

  storageSize(): PageLogStorageSize {
    const stats = this.root.getStats() as { mapSize: number; lastPageNumber: number; pageSize: number };
    // A status figure: a data file deleted or replaced under the server is reported elsewhere
    // (storage health), not by failing the question.
    const fileBytes = statSync(join(this.location, LMDB_DATA_FILE), { throwIfNoEntry: false })?.size;
    return { fileBytes, mapSizeBytes: stats.mapSize, usedBytes: (stats.lastPageNumber + 1) * stats.pageSize };
  }

  // ---- Format ----

  readFormat(): Buffer | undefined {
    const value = this.meta.getBinary(FORMAT_KEY);
    return value === undefined ? undefined : asBuffer(value);
  }

  async createFormat(record: Buffer): Promise<Buffer> {
    await this.meta.ifNoExists(FORMAT_KEY, () => void this.meta.put(FORMAT_KEY, record));
    this.queueCommitHook();
    await this.root.flushed;
    return this.readFormat()!;
  }

  // ---- Reads ----

  logEntry(lsn: number): LogEntryFields | undefined {
    const value = this.log.getBinary(encodeLsnKey(lsn));
    return value === undefined ? undefined : decodeLogEntry(lsn, asBuffer(value));
  }

  /** The log entry of a page record found by its key; a key without one is damage. */
  private entryOfPageKey(key: PageRecordKey): LogEntryFields {
    const entry = this.logEntry(key.lsn);
    if (entry === undefined) throw corruption('a page record has no log entry', key);
    return entry;
  }

  *pageRecords(tableId: number, pageId: number, atLsn: number): Iterable<StoredPageRecord> {
    const range = { start: encodePageKey(tableId, pageId, atLsn), end: encodePageKey(tableId, pageId, 0), reverse: true };
    for (const key of this.pages.getKeys(range)) {
      const { lsn } = decodePageKey(key);
      const entry = this.entryOfPageKey({ tableId, pageId, lsn });
      yield { entry, image: () => this.image({ tableId, pageId, lsn }) };
    }
  }

  image(key: PageRecordKey): Buffer | undefined {
    const value = this.pages.getBinary(encodePageKey(key.tableId, key.pageId, key.lsn));
    return value === undefined ? undefined : asBuffer(value);
  }

  *pageEntries(tableId?: number): Iterable<LogEntryFields> {
    const range = tableId === undefined ? {} : { start: encodeTableStartKey(tableId), end: encodeTableEndKey(tableId) };
    for (const key of this.pages.getKeys(range)) yield this.entryOfPageKey(decodePageKey(key));
  }

  *logEntries(from: number, to: number): Iterable<LogEntryFields> {
    for (const { key, value } of this.log.getRange({ start: encodeLsnKey(from), end: encodeLsnKey(to + 1) })) {
      yield decodeLogEntry(decodeLsnKey(key), asBuffer(value));
    }
  }

  completion(lsn: number): Buffer | undefined {
    const value = this.checkpoints.getBinary(encodeLsnKey(lsn));
    return value === undefined ? undefined : asBuffer(value);
  }

  *completions(after?: number): Iterable<{ lsn: number; body: Buffer }> {
    const range = after === undefined ? {} : { start: encodeLsnKey(after + 1) };
    for (const { key, value } of this.checkpoints.getRange(range)) yield { lsn: decodeLsnKey(key), body: asBuffer(value) };
  }

  newestCompletion(): { lsn: number; body: Buffer } | undefined {
    for (const { key, value } of this.checkpoints.getRange({ reverse: true, limit: 1 })) return { lsn: decodeLsnKey(key), body: asBuffer(value) };
    return undefined;
  }

  lastLsn(): number {
    for (const key of this.log.getKeys({ reverse: true, limit: 1 })) return decodeLsnKey(key);
    return 0;
  }

  reserveLsns(above: number): { first: number; last: number } {
    // One writer at a time (LMDB's lock, and the fence): LSNs count on from the largest stored.
    return { first: Math.max(above, this.lastLsn()) + 1, last: Number.MAX_SAFE_INTEGER };
  }

  refresh(): void {
    // LMDB reuses one read snapshot until it is reset; a commit in another process (or another
    // environment of this one) does not reset it.
    this.root.resetReadTxn();
  }

  // ---- Node records ----

  now(): number {
    return Date.now();
  }

  readNodeRecords(): NodeRecords {
    const terms: TermRecord[] = [];
    for (const { value } of this.meta.getRange({ start: TERM_KEY_PREFIX, end: prefixEndKey(TERM_KEY_PREFIX) })) terms.push(decodeTermRecord(asBuffer(value)));
    return { terms, leases: this.leaseRecords() };
  }

  async updateNodeRecords<T>(update: (records: NodeRecordUpdate) => T): Promise<T> {
    // The callback runs inside LMDB's write transaction, which holds LMDB's writer lock: its
    // reads see every process's commits, and no other writer runs until it commits.
    const result = await this.transact(() => update(this.recordUpdate()));
    await this.synced();
    return result;
  }

  private recordUpdate(): NodeRecordUpdate {
    return {
      newestTerm: () => this.newestTerm(),
      lease: (nodeId) => {
        const value = this.meta.getBinary(encodeLeaseKey(nodeId));
        return value === undefined ? undefined : decodeLeaseRecord(asBuffer(value));
      },
      leases: () => this.leaseRecords(),
      putTerm: (record) => void this.meta.put(encodeTermKey(record.term), encodeTermRecord(record)),
      putLease: (record) => void this.meta.put(encodeLeaseKey(record.nodeId), encodeLeaseRecord(record)),
      removeLease: (nodeId) => void this.meta.remove(encodeLeaseKey(nodeId)),
      newestCompletionLsn: () => this.newestCompletion()?.lsn ?? 0,
      lastLsn: () => this.lastLsn(),
    };
  }

  newestTerm(): TermRecord | undefined {
    for (const { value } of this.meta.getRange({ start: prefixEndKey(TERM_KEY_PREFIX), end: TERM_KEY_PREFIX, reverse: true, limit: 1 })) {
      return decodeTermRecord(asBuffer(value));
    }
    return undefined;
  }

  private leaseRecords(): LeaseRecordFields[] {
    const leases = [];
    for (const { value } of this.meta.getRange({ start: LEASE_KEY_PREFIX, end: prefixEndKey(LEASE_KEY_PREFIX) })) leases.push(decodeLeaseRecord(asBuffer(value)));
    return leases;
  }

  // ---- Writes ----

  append(records: readonly StoreRecord[], term: number): Promise<FencedOutcome> {
    // The entry goes first: removals find records through the log, so an image must never be
    // stored without its entry. Both land together, and only while no newer term exists.
    const written = this.meta.ifNoExists(encodeTermKey(term + 1), () => {
      for (const { entry, image } of records) {
        this.log.put(encodeLsnKey(entry.lsn), encodeLogEntry(entry));
        this.pages.put(encodePageKey(entry.tableId, entry.pageId, entry.lsn), image);
      }
    });
    return this.outcome(written);
  }

  async complete(entry: LogEntryFields, body: Buffer, term: number, vouchesThrough: number): Promise<FencedOutcome> {
    // Every batch before this call is committed (the core waited for it), and this process is
    // the one writer: the newest record the checkpoint follows must read back.
    if (vouchesThrough > 0 && this.logEntry(vouchesThrough) === undefined) {
      throw new PageLogError(`the record at LSN ${vouchesThrough}, which the checkpoint follows, is not stored`, { file: this.location, lsn: vouchesThrough }, ErrorCode.PageLog);
    }
    const key = encodeLsnKey(entry.lsn);
    const written = this.meta.ifNoExists(encodeTermKey(term + 1), () => {
      this.log.put(key, encodeLogEntry(entry));
      this.checkpoints.put(key, body);
    });
    return this.outcome(written);
  }

  async remove(records: readonly StoredRecordKey[], term: number, options: { keepLeased: boolean }): Promise<'removed' | 'fenced' | 'leased'> {
    const fenceKey = encodeTermKey(term + 1);
    // Decided before anything is written: an LMDB transaction callback that throws after
    // writing would still commit what it wrote.
    return this.transact((): 'fenced' | 'leased' | 'removed' => {
      if (this.meta.getBinary(fenceKey) !== undefined) return 'fenced';
      if (options.keepLeased) {
        const leased = new Set(leasedCheckpoints(this.leaseRecords(), this.now()));
        if (records.some((record) => record.kind === RecordKind.Completion && leased.has(record.lsn))) return 'leased';
      }
      for (const record of records) {
        const key = encodeLsnKey(record.lsn);
        this.log.remove(key);
        if (record.kind === RecordKind.Completion) this.checkpoints.remove(key);
        else this.pages.remove(encodePageKey(record.tableId, record.pageId, record.lsn));
      }
      return 'removed';
    });
  }

  async sync(): Promise<void> {
    await this.synced();
  }

  async close(abrupt: boolean): Promise<void> {
    if (!abrupt) {
      await this.root.close();
      return;
    }
    // lmdb-js closes a store only once its last commit is flushed, and after a failed commit
    // that never happens: close without waiting, or the close never returns.
    this.root.close().catch(() => undefined);
  }

  async snapshot(directory: string): Promise<void> {
    try {
      mkdirSync(directory, { recursive: true });
      // LMDB's own copy runs in one read transaction: a consistent state, puts go on meanwhile.
      await this.root.backup(directory, false);
    } catch (error) {
      throw new PageLogError(`cannot copy the page log to ${directory}`, { file: directory, cause: error }, ErrorCode.PageLog);
    }
  }

  /** Resolves once every commit so far is synced; a failed commit rejects as `PAGE_LOG`. */
  private async synced(): Promise<void> {
    try {
      await this.root.flushed;
    } catch (error) {
      throw await this.commitFailed(error);
    }
  }

  /** A conditional write's outcome, with a failed commit reported as `PAGE_LOG`. */
  private async outcome(written: Promise<boolean>): Promise<FencedOutcome> {
    this.queueCommitHook();
    try {
      return (await written) ? 'written' : 'fenced';
    } catch (error) {
      throw await this.commitFailed(error);
    }
  }

  /**
   * Runs `work` in an LMDB write transaction. `work` must decide before it writes: a callback
   * that throws after writing still commits what it wrote (lmdb-js batches callbacks in one
   * transaction).
   */
  private async transact<T>(work: () => T): Promise<T> {
    const committed = this.root.transaction(() => this.damage.whileWriting(work));
    this.queueCommitHook();
    try {
      return await committed;
    } catch (error) {
      if (error instanceof PageLogError) throw error;
      if ((error as { commitError?: unknown } | undefined)?.commitError === undefined) throw error;
      throw await this.commitFailed(error);
    }
  }

  /** The error of a failed commit, naming LMDB's own reason when it arrives within a moment. */
  private async commitFailed(error: unknown): Promise<PageLogError> {
    const reason = await commitErrorReason(error);
    const why = reason instanceof Error ? `: ${reason.message}` : '';
    return new PageLogError(`a commit to the page log at ${this.location} failed${why}`, { file: this.location, cause: reason ?? error }, ErrorCode.PageLog);
  }

  /**
   * lmdb-js ends each event-turn batch (in a setImmediate queued by the first write of the
   * turn) with a write of its own whose commit promise it hands to nobody: should that
   * transaction fail, the promise rejects unhandled and ends the process. Once that immediate
   * has run, the store's `committed` thenable reaches that promise, and a handler on it absorbs
   * the rejection (the failure itself reaches the caller through the write's own promise).
   */
  private queueCommitHook(): void {
    if (this.commitHookQueued) return;
    this.commitHookQueued = true;
    setImmediate(() => {
      this.commitHookQueued = false;
      this.root.committed.then(undefined, absorbCommitError);
    });
  }
}

/**
 * A failed lmdb-js commit rejects every write promise of its transaction with an error whose
 * `commitError` is another promise, rejected later with LMDB's own error (EIO on a full disk).
 * Nothing else awaits that promise: without a handler it is an unhandled rejection, which ends
 * the process.
 */
function absorbCommitError(error: unknown): void {
  const commitError = (error as { commitError?: unknown } | undefined)?.commitError;
  if (commitError instanceof Promise) commitError.catch(() => undefined);
}

/** How long a failed commit's error waits for LMDB's own reason before it is reported without. */
const COMMIT_REASON_WAIT_MS = 1000;

/** LMDB's own error behind a failed lmdb-js commit (see `absorbCommitError`), or undefined when none arrives in time. */
async function commitErrorReason(error: unknown): Promise<unknown> {
  absorbCommitError(error);
  const commitError = (error as { commitError?: unknown } | undefined)?.commitError;
  if (!(commitError instanceof Promise)) return undefined;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, COMMIT_REASON_WAIT_MS, undefined);
  });
  try {
    return await Promise.race([commitError.then(() => undefined, (reason: unknown) => reason), late]);
  } finally {
    clearTimeout(timer);
  }
}
