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
  type PageLogRole,
  type PageLogStat,
  type PageLogStorageSize,
  type PageRecord,
  type PutArgs,
} from './interface.js';
import {
  claimWriterRole, DEFAULT_LEASE_MS, DEFAULT_NODE_ID, fencedError, leaderActiveError, leasedCheckpoints, releaseLease, renewFollowerLease,
  renewLeaderLease, RENEWALS_PER_LEASE, type NodeIdentity, type NodeRecords, type NodeRecordStore, type NodeRecordUpdate, type TermRecord,
} from './nodes.js';
import { checkLmdbDataFileSettled, checkLmdbLockFile, LMDB_DATA_FILE } from './lmdb_files.js';
import { PendingWrites } from './pending_writes.js';
import { unreachableRecords, type ChainRecord } from './reachability.js';
import {
  FORMAT_KEY,
  MAX_U32,
  RecordKind,
  checkFormatRecord,
  decodeCompletionRecord,
  decodeLeaseRecord,
  decodeLogEntry,
  decodeLsnKey,
  decodePageKey,
  decodeTermRecord,
  encodeCompletionRecord,
  encodeFormatRecord,
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
  const role: PageLogRole = readOnly ? 'inspector' : options.role ?? 'leader';
  if (role !== 'leader' && role !== 'follower' && role !== 'inspector') throw invalidArgument(`role must be "leader" or "follower", not ${JSON.stringify(options.role)}`);
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  if (!Number.isSafeInteger(leaseMs) || leaseMs < RENEWALS_PER_LEASE * 10) throw invalidArgument(`leaseMs must be an integer of at least ${RENEWALS_PER_LEASE * 10}, got ${String(options.leaseMs)}`);
  // Only a leader creates a log: a follower reads one a leader made.
  const create = (options.create ?? true) && role === 'leader';
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
      const why = readOnly ? 'it was opened read-only' : role === 'follower' ? 'a follower reads a log its leader made' : 'create is false';
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
    const log = new LmdbPageLog(path, root, {
      role, leaseMs, identity: { nodeId: options.nodeId ?? DEFAULT_NODE_ID, pid: process.pid, address: options.address ?? '' },
    });
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

/** How `openPageLog` sets up an `LmdbPageLog`. */
interface LmdbPageLogSettings {
  role: PageLogRole;
  leaseMs: number;
  identity: NodeIdentity;
}

/**
 * `PageLog` on LMDB. Only `openPageLog` creates it. It is also the node records' store
 * (`NodeRecordStore`): terms and leases are keys of the `meta` database, updated in LMDB write
 * transactions, which LMDB serializes across every process that has the log open.
 */
class LmdbPageLog implements PageLog, NodeRecordStore {
  /** (table id, page id, LSN) -> image bytes (empty for a discard). Read by `get`. */
  private readonly pages: Store;
  /** LSN -> 48-byte log entry for every record. Read by `records`, abandon and prune. */
  private readonly log: Store;
  /** LSN -> completion record body. */
  private readonly checkpoints: Store;
  /** Fixed keys: the format record; `term:N` and `lease:NODE` node records (see nodes.ts). */
  private readonly meta: Store;

  /** From the format record; set by `initialize`. */
  private formatIdentity = '';
  private pending = new PendingWrites();
  private nextLsn = 1;
  private lastLsn = 0;
  private lastBatch: CommitBatch | undefined;
  private writeFailure: unknown;
  private checkpointState: CheckpointState = 'idle';
  /** Completions, abandons and prunes run one at a time, in call order. */
  private queueTail: Promise<unknown> = Promise.resolve();
  private closing: Promise<void> | undefined;
  private currentRole: PageLogRole;
  /** The leader's term (0 otherwise) and the key whose existence fences it: the next term's record. */
  private currentTerm = 0;
  private fenceKey: Buffer | undefined;
  /** Set once a newer term fenced this leader; `fencedBy` is that term's record when it was read. */
  private fenced: { by: TermRecord | undefined } | undefined;
  /** Counts role changes: the commit handlers of an earlier role leave the current one alone. */
  private roleEpoch = 0;
  /** The completion records this follower's lease names. */
  private heldCheckpoints: number[] = [];
  private renewTimer: NodeJS.Timeout | undefined;
  private renewalPauses = 0;
  private renewing: Promise<void> | undefined;
  /** A handler for lmdb-js's own end-of-batch write is queued for this event turn. */
  private commitHookQueued = false;
  private readonly leaseMs: number;
  private readonly identity_: NodeIdentity;

  constructor(
    readonly path: string,
    private readonly root: RootDatabase<Buffer, Buffer>,
    settings: LmdbPageLogSettings,
  ) {
    this.currentRole = settings.role;
    this.leaseMs = settings.leaseMs;
    this.identity_ = settings.identity;
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

  /**
   * Checks (or, for a new log, writes) the format record, claims the writer role (leader) or
   * records a lease (follower), and finds the next LSN.
   */
  async initialize(): Promise<void> {
    let format = this.meta.getBinary(FORMAT_KEY);
    const empty = this.lastStoredLsn() === 0;
    if (format === undefined && empty && this.currentRole === 'leader') {
      // A new log, or one whose creation was interrupted before anything else was written.
      format = encodeFormatRecord(randomBytes(16));
      await this.meta.put(FORMAT_KEY, format);
      await this.root.flushed;
    }
    this.formatIdentity = checkFormatRecord(this.path, format);
    if (this.currentRole === 'leader') {
      const now = this.now();
      const outcome = await this.updateNodeRecords((records) => claimWriterRole(records, this.identity_, { now, leaseMs: this.leaseMs, fence: false }));
      if (!outcome.granted) throw leaderActiveError(outcome.holder, this.path, now);
      await this.root.flushed;
      this.becomeLeader(outcome.term);
    } else if (this.currentRole === 'follower') {
      await this.writeFollowerLease([]);
    }
    this.lastLsn = this.lastStoredLsn();
    this.nextLsn = Math.max(this.nextLsn, this.lastLsn + 1);
    if (this.currentRole !== 'inspector') {
      this.renewTimer = setInterval(() => this.renewLease(), Math.floor(this.leaseMs / RENEWALS_PER_LEASE));
      this.renewTimer.unref();
    }
  }

  get identity(): string {
    return this.formatIdentity;
  }

  get role(): PageLogRole {
    return this.currentRole;
  }

  get nodeId(): string {
    return this.identity_.nodeId;
  }

  get term(): number {
    return this.currentTerm;
  }

  get fencedBy(): TermRecord | undefined {
    // A leader looks at the newest term when asked (one read), not only at its next write or renewal.
    if (this.currentRole === 'leader' && this.fenced === undefined && this.closing === undefined) {
      const newest = this.newestTermRecord();
      if (newest !== undefined && newest.term > this.currentTerm) this.markFenced(this.roleEpoch, newest);
    }
    return this.fenced?.by;
  }

  // ---- Node records (NodeRecordStore) and roles ----

  now(): number {
    return Date.now();
  }

  readNodeRecords(): NodeRecords {
    const terms: TermRecord[] = [];
    for (const { value } of this.meta.getRange({ start: TERM_KEY_PREFIX, end: prefixEndKey(TERM_KEY_PREFIX) })) terms.push(decodeTermRecord(asBuffer(value)));
    return { terms, leases: this.leaseRecords() };
  }

  nodeRecords(): NodeRecords {
    this.checkOpen();
    return this.readNodeRecords();
  }

  updateNodeRecords<T>(update: (records: NodeRecordUpdate) => T): Promise<T> {
    // The callback runs inside LMDB's write transaction, which holds LMDB's writer lock: its
    // reads see every process's commits, and no other writer runs until it commits.
    return this.transact(() => update(this.recordUpdate()));
  }

  /**
   * Runs `work` in an LMDB write transaction. `work` must decide before it writes: a callback
   * that throws after writing still commits what it wrote (lmdb-js batches callbacks in one
   * transaction). A failed commit is remembered like a failed put, and reported as `PAGE_LOG`.
   */
  private async transact<T>(work: () => T): Promise<T> {
    const committed = this.root.transaction(work);
    this.queueCommitHook();
    try {
      return await committed;
    } catch (error) {
      if (error instanceof PageLogError) throw error;
      if ((error as { commitError?: unknown } | undefined)?.commitError === undefined) throw error;
      this.writeFailure ??= error;
      absorbCommitError(error);
      throw new PageLogError(`a commit to the page log at ${this.path} failed`, { file: this.path, cause: error }, ErrorCode.PageLog);
    }
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

  private recordUpdate(): NodeRecordUpdate {
    return {
      newestTerm: () => this.newestTermRecord(),
      lease: (nodeId) => {
        const value = this.meta.getBinary(encodeLeaseKey(nodeId));
        return value === undefined ? undefined : decodeLeaseRecord(asBuffer(value));
      },
      leases: () => this.leaseRecords(),
      putTerm: (record) => void this.meta.put(encodeTermKey(record.term), encodeTermRecord(record)),
      putLease: (record) => void this.meta.put(encodeLeaseKey(record.nodeId), encodeLeaseRecord(record)),
      removeLease: (nodeId) => void this.meta.remove(encodeLeaseKey(nodeId)),
      newestCompletionLsn: () => this.newestCompletionLsn(),
      lastLsn: () => this.lastStoredLsn(),
    };
  }

  private newestTermRecord(): TermRecord | undefined {
    for (const { value } of this.meta.getRange({ start: prefixEndKey(TERM_KEY_PREFIX), end: TERM_KEY_PREFIX, reverse: true, limit: 1 })) {
      return decodeTermRecord(asBuffer(value));
    }
    return undefined;
  }

  private leaseRecords(): ReturnType<typeof decodeLeaseRecord>[] {
    const leases = [];
    for (const { value } of this.meta.getRange({ start: LEASE_KEY_PREFIX, end: prefixEndKey(LEASE_KEY_PREFIX) })) leases.push(decodeLeaseRecord(asBuffer(value)));
    return leases;
  }

  private becomeLeader(term: TermRecord): void {
    this.currentRole = 'leader';
    this.currentTerm = term.term;
    this.fenceKey = encodeTermKey(term.term + 1);
    this.fenced = undefined;
    this.roleEpoch += 1;
    this.heldCheckpoints = [];
    this.nextLsn = Math.max(this.nextLsn, term.firstLsn);
  }

  /** Records that a newer term fenced this leader (a refused write, or seen at a lease renewal). */
  private markFenced(epoch: number, by?: TermRecord): void {
    if (epoch !== this.roleEpoch || this.currentRole !== 'leader') return;
    if (this.fenced !== undefined && this.fenced.by !== undefined) return;
    let newest = by;
    try {
      newest ??= this.newestTermRecord();
    } catch {
      newest = undefined;
    }
    this.fenced = { by: newest !== undefined && newest.term > this.currentTerm ? newest : undefined };
  }

  private async writeFollowerLease(checkpoints: readonly number[]): Promise<void> {
    const now = this.now();
    await this.updateNodeRecords((records) => renewFollowerLease(records, this.identity_, checkpoints, { now, leaseMs: this.leaseMs }));
    await this.root.flushed;
  }

  /** The periodic renewal: a leader's lease (or learning it was fenced), a follower's held checkpoints. */
  private renewLease(): void {
    if (this.renewalPauses > 0 || this.renewing !== undefined || this.closing !== undefined || this.writeFailure !== undefined) return;
    const epoch = this.roleEpoch;
    const now = this.now();
    const work = this.currentRole === 'leader'
      ? this.fenced === undefined
        ? this.updateNodeRecords((records) => renewLeaderLease(records, this.identity_, this.currentTerm, { now, leaseMs: this.leaseMs })).then((by) => {
          if (by !== undefined) this.markFenced(epoch, by);
        })
        : Promise.resolve()
      : this.updateNodeRecords((records) => renewFollowerLease(records, this.identity_, this.heldCheckpoints, { now, leaseMs: this.leaseMs }));
    // A renewal that fails (a full disk) is tried again at the next tick; the lease may lapse.
    this.renewing = work.then(() => undefined, () => undefined).finally(() => {
      this.renewing = undefined;
    });
  }

  async holdCheckpoints(lsns: readonly number[]): Promise<void> {
    this.checkOpen();
    if (this.currentRole === 'inspector') throw this.readOnlyError();
    if (this.currentRole === 'leader') {
      throw new PageLogError('a leader holds no lease on checkpoints: its prune keeps its own readers\' checkpoints (alsoKeep)', { file: this.path }, ErrorCode.Busy);
    }
    for (const lsn of lsns) checkLsn('lsn', lsn, {});
    // Set first: a renewal from now on writes this list, never the one it replaces.
    this.heldCheckpoints = [...lsns];
    await this.writeFollowerLease(this.heldCheckpoints);
  }

  async takeWriterRole(): Promise<TermRecord> {
    this.checkOpen();
    if (this.currentRole === 'inspector') throw this.readOnlyError();
    if (this.currentRole === 'leader') throw new PageLogError(`this node already leads the page log (term ${this.currentTerm})`, { file: this.path }, ErrorCode.Busy);
    const now = this.now();
    const outcome = await this.updateNodeRecords((records) => claimWriterRole(records, this.identity_, { now, leaseMs: this.leaseMs, fence: true }));
    if (!outcome.granted) throw leaderActiveError(outcome.holder, this.path, now);
    await this.root.flushed;
    // From the new term's record on, the old leader's writes are refused: everything it stored
    // is below `firstLsn`, where this node's LSNs start.
    this.becomeLeader(outcome.term);
    this.lastLsn = Math.max(this.lastLsn, outcome.term.firstLsn - 1);
    return outcome.term;
  }

  async releaseWriterRole(): Promise<void> {
    this.checkOpen();
    if (this.currentRole !== 'leader') throw new PageLogError('this node does not lead the page log', { file: this.path }, ErrorCode.Busy);
    await this.queueTail;
    if (this.fenced === undefined) {
      await this.waitForDurability();
      const term = this.currentTerm;
      await this.updateNodeRecords((records) => releaseLease(records, this.identity_.nodeId, 'leader', term));
    }
    // A fenced leader's queued records were refused by the store: none of them may be served.
    this.pending = new PendingWrites();
    this.lastBatch = undefined;
    this.currentRole = 'follower';
    this.currentTerm = 0;
    this.fenceKey = undefined;
    this.fenced = undefined;
    this.checkpointState = 'idle';
    this.roleEpoch += 1;
    await this.writeFollowerLease([]);
    this.heldCheckpoints = [];
  }

  pauseLeaseRenewal(): () => void {
    this.renewalPauses += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.renewalPauses -= 1;
    };
  }

  private readOnlyError(): PageLogError {
    return new PageLogError(`the page log at ${this.path} is open read-only`, { file: this.path }, ErrorCode.ReadOnly);
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
    const body = encodeCompletionRecord({ ...args, term: this.currentTerm });
    // Taken now, so that it is above every put made before this call and below every later one.
    const lsn = this.allocateLsn();
    this.checkpointState = 'completing';
    const fenceKey = this.fenceKey!;
    const epoch = this.roleEpoch;
    return this.serialize(async () => {
      try {
        await this.waitForDurability();
        const key = encodeLsnKey(lsn);
        const entry = encodeLogEntry({ lsn, kind: RecordKind.Completion, tableId: 0, pageId: 0, backlinkLsn: 0, baseLsn: 0, flags: 0, size: body.length, imageChecksum: 0 });
        // Written only while no newer term exists: a fenced leader's checkpoint never completes.
        const written = this.meta.ifNoExists(fenceKey, () => {
          this.log.put(key, entry);
          this.checkpoints.put(key, body);
        });
        this.trackCommit(written, lsn, epoch);
        if (!(await written)) {
          this.markFenced(epoch);
          throw fencedError(this.currentTerm, this.fenced?.by, this.path);
        }
        await this.waitForDurability();
        this.checkpointState = 'idle';
        return lsn;
      } catch (error) {
        // The checkpoint did not complete: it stays begun, for a retry or an abandon.
        this.checkpointState = 'begun';
        if (error instanceof PageLogError && error.code === ErrorCode.Fenced) throw error;
        this.writeFailure ??= error;
        throw new PageLogError('the checkpoint completion record was not written', { file: this.path, lsn, cause: error }, ErrorCode.PageLog);
      }
    });
  }

  getCompleteCheckpoint(lsn?: number): CompletionRecord | undefined {
    this.checkOpen();
    this.seeOtherWriters();
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

  listCompleteCheckpoints(after?: number): CompletionRecord[] {
    this.checkOpen();
    this.seeOtherWriters();
    if (after !== undefined) checkLsn('after', after, {});
    const result: CompletionRecord[] = [];
    const range = after === undefined ? {} : { start: encodeLsnKey(after + 1) };
    for (const { key, value } of this.checkpoints.getRange(range)) result.push(this.toCompletionRecord(decodeLsnKey(key), value));
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
    // Another node writes a log this process only reads.
    if (this.currentRole === 'leader') return this.lastLsn;
    this.seeOtherWriters();
    return this.lastStoredLsn();
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
    return { tables: tables.size, pages, records, bytes, lastLsn: this.getLastLsn(), checkpoints };
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
      // Followers' checkpoints: every live lease's. One written from here on is checked again
      // by the transaction that removes completion records (`removeRecords`).
      const pinned = new Set([...alsoKeep, ...leasedCheckpoints(this.leaseRecords(), this.now())]);
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
      const removed = await this.removeRecords(removable, { keepLeased: true });
      return removed ? removable.length : 0;
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
    // A lease renewal under way lands before the caller (a backup fence) relies on the file.
    await this.renewing;
    if (this.currentRole === 'leader') await this.waitForDurability();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.renewTimer !== undefined) clearInterval(this.renewTimer);
      await this.queueTail;
      await this.renewing;
      try {
        // After a failed commit nothing queued will become durable, and waiting could wait on
        // a commit lmdb-js never settles.
        if (this.currentRole === 'leader' && this.writeFailure === undefined && this.fenced === undefined) await this.waitForDurability();
        await this.releaseOwnLease();
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

  /** A clean close ends this node's lease: its role or its held checkpoints go with it. */
  private async releaseOwnLease(): Promise<void> {
    if (this.currentRole === 'inspector' || this.writeFailure !== undefined || this.fenced !== undefined) return;
    const { nodeId } = this.identity_;
    const role = this.currentRole;
    const term = this.currentTerm;
    try {
      await this.updateNodeRecords((records) => releaseLease(records, nodeId, role, term));
      await this.root.flushed;
    } catch {
      // The lease then lapses at its expiry.
    }
  }

  private checkOpen(): void {
    if (this.closing !== undefined) {
      throw new PageLogError(`the page log at ${this.path} is closed`, { file: this.path }, ErrorCode.Closed);
    }
  }

  private checkWritable(): void {
    this.checkOpen();
    if (this.currentRole === 'inspector') throw this.readOnlyError();
    if (this.currentRole === 'follower') {
      throw new PageLogError(`this node follows the page log at ${this.path}: only the leader writes it`, { file: this.path }, ErrorCode.NotLeader);
    }
    if (this.fenced !== undefined) throw fencedError(this.currentTerm, this.fenced.by, this.path);
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
    // stored without its entry. Both land together, and only while no newer term exists (the
    // store checks it in the transaction that would write them): a fenced leader stores nothing.
    const committed = this.meta.ifNoExists(this.fenceKey!, () => {
      this.log.put(encodeLsnKey(entry.lsn), encodeLogEntry(entry));
      this.pages.put(encodePageKey(entry.tableId, entry.pageId, entry.lsn), image);
    });
    this.pending.add({ entry, image });
    this.trackCommit(committed, entry.lsn, this.roleEpoch);
  }

  /**
   * Each conditional write (a record, or a completion) gets its own promise, settled when the
   * transaction holding it commits: true when written, false when a newer term refused it.
   * Transactions commit in order, so a written record's settling releases every queued record
   * up to its LSN. A refused one releases nothing: the fenced leader keeps serving its own
   * records until it steps down.
   */
  private trackCommit(promise: Promise<boolean>, lsn: number, epoch: number): void {
    const next: CommitBatch = { promise, lastLsn: lsn };
    this.lastBatch = next;
    this.queueCommitHook();
    promise.then(
      (written) => {
        if (epoch !== this.roleEpoch) return;
        if (written === false) this.markFenced(epoch);
        else this.pending.releaseThrough(next.lastLsn);
      },
      (error: unknown) => {
        if (epoch === this.roleEpoch) this.writeFailure ??= error;
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
    if (this.fenced !== undefined) throw fencedError(this.currentTerm, this.fenced.by, this.path);
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

  /**
   * A node that does not write reads what another node committed: LMDB reuses one read
   * snapshot until it is reset, and a commit in another process (or another environment of
   * this one) does not reset it.
   */
  private seeOtherWriters(): void {
    if (this.currentRole !== 'leader') this.root.resetReadTxn();
  }

  private lastStoredLsn(): number {
    for (const key of this.log.getKeys({ reverse: true, limit: 1 })) return decodeLsnKey(key);
    return 0;
  }

  private newestCompletionLsn(): number {
    for (const key of this.checkpoints.getKeys({ reverse: true, limit: 1 })) return decodeLsnKey(key);
    return 0;
  }

  /**
   * Removes records (entry, image or completion body) in bounded transactions, then syncs.
   * Each transaction first checks that no newer term has fenced this leader; with
   * `keepLeased` (a prune), the first also checks that no live lease names a completion record
   * it removes (a lease written after the prune read them). Resolves false when the lease
   * check stopped it before anything was removed.
   */
  private async removeRecords(removed: readonly StoredRecordKey[], options: { keepLeased?: boolean } = {}): Promise<boolean> {
    if (removed.length === 0) return true;
    // Completion records go first, in a transaction of their own: a crash part-way must never
    // leave one vouching for pages already removed.
    const completions = removed.filter((r) => r.kind === RecordKind.Completion);
    const pages = removed.filter((r) => r.kind !== RecordKind.Completion);
    const slices: StoredRecordKey[][] = completions.length > 0 ? [completions] : [];
    for (let start = 0; start < pages.length; start += REMOVALS_PER_TRANSACTION) slices.push(pages.slice(start, start + REMOVALS_PER_TRANSACTION));
    const fenceKey = this.fenceKey!;
    const epoch = this.roleEpoch;
    for (const [index, slice] of slices.entries()) {
      // Decided before anything is written: an LMDB transaction callback that throws after
      // writing would still commit what it wrote.
      const outcome = await this.transact((): 'fenced' | 'leased' | 'removed' => {
        if (this.meta.getBinary(fenceKey) !== undefined) return 'fenced';
        if (index === 0 && options.keepLeased === true && completions.length > 0) {
          const leased = new Set(leasedCheckpoints(this.leaseRecords(), this.now()));
          if (completions.some((record) => leased.has(record.lsn))) return 'leased';
        }
        for (const record of slice) {
          const key = encodeLsnKey(record.lsn);
          this.log.remove(key);
          if (record.kind === RecordKind.Completion) this.checkpoints.remove(key);
          else this.pages.remove(encodePageKey(record.tableId, record.pageId, record.lsn));
        }
        return 'removed';
      });
      if (outcome === 'fenced') {
        this.markFenced(epoch);
        throw fencedError(this.currentTerm, this.fenced?.by, this.path);
      }
      if (outcome === 'leased') return false;
    }
    await this.waitForDurability();
    return true;
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
