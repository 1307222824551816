/**
 * The durable embedded page log: page images and completion records in one LMDB environment.
 *
 * Writes are queued with lmdb-js asynchronous puts, which a background thread commits in
 * batches (one transaction per event-loop turn), so `put` returns its LSN at once. Until a
 * batch commits, its records are served from `PendingWrites`. `completeCheckpoint` waits until
 * every queued record is committed and synced, and only then writes the completion record and
 * waits for it to sync: the completion record can never be on disk without its pages.
 * See README.md for the stored layout.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Database, RootDatabase } from 'lmdb';
import { ErrorCode, PageLogError, type ErrorLocation } from '../errors.js';
import { checksum } from '../format/index.js';
import {
  MAX_DELTAS_PER_CHAIN,
  PutFlags,
  type CompleteCheckpointArgs,
  type CompletionRecord,
  type LogEntry,
  type PageLog,
  type PageLogHandle,
  type PageLogOptions,
  type PageLogStat,
  type PageLogStorageSize,
  type PageRecord,
  type PutArgs,
} from './interface.js';
import { checkLmdbDataFileSettled, checkLmdbLockFile, LMDB_DATA_FILE } from './lmdb_files.js';
import { PendingWrites } from './pending_writes.js';
import { unreachableRecords, type ChainRecord } from './reachability.js';
import {
  FORMAT_KEY,
  MAX_U32,
  RecordKind,
  checkFormatRecord,
  decodeCompletionRecord,
  decodeLogEntry,
  decodeLsnKey,
  decodePageKey,
  encodeCompletionRecord,
  encodeFormatRecord,
  encodeLogEntry,
  encodeLsnKey,
  encodePageKey,
  encodeTableEndKey,
  encodeTableStartKey,
  type LogEntryFields,
  type RecordKindValue,
} from './record_format.js';

type Store = Database<Buffer, Buffer>;

/** Longest run of a prune's scan without yielding to other work. */
const PRUNE_SLICE_MILLIS = 10;
/** `get` and `listPages` without an LSN read as of this one. */
const LATEST = Number.MAX_SAFE_INTEGER;
const MAX_U64 = (1n << 64n) - 1n;
const KNOWN_PUT_FLAGS = PutFlags.Delta;
/** Records removed per transaction by `abandonCheckpoint` and `prune`, to bound transaction size. */
const REMOVALS_PER_TRANSACTION = 10_000;
/** The named databases of a page log; LMDB lists them as keys of its main database. */
const NAMED_DATABASES = ['pages', 'log', 'checkpoints', 'meta'] as const;

type CheckpointState = 'idle' | 'begun' | 'completing';

/** The lmdb-js commit promise shared by the puts of one transaction, and the last LSN put in it. */
interface CommitBatch {
  readonly promise: Promise<boolean>;
  lastLsn: number;
}

/** What is needed to remove a stored record. */
type StoredRecordKey = Pick<LogEntryFields, 'lsn' | 'kind' | 'tableId' | 'pageId'>;

/** The newest record of a page at some LSN. */
interface PageSummary {
  tableId: number;
  pageId: number;
  lsn: number;
  kind: RecordKindValue;
}

function invalidArgument(message: string, location: ErrorLocation = {}): PageLogError {
  return new PageLogError(message, location, ErrorCode.InvalidArgument);
}

function corruption(message: string, location: ErrorLocation): PageLogError {
  return new PageLogError(message, location, ErrorCode.Corruption);
}

function checkTableId(tableId: number): void {
  if (!Number.isInteger(tableId) || tableId < 0 || tableId > MAX_U32) {
    throw invalidArgument(`table id ${String(tableId)} is not a u32`, { actual: String(tableId) });
  }
}

function checkPageId(tableId: number, pageId: number): void {
  if (!Number.isSafeInteger(pageId) || pageId < 1) {
    throw invalidArgument(`page id ${String(pageId)} is invalid: page ids are integers from 1`, {
      tableId,
      actual: String(pageId),
    });
  }
}

function checkLsn(name: string, lsn: number, location: ErrorLocation): void {
  if (!Number.isSafeInteger(lsn) || lsn < 0) {
    throw invalidArgument(`${name} ${String(lsn)} is not a non-negative integer`, { ...location, actual: String(lsn) });
  }
}

function checkTimestamp(name: string, value: bigint): void {
  if (typeof value !== 'bigint' || value < 0n || value > MAX_U64) {
    throw invalidArgument(`${name} must be a u64 bigint, got ${String(value)}`, { key: name });
  }
}

function isDelta(entry: LogEntryFields): boolean {
  return entry.kind === RecordKind.Page && (entry.flags & PutFlags.Delta) !== 0;
}

/** lmdb-js may hand back a plain Uint8Array; callers are promised Buffers. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

/**
 * Opens (and by default creates) the page log stored in directory `path`.
 *
 * Before LMDB maps an existing store, its files are checked (`checkLmdbDataFileSettled`), so that a
 * truncated or garbage file is an error rather than a fault in the mapping.
 *
 * Errors: `MISSING_FILE` naming the path when there is no log there and `create` is false or
 * `readOnly` is set; `FORMAT_TRUNCATED` naming `data.mdb` with the expected and actual sizes
 * when it lacks a page LMDB may read, one its meta counts and its free DB does not list (an
 * empty one is a store LMDB never initialised: created anew when `create` allows);
 * `CORRUPTION` when a meta page or the free DB is damaged or a file is not a regular file; `IO` when LMDB cannot open it; `CORRUPTION` when the directory holds an
 * LMDB environment that is not a page log; `PAGE_LOG` when the log needs a newer format.
 */
export async function openPageLog(path: string, options: PageLogOptions = {}): Promise<PageLog> {
  if (typeof path !== 'string' || path === '') throw invalidArgument('the page log path must be a non-empty string');
  const readOnly = options.readOnly ?? false;
  const create = (options.create ?? true) && !readOnly;
  const dataFile = join(path, LMDB_DATA_FILE);
  // An empty data file is one LMDB created but was stopped (a kill) before it wrote its meta
  // pages: it holds nothing. A caller that may create (nothing depends on this store yet) gets
  // the store LMDB then initialises; any other caller, an error.
  const existed = existsSync(dataFile) && !(create && isEmptyFile(dataFile));
  checkLmdbLockFile(path);
  if (existed) {
    // lmdb-js turns on overlapping sync for a writer that syncs, on every system but Windows.
    checkLmdbDataFileSettled(path, { overlappingSync: !readOnly && !(options.noSync ?? false) && process.platform !== 'win32' });
  } else {
    if (!create) {
      const why = readOnly ? 'it was opened read-only' : 'create is false';
      throw new PageLogError(`no page log at ${path} (${why})`, { file: path }, ErrorCode.MissingFile);
    }
    try {
      mkdirSync(path, { recursive: true });
    } catch (error) {
      throw new PageLogError(`cannot create the page log directory ${path}`, { file: path, cause: error }, ErrorCode.Io);
    }
  }
  // Imported here, not at the top: a home in local mode never opens a page log, and loading
  // lmdb (its native addon and encoders) is a large part of a process's start-up.
  const { open } = await import('lmdb');
  let root: RootDatabase<Buffer, Buffer>;
  try {
    root = open<Buffer, Buffer>({
      path,
      maxDbs: NAMED_DATABASES.length,
      keyEncoding: 'binary',
      encoding: 'binary',
      readOnly,
      noSync: options.noSync ?? false,
      cache: false,
      compression: false,
    });
  } catch (error) {
    throw new PageLogError(`cannot open the page log at ${path}`, { file: path, cause: error }, ErrorCode.Io);
  }
  try {
    // Checked before the named databases are opened, which would create them in a foreign store.
    checkNoForeignData(path, root);
    const log = new LmdbPageLog(path, root, readOnly);
    await log.initialize();
    return log;
  } catch (error) {
    await root.close();
    throw error;
  }
}

function isEmptyFile(path: string): boolean {
  try {
    const stat = statSync(path);
    return stat.isFile() && stat.size === 0;
  } catch {
    return false;
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

/** The pages of one table of an `LmdbPageLog`. */
class TableHandle implements PageLogHandle {
  constructor(
    private readonly log: LmdbPageLog,
    readonly tableId: number,
  ) {}

  put(pageId: number, args: PutArgs, image: Buffer): number {
    return this.log.putPage(this.tableId, pageId, args, image);
  }

  get(pageId: number, lsn?: number): PageRecord[] {
    return this.log.getPage(this.tableId, pageId, lsn);
  }

  discard(pageId: number): number {
    return this.log.discardPage(this.tableId, pageId);
  }

  listPages(lsn?: number): number[] {
    return this.log.listPageIds(this.tableId, lsn);
  }
}

/** `PageLog` on LMDB. Only `openPageLog` creates it. */
class LmdbPageLog implements PageLog {
  /** (table id, page id, LSN) -> image bytes (empty for a discard). Read by `get`. */
  private readonly pages: Store;
  /** LSN -> 48-byte log entry for every record. Read by `records`, abandon and prune. */
  private readonly log: Store;
  /** LSN -> completion record body. */
  private readonly checkpoints: Store;
  /** Fixed keys: the format record. */
  private readonly meta: Store;

  /** From the format record; set by `initialize`. */
  private formatIdentity = '';
  private readonly pending = new PendingWrites();
  private nextLsn = 1;
  private lastLsn = 0;
  private lastBatch: CommitBatch | undefined;
  private writeFailure: unknown;
  private checkpointState: CheckpointState = 'idle';
  /** Completions, abandons and prunes run one at a time, in call order. */
  private queueTail: Promise<unknown> = Promise.resolve();
  private closing: Promise<void> | undefined;

  constructor(
    readonly path: string,
    private readonly root: RootDatabase<Buffer, Buffer>,
    private readonly readOnly: boolean,
  ) {
    const options = { keyEncoding: 'binary', encoding: 'binary' } as const;
    this.pages = root.openDB<Buffer, Buffer>({ name: 'pages', ...options });
    this.log = root.openDB<Buffer, Buffer>({ name: 'log', ...options });
    this.checkpoints = root.openDB<Buffer, Buffer>({ name: 'checkpoints', ...options });
    this.meta = root.openDB<Buffer, Buffer>({ name: 'meta', ...options });
  }

  storageSize(): PageLogStorageSize {
    const stats = this.root.getStats() as { mapSize: number; lastPageNumber: number; pageSize: number };
    // A status figure: a data file deleted or replaced under the server is reported elsewhere
    // (storage health), not by failing the question.
    const fileBytes = statSync(join(this.path, LMDB_DATA_FILE), { throwIfNoEntry: false })?.size;
    return { fileBytes, mapSizeBytes: stats.mapSize, usedBytes: (stats.lastPageNumber + 1) * stats.pageSize };
  }

  /** Checks (or, for a new log, writes) the format record and finds the next LSN. */
  async initialize(): Promise<void> {
    let format = this.meta.getBinary(FORMAT_KEY);
    const empty = this.lastStoredLsn() === 0;
    if (format === undefined && empty && !this.readOnly) {
      // A new log, or one whose creation was interrupted before anything else was written.
      format = encodeFormatRecord(randomBytes(16));
      await this.meta.put(FORMAT_KEY, format);
      await this.root.flushed;
    }
    this.formatIdentity = checkFormatRecord(this.path, format);
    this.lastLsn = this.lastStoredLsn();
    this.nextLsn = this.lastLsn + 1;
  }

  get identity(): string {
    return this.formatIdentity;
  }

  openHandle(tableId: number): PageLogHandle {
    this.checkOpen();
    checkTableId(tableId);
    return new TableHandle(this, tableId);
  }

  putPage(tableId: number, pageId: number, args: PutArgs, image: Buffer): number {
    this.checkWritable();
    checkPageId(tableId, pageId);
    const location = { tableId, pageId };
    if (typeof args !== 'object' || args === null) throw invalidArgument('put needs { backlinkLsn, baseLsn, flags }', location);
    const { backlinkLsn, baseLsn, flags } = args;
    checkLsn('backlinkLsn', backlinkLsn, location);
    checkLsn('baseLsn', baseLsn, location);
    if (backlinkLsn >= this.nextLsn || baseLsn >= this.nextLsn) {
      throw invalidArgument(`backlinkLsn and baseLsn must name earlier records (the next LSN is ${this.nextLsn})`, location);
    }
    if (!Number.isInteger(flags) || flags < 0 || (flags & ~KNOWN_PUT_FLAGS) !== 0) {
      throw invalidArgument(`unknown put flags ${String(flags)}`, { ...location, actual: String(flags) });
    }
    if (!(image instanceof Uint8Array)) throw invalidArgument('the page image must be a Buffer', location);
    if (image.length > MAX_U32) throw invalidArgument(`a page image of ${image.length} bytes exceeds 4 GiB`, location);
    if ((flags & PutFlags.Delta) !== 0) this.checkDeltaPlacement(tableId, pageId, baseLsn, backlinkLsn);

    // lmdb-js writes from the buffer it is given when the batch commits: keep a private copy.
    const copy = Buffer.allocUnsafeSlow(image.length);
    copy.set(image);
    const lsn = this.allocateLsn();
    this.queueRecord(
      { lsn, kind: RecordKind.Page, tableId, pageId, backlinkLsn, baseLsn, flags, size: copy.length, imageChecksum: checksum(copy) },
      copy,
    );
    return lsn;
  }

  getPage(tableId: number, pageId: number, lsn?: number): PageRecord[] {
    this.checkOpen();
    checkPageId(tableId, pageId);
    const at = lsn ?? LATEST;
    checkLsn('lsn', at, { tableId, pageId });
    const chain = this.readChain(tableId, pageId, at);
    const records: PageRecord[] = [];
    for (let index = chain.length - 1; index >= 0; index -= 1) records.push(this.readRecord(chain[index]!));
    return records;
  }

  discardPage(tableId: number, pageId: number): number {
    this.checkWritable();
    checkPageId(tableId, pageId);
    const chain = this.readChain(tableId, pageId, LATEST);
    if (chain.length === 0) {
      throw new PageLogError('cannot discard a page that does not exist', { tableId, pageId }, ErrorCode.NotFound);
    }
    const lsn = this.allocateLsn();
    this.queueRecord(
      {
        lsn,
        kind: RecordKind.Discard,
        tableId,
        pageId,
        backlinkLsn: chain[0]!.lsn,
        baseLsn: chain[chain.length - 1]!.lsn,
        flags: 0,
        size: 0,
        imageChecksum: 0,
      },
      Buffer.alloc(0),
    );
    return lsn;
  }

  listPageIds(tableId: number, lsn?: number): number[] {
    this.checkOpen();
    const at = lsn ?? LATEST;
    checkLsn('lsn', at, { tableId });
    const pageIds: number[] = [];
    for (const page of this.newestRecordPerPage(tableId, at)) {
      if (page.kind !== RecordKind.Discard) pageIds.push(page.pageId);
    }
    return pageIds.sort((left, right) => left - right);
  }

  beginCheckpoint(): void {
    this.checkWritable();
    if (this.checkpointState !== 'idle') {
      throw new PageLogError(`a checkpoint is already ${this.checkpointState}`, { file: this.path }, ErrorCode.Busy);
    }
    this.checkpointState = 'begun';
  }

  async completeCheckpoint(args: CompleteCheckpointArgs): Promise<number> {
    this.checkWritable();
    if (this.checkpointState !== 'begun') {
      const why = this.checkpointState === 'idle' ? 'call beginCheckpoint first' : 'a completion is already running';
      throw new PageLogError(`no checkpoint to complete: ${why}`, { file: this.path }, ErrorCode.Busy);
    }
    if (typeof args !== 'object' || args === null) throw invalidArgument('completeCheckpoint needs { timestamp, oldestTimestamp, metadata }');
    checkTimestamp('timestamp', args.timestamp);
    checkTimestamp('oldestTimestamp', args.oldestTimestamp);
    if (typeof args.metadata !== 'string') throw invalidArgument('completion metadata must be a string', { key: 'metadata' });
    const body = encodeCompletionRecord(args);
    // Taken now, so that it is above every put made before this call and below every later one.
    const lsn = this.allocateLsn();
    this.checkpointState = 'completing';
    return this.serialize(async () => {
      try {
        await this.waitForDurability();
        const key = encodeLsnKey(lsn);
        this.trackCommit(this.log.put(
          key,
          encodeLogEntry({ lsn, kind: RecordKind.Completion, tableId: 0, pageId: 0, backlinkLsn: 0, baseLsn: 0, flags: 0, size: body.length, imageChecksum: 0 }),
        ), lsn);
        await this.checkpoints.put(key, body);
        await this.waitForDurability();
        this.checkpointState = 'idle';
        return lsn;
      } catch (error) {
        // The checkpoint did not complete: it stays begun, for a retry or an abandon.
        this.checkpointState = 'begun';
        this.writeFailure ??= error;
        throw new PageLogError('the checkpoint completion record was not written', { file: this.path, lsn, cause: error }, ErrorCode.PageLog);
      }
    });
  }

  getCompleteCheckpoint(lsn?: number): CompletionRecord | undefined {
    this.checkOpen();
    if (lsn === undefined) {
      for (const { key, value } of this.checkpoints.getRange({ reverse: true, limit: 1 })) {
        return this.toCompletionRecord(decodeLsnKey(key), value);
      }
      return undefined;
    }
    checkLsn('lsn', lsn, {});
    const value = this.checkpoints.getBinary(encodeLsnKey(lsn));
    return value === undefined ? undefined : this.toCompletionRecord(lsn, value);
  }

  listCompleteCheckpoints(): CompletionRecord[] {
    this.checkOpen();
    const result: CompletionRecord[] = [];
    for (const { key, value } of this.checkpoints.getRange({})) result.push(this.toCompletionRecord(decodeLsnKey(key), value));
    return result;
  }

  async abandonCheckpoint(after?: number): Promise<number> {
    this.checkWritable();
    if (after !== undefined) checkLsn('after', after, {});
    const bound = this.nextLsn - 1;
    return this.serialize(async () => {
      // Queued puts must be committed before the removal below can see them.
      await this.waitForDurability();
      const keep = after ?? this.newestCompletionLsn();
      const abandoned: StoredRecordKey[] = [];
      if (bound > keep) {
        for (const { key, value } of this.log.getRange({ start: encodeLsnKey(keep + 1), end: encodeLsnKey(bound + 1) })) {
          abandoned.push(decodeLogEntry(decodeLsnKey(key), asBuffer(value)));
        }
      }
      await this.removeRecords(abandoned);
      this.checkpointState = 'idle';
      // LSNs handed out after the call belong to records that stay; otherwise the log now ends lower.
      if (this.nextLsn - 1 === bound) this.lastLsn = this.lastStoredLsn();
      return abandoned.length;
    });
  }

  getLastLsn(): number {
    this.checkOpen();
    return this.lastLsn;
  }

  records(range: { from?: number; to?: number } = {}): Iterable<LogEntry> {
    this.checkOpen();
    const from = range.from ?? 1;
    const to = range.to ?? LATEST;
    checkLsn('from', from, {});
    checkLsn('to', to, {});
    return this.iterateRecords(from, to);
  }

  stat(): PageLogStat {
    this.checkOpen();
    let records = 0;
    let bytes = 0;
    let checkpoints = 0;
    for (const entry of this.iterateRecords(1, LATEST)) {
      records += 1;
      if (entry.kind === 'page') bytes += entry.record.size;
      if (entry.kind === 'complete') checkpoints += 1;
    }
    const tables = new Set<number>();
    let pages = 0;
    for (const page of this.newestRecordPerPage(undefined, LATEST)) {
      tables.add(page.tableId);
      if (page.kind !== RecordKind.Discard) pages += 1;
    }
    return { tables: tables.size, pages, records, bytes, lastLsn: this.lastLsn, checkpoints };
  }

  async prune(keep: number, alsoKeep: readonly number[] = []): Promise<number> {
    this.checkWritable();
    if (!Number.isSafeInteger(keep) || keep < 1) throw invalidArgument(`prune keeps at least one checkpoint, got ${String(keep)}`);
    for (const lsn of alsoKeep) checkLsn('alsoKeep', lsn, {});
    return this.serialize(async () => {
      await this.waitForDurability();
      const completions: number[] = [];
      for (const key of this.checkpoints.getKeys({})) completions.push(decodeLsnKey(key));
      if (completions.length === 0) return 0;
      const pinned = new Set(alsoKeep);
      const newest = new Set(completions.slice(-keep));
      const kept = completions.filter((lsn) => newest.has(lsn) || pinned.has(lsn));
      const removable: StoredRecordKey[] = completions
        .filter((lsn) => !newest.has(lsn) && !pinned.has(lsn))
        .map((lsn) => ({ lsn, kind: RecordKind.Completion, tableId: 0, pageId: 0 }));

      let chain: ChainRecord[] = [];
      let chainPage: { tableId: number; pageId: number } | undefined;
      const collect = (): void => {
        if (chainPage === undefined) return;
        for (const lsn of unreachableRecords(chain, kept)) removable.push({ lsn, kind: RecordKind.Page, ...chainPage });
      };
      // The keys first, then the records in slices that yield, so a large log does not stop
      // every other client. Records put meanwhile are newer than every kept checkpoint and
      // not in the list: they stay.
      const keys = [...this.pages.getKeys({})];
      let sliceStart = performance.now();
      for (const key of keys) {
        if (performance.now() - sliceStart >= PRUNE_SLICE_MILLIS) {
          await new Promise((resolve) => setImmediate(resolve));
          sliceStart = performance.now();
        }
        const { tableId, pageId, lsn } = decodePageKey(key);
        if (chainPage === undefined || chainPage.tableId !== tableId || chainPage.pageId !== pageId) {
          collect();
          chain = [];
          chainPage = { tableId, pageId };
        }
        const entry = this.readLogEntry(lsn, tableId, pageId);
        chain.push({ lsn, resetsChain: !isDelta(entry), isDiscard: entry.kind === RecordKind.Discard });
      }
      collect();
      await this.removeRecords(removable);
      return removable.length;
    });
  }

  async snapshot(directory: string): Promise<void> {
    await this.flush();
    try {
      mkdirSync(directory, { recursive: true });
      // LMDB's own copy runs in one read transaction: a consistent state, puts go on meanwhile.
      await this.root.backup(directory, false);
    } catch (error) {
      throw new PageLogError(`cannot copy the page log to ${directory}`, { file: directory, cause: error }, ErrorCode.PageLog);
    }
  }

  async flush(): Promise<void> {
    this.checkOpen();
    if (!this.readOnly) await this.waitForDurability();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.queueTail;
      try {
        // After a failed commit nothing queued will become durable, and waiting could wait on
        // a commit lmdb-js never settles.
        if (!this.readOnly && this.writeFailure === undefined) await this.waitForDurability();
      } finally {
        if (this.writeFailure === undefined) {
          await this.root.close();
        } else {
          // lmdb-js closes a store only once its last commit is flushed, and after a failed
          // commit that never happens: close without waiting, or the close never returns.
          this.root.close().catch(() => undefined);
        }
      }
    })();
    return this.closing;
  }

  private checkOpen(): void {
    if (this.closing !== undefined) {
      throw new PageLogError(`the page log at ${this.path} is closed`, { file: this.path }, ErrorCode.Closed);
    }
  }

  private checkWritable(): void {
    this.checkOpen();
    if (this.readOnly) {
      throw new PageLogError(`the page log at ${this.path} is open read-only`, { file: this.path }, ErrorCode.ReadOnly);
    }
    if (this.writeFailure !== undefined) {
      throw new PageLogError(
        `an earlier commit to the page log at ${this.path} failed; reopen it`,
        { file: this.path, cause: this.writeFailure },
        ErrorCode.PageLog,
      );
    }
  }

  private allocateLsn(): number {
    const lsn = this.nextLsn;
    if (lsn > LATEST) throw new PageLogError('the page log ran out of LSNs', { file: this.path, lsn }, ErrorCode.PageLog);
    this.nextLsn = lsn + 1;
    this.lastLsn = lsn;
    return lsn;
  }

  private serialize<T>(task: () => Promise<T>): Promise<T> {
    const result = this.queueTail.then(task);
    this.queueTail = result.catch(() => undefined);
    return result;
  }

  /** Queues the log entry and the image of a page or discard record, and serves it until committed. */
  private queueRecord(entry: LogEntryFields, image: Buffer): void {
    // The entry goes first: removals find records through the log, so an image must never be
    // stored without its entry. Both land in the same transaction in practice.
    const entryCommitted = this.log.put(encodeLsnKey(entry.lsn), encodeLogEntry(entry));
    const committed = this.pages.put(encodePageKey(entry.tableId, entry.pageId, entry.lsn), image);
    this.pending.add({ entry, image });
    // lmdb-js hands both puts of a transaction the same promise; should the two land in
    // different transactions, the entry's failure must be seen (and handled) too.
    if (entryCommitted !== committed) this.trackCommit(entryCommitted, entry.lsn - 1);
    this.trackCommit(committed, entry.lsn);
  }

  /**
   * lmdb-js returns one promise for every write of a transaction and settles it when that
   * transaction commits; transactions commit in order, so its settling releases every queued
   * record up to the last LSN put into it.
   */
  private trackCommit(promise: Promise<boolean>, lsn: number): void {
    const batch = this.lastBatch;
    if (batch !== undefined && batch.promise === promise) {
      batch.lastLsn = lsn;
      return;
    }
    const next: CommitBatch = { promise, lastLsn: lsn };
    this.lastBatch = next;
    // lmdb-js ends each event-turn batch (in a setImmediate queued by the first put of the
    // turn) with a write of its own whose commit promise it hands to nobody: should that
    // transaction fail, the promise rejects unhandled and ends the process. Once that
    // immediate has run, the store's `committed` thenable reaches that promise, and a handler
    // on it absorbs the rejection (the failure itself reaches `writeFailure` through `promise`).
    setImmediate(() => {
      this.root.committed.then(undefined, absorbCommitError);
    });
    promise.then(
      () => this.pending.releaseThrough(next.lastLsn),
      (error: unknown) => {
        this.writeFailure ??= error;
        absorbCommitError(error);
      },
    );
  }

  /** Resolves when every write queued so far is committed and synced; rejects after a failed commit. */
  private async waitForDurability(): Promise<void> {
    try {
      if (this.lastBatch !== undefined) await this.lastBatch.promise;
      await this.root.flushed;
    } catch (error) {
      this.writeFailure ??= error;
      absorbCommitError(error);
    }
    if (this.writeFailure !== undefined) {
      throw new PageLogError(`a commit to the page log at ${this.path} failed`, { file: this.path, cause: this.writeFailure }, ErrorCode.PageLog);
    }
  }

  /**
   * The records `get(pageId, atLsn)` returns, newest first: deltas, then their base. [] when
   * the page has no record at or below `atLsn` or its newest one is a discard.
   */
  private readChain(tableId: number, pageId: number, atLsn: number): LogEntryFields[] {
    const chain: LogEntryFields[] = [];
    /** Adds one record, newest first; true once the chain is complete. */
    const take = (entry: LogEntryFields): boolean => {
      if (entry.kind === RecordKind.Discard) {
        if (chain.length > 0) throw corruption('a delta follows a discard', { tableId, pageId, lsn: chain[chain.length - 1]!.lsn });
        return true;
      }
      if (entry.kind !== RecordKind.Page) throw corruption('a completion record is filed as a page record', { tableId, pageId, lsn: entry.lsn });
      chain.push(entry);
      return !isDelta(entry);
    };

    const queued = this.pending.forPage(tableId, pageId);
    for (let index = queued.length - 1; index >= 0; index -= 1) {
      const entry = queued[index]!.entry;
      if (entry.lsn <= atLsn && take(entry)) return chain;
    }
    // Committed records of the page are all older than its queued ones (commits follow LSN order).
    const scanFrom = queued.length > 0 ? Math.min(atLsn, queued[0]!.entry.lsn - 1) : atLsn;
    if (scanFrom >= 1) {
      const range = { start: encodePageKey(tableId, pageId, scanFrom), end: encodePageKey(tableId, pageId, 0), reverse: true };
      for (const key of this.pages.getKeys(range)) {
        const { lsn } = decodePageKey(key);
        if (take(this.readLogEntry(lsn, tableId, pageId))) return chain;
      }
    }
    if (chain.length > 0) throw corruption('the page has deltas but no base image', { tableId, pageId, lsn: chain[chain.length - 1]!.lsn });
    return chain;
  }

  private checkDeltaPlacement(tableId: number, pageId: number, baseLsn: number, backlinkLsn: number): void {
    const chain = this.readChain(tableId, pageId, LATEST);
    if (chain.length === 0) {
      throw new PageLogError('a delta needs a base image, and the page has none (never written, or discarded)', { tableId, pageId }, ErrorCode.NotFound);
    }
    const base = chain[chain.length - 1]!;
    const newest = chain[0]!;
    const deltas = chain.length - 1;
    if (deltas >= MAX_DELTAS_PER_CHAIN) {
      throw invalidArgument(`the page already has ${deltas} deltas on its base, the most allowed; put a new base image instead`, {
        tableId,
        pageId,
        lsn: base.lsn,
        expected: MAX_DELTAS_PER_CHAIN,
        actual: deltas + 1,
      });
    }
    if (baseLsn !== base.lsn) {
      throw invalidArgument(`the delta's baseLsn ${baseLsn} is not the page's base LSN ${base.lsn}`, {
        tableId,
        pageId,
        lsn: base.lsn,
        expected: base.lsn,
        actual: baseLsn,
      });
    }
    if (backlinkLsn !== newest.lsn) {
      throw invalidArgument(`the delta's backlinkLsn ${backlinkLsn} is not the page's newest LSN ${newest.lsn}`, {
        tableId,
        pageId,
        lsn: newest.lsn,
        expected: newest.lsn,
        actual: backlinkLsn,
      });
    }
  }

  /** The image of a page record, from the queue or the store, with its size and checksum checked. */
  private readRecord(entry: LogEntryFields): PageRecord {
    const { lsn, tableId, pageId } = entry;
    const queued = this.pending.find(tableId, pageId, lsn);
    let image: Buffer;
    if (queued !== undefined) {
      image = Buffer.from(queued.image);
    } else {
      const stored = this.pages.getBinary(encodePageKey(tableId, pageId, lsn));
      if (stored === undefined) throw corruption('the page image is missing', { tableId, pageId, lsn });
      image = asBuffer(stored);
    }
    if (image.length !== entry.size) {
      throw corruption(`the page image is ${image.length} bytes, its log entry says ${entry.size}`, { tableId, pageId, lsn });
    }
    const actual = checksum(image);
    if (actual !== entry.imageChecksum) {
      throw new PageLogError('page image checksum mismatch', { tableId, pageId, lsn, expected: entry.imageChecksum, actual }, ErrorCode.ChecksumMismatch);
    }
    return { lsn, tableId, pageId, backlinkLsn: entry.backlinkLsn, baseLsn: entry.baseLsn, flags: entry.flags, image };
  }

  /** The stored log entry of `lsn`; with a table and page, also checks that it belongs to them. */
  private readLogEntry(lsn: number, tableId: number, pageId: number): LogEntryFields {
    const value = this.log.getBinary(encodeLsnKey(lsn));
    if (value === undefined) throw corruption('a page record has no log entry', { tableId, pageId, lsn });
    const entry = decodeLogEntry(lsn, asBuffer(value));
    if (entry.tableId !== tableId || entry.pageId !== pageId) {
      throw corruption(`the log entry belongs to table id ${entry.tableId} page ${entry.pageId}`, { tableId, pageId, lsn });
    }
    return entry;
  }

  /**
   * For every page of `tableId` (every table when undefined) with a record at or below `atLsn`,
   * its newest such record. Unordered.
   */
  private *newestRecordPerPage(tableId: number | undefined, atLsn: number): Generator<PageSummary> {
    // Queued records are newer than the committed records of the same page, so they win.
    const queued = new Map<string, PageSummary>();
    for (const { entry } of this.pending.between(1, atLsn)) {
      if (entry.kind === RecordKind.Completion || (tableId !== undefined && entry.tableId !== tableId)) continue;
      queued.set(`${entry.tableId}:${entry.pageId}`, { tableId: entry.tableId, pageId: entry.pageId, lsn: entry.lsn, kind: entry.kind });
    }
    const summarize = (page: { tableId: number; pageId: number; lsn: number }): PageSummary => {
      const key = `${page.tableId}:${page.pageId}`;
      const newer = queued.get(key);
      if (newer !== undefined) {
        queued.delete(key);
        return newer;
      }
      return { ...page, kind: this.readLogEntry(page.lsn, page.tableId, page.pageId).kind };
    };
    const range = tableId === undefined ? {} : { start: encodeTableStartKey(tableId), end: encodeTableEndKey(tableId) };
    let current: { tableId: number; pageId: number; lsn: number } | undefined;
    for (const key of this.pages.getKeys(range)) {
      const record = decodePageKey(key);
      if (record.lsn > atLsn) continue;
      if (current !== undefined && (current.tableId !== record.tableId || current.pageId !== record.pageId)) yield summarize(current);
      current = record;
    }
    if (current !== undefined) yield summarize(current);
    yield* queued.values();
  }

  private *iterateRecords(from: number, to: number): Generator<LogEntry> {
    const queued = this.pending.between(from, to);
    let next = 0;
    let lastYielded = 0;
    for (const { key, value } of this.log.getRange({ start: encodeLsnKey(from), end: encodeLsnKey(to + 1) })) {
      const entry = decodeLogEntry(decodeLsnKey(key), asBuffer(value));
      // A record can be both committed and still queued for a moment; list it once.
      while (next < queued.length && queued[next]!.entry.lsn <= entry.lsn) {
        const queuedEntry = queued[next++]!.entry;
        if (queuedEntry.lsn < entry.lsn) yield this.toLogEntry(queuedEntry);
      }
      yield this.toLogEntry(entry);
      lastYielded = entry.lsn;
    }
    for (; next < queued.length; next += 1) {
      const entry = queued[next]!.entry;
      if (entry.lsn > lastYielded) yield this.toLogEntry(entry);
    }
  }

  private toLogEntry(entry: LogEntryFields): LogEntry {
    const { lsn, tableId, pageId } = entry;
    switch (entry.kind) {
      case RecordKind.Page:
        return { kind: 'page', record: { lsn, tableId, pageId, backlinkLsn: entry.backlinkLsn, baseLsn: entry.baseLsn, flags: entry.flags, size: entry.size } };
      case RecordKind.Discard:
        return { kind: 'discard', lsn, tableId, pageId };
      case RecordKind.Completion: {
        const record = this.getCompleteCheckpoint(lsn);
        if (record === undefined) throw corruption('a completion log entry has no completion record', { lsn });
        return { kind: 'complete', record };
      }
    }
  }

  private toCompletionRecord(lsn: number, value: Uint8Array): CompletionRecord {
    return { lsn, ...decodeCompletionRecord(lsn, asBuffer(value)) };
  }

  private lastStoredLsn(): number {
    for (const key of this.log.getKeys({ reverse: true, limit: 1 })) return decodeLsnKey(key);
    return 0;
  }

  private newestCompletionLsn(): number {
    for (const key of this.checkpoints.getKeys({ reverse: true, limit: 1 })) return decodeLsnKey(key);
    return 0;
  }

  /** Removes records (entry, image or completion body) in bounded transactions, then syncs. */
  private async removeRecords(removed: readonly StoredRecordKey[]): Promise<void> {
    if (removed.length === 0) return;
    // Completion records go first: a crash part-way must never leave one vouching for pages
    // already removed.
    const records = [...removed.filter((r) => r.kind === RecordKind.Completion), ...removed.filter((r) => r.kind !== RecordKind.Completion)];
    for (let start = 0; start < records.length; start += REMOVALS_PER_TRANSACTION) {
      const slice = records.slice(start, start + REMOVALS_PER_TRANSACTION);
      await this.root.transaction(() => {
        for (const record of slice) {
          const key = encodeLsnKey(record.lsn);
          this.log.remove(key);
          if (record.kind === RecordKind.Completion) this.checkpoints.remove(key);
          else this.pages.remove(encodePageKey(record.tableId, record.pageId, record.lsn));
        }
      });
    }
    await this.waitForDurability();
  }
}

/**
 * A failed lmdb-js commit rejects every write promise of its transaction with an error whose
 * `commitError` is another promise, rejected later with LMDB's own error (EIO on a full disk).
 * Nothing else awaits that promise: without a handler it is an unhandled rejection, which ends
 * the process. The write failure itself is reported through `writeFailure`.
 */
function absorbCommitError(error: unknown): void {
  const commitError = (error as { commitError?: unknown } | undefined)?.commitError;
  if (commitError instanceof Promise) commitError.catch(() => undefined);
}
