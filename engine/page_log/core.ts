/**
 * The page log's core: every rule of the PALI over any store (`store.ts`).
 *
 * `put` checks its arguments and the chain, takes an LSN, and queues the record; the records
 * of one event-loop turn go to the store as one atomic batch, and until the store has it they
 * are served from `PendingWrites`. `completeCheckpoint` waits until every batch is durable,
 * and only then asks the store for the completion record (whose transaction checks the fence
 * and that the newest page it vouches for is stored): a completion record is never stored
 * without its pages. Terms, leases and fencing follow `nodes.ts`. See README.md.
 */
import { randomBytes } from '../random.js';
import { yieldEvery } from '../time_slices.js';
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
  renewLeaderLease, RENEWALS_PER_LEASE, type NodeIdentity, type NodeRecords, type TermRecord,
} from './nodes.js';
import { PendingWrites } from './pending_writes.js';
import { unreachableRecords, type ChainRecord } from './reachability.js';
import {
  MAX_U32,
  RecordKind,
  checkFormatRecord,
  decodeCompletionRecord,
  encodeCompletionRecord,
  encodeFormatRecord,
  type LogEntryFields,
  type RecordKindValue,
} from './record_format.js';
import type { PageLogStore, StoreRecord, StoredPageRecord, StoredRecordKey, FencedOutcome } from './store.js';

/** Pages read ahead and not yet read, at most: the oldest are dropped first. */
const MAX_PREFETCHED = 64;
/** Longest run of a prune's scan without yielding to other work. */
const PRUNE_SLICE_MILLIS = 10;
/** `get` and `listPages` without an LSN read as of this one. */
const LATEST = Number.MAX_SAFE_INTEGER;
const MAX_U64 = (1n << 64n) - 1n;
const KNOWN_PUT_FLAGS = PutFlags.Delta;
/** Records removed per store transaction by `abandonCheckpoint` and `prune`, to bound its size. */
export const REMOVALS_PER_TRANSACTION = 10_000;

type CheckpointState = 'idle' | 'begun' | 'completing';

/** A record of a page's chain: its log entry, and where its image comes from. */
interface ChainLink {
  readonly entry: LogEntryFields;
  /** The queued image (never handed out), or a read of the stored one. */
  readonly image: () => Buffer | undefined;
}

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

/** The options of `openPageLog` after checking, as the core and the store need them. */
export interface CoreSettings {
  role: PageLogRole;
  leaseMs: number;
  create: boolean;
  readOnly: boolean;
  noSync: boolean;
  identity: NodeIdentity;
}

/** Checks the options of `openPageLog` before any store is touched. */
export function coreSettings(options: PageLogOptions): CoreSettings {
  const readOnly = options.readOnly ?? false;
  const role: PageLogRole = readOnly ? 'inspector' : options.role ?? 'leader';
  if (role !== 'leader' && role !== 'follower' && role !== 'inspector') throw invalidArgument(`role must be "leader" or "follower", not ${JSON.stringify(options.role)}`);
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  if (!Number.isSafeInteger(leaseMs) || leaseMs < RENEWALS_PER_LEASE * 10) throw invalidArgument(`leaseMs must be an integer of at least ${RENEWALS_PER_LEASE * 10}, got ${String(options.leaseMs)}`);
  return {
    role,
    leaseMs,
    // Only a leader creates a log: a follower reads one a leader made.
    create: (options.create ?? true) && role === 'leader',
    readOnly,
    noSync: options.noSync ?? false,
    identity: { nodeId: options.nodeId ?? DEFAULT_NODE_ID, pid: process.pid, address: options.address ?? '' },
  };
}

/**
 * Opens the page log kept in `store`: checks (or, for a new log, writes) its format record,
 * claims the writer role (a leader) or records a lease (a follower). Closes the store when
 * that fails.
 */
export async function openPageLogOnStore(store: PageLogStore, settings: CoreSettings): Promise<PageLog> {
  const log = new PageLogCore(store, settings);
  try {
    await log.initialize(settings.create);
    return log;
  } catch (error) {
    await store.close(false).catch(() => undefined);
    throw error;
  }
}

/** The pages of one table of a `PageLogCore`. */
class TableHandle implements PageLogHandle {
  constructor(
    private readonly log: PageLogCore,
    readonly tableId: number,
    readsAhead: boolean,
  ) {
    // Only a store that reads ahead offers it: the B-tree then names no pages for nothing.
    if (readsAhead) this.prefetch = (pages) => log.prefetchPages(tableId, pages);
  }

  readonly prefetch?: (pages: readonly { pageId: number; lsn: number }[]) => void;

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

/** `PageLog` over a `PageLogStore`. Only `openPageLogOnStore` creates it. */
class PageLogCore implements PageLog {
  /** From the format record; set by `initialize`. */
  private formatIdentity = '';
  private pending = new PendingWrites();
  /** Records put in this event-loop turn, handed to the store together at its end. */
  private openBatch: StoreRecord[] = [];
  private nextLsn = 1;
  /** The last LSN of the block the store gave this leader; beyond it, the next block is taken. */
  private reservedThrough = 0;
  private lastLsn = 0;
  /** The newest page or discard record put since the last completion: the next completion vouches for it. */
  private newestRecordLsn = 0;
  /** The last write handed to the store: writes land in call order, so waiting for it waits for all. */
  private lastWrite: Promise<FencedOutcome> | undefined;
  /** Set when a batch could not reach the store: queued records from `since` on are sent again. */
  private unsent: { since: number; error: unknown } | undefined;
  private writeFailure: unknown;
  private checkpointState: CheckpointState = 'idle';
  /** Completions, abandons and prunes run one at a time, in call order. */
  private queueTail: Promise<unknown> = Promise.resolve();
  private closing: Promise<void> | undefined;
  private currentRole: PageLogRole;
  /** The leader's term (0 otherwise): the store refuses its writes once a newer term is recorded. */
  private currentTerm = 0;
  /** Set once a newer term fenced this leader; `fencedBy` is that term's record when it was read. */
  private fenced: { by: TermRecord | undefined } | undefined;
  /** Counts role changes: the commit handlers of an earlier role leave the current one alone. */
  private roleEpoch = 0;
  /** The completion records this follower's lease names. */
  private heldCheckpoints: number[] = [];
  private renewTimer: NodeJS.Timeout | undefined;
  private renewalPauses = 0;
  private renewing: Promise<void> | undefined;
  private readonly leaseMs: number;
  private readonly identity_: NodeIdentity;
  /**
   * Records read ahead (`prefetchPages`), by table, page and LSN, until a read takes them.
   * A stored record never changes: one read ahead is the one a later read would fetch.
   */
  private readonly prefetched = new Map<string, StoredPageRecord>();

  constructor(
    private readonly store: PageLogStore,
    settings: CoreSettings,
  ) {
    this.currentRole = settings.role;
    this.leaseMs = settings.leaseMs;
    this.identity_ = settings.identity;
  }

  get path(): string {
    return this.store.location;
  }

  get storeKind(): string {
    return this.store.kind;
  }

  storageSize(): PageLogStorageSize | undefined {
    return this.store.storageSize?.();
  }

  async initialize(create: boolean): Promise<void> {
    let format = this.store.readFormat();
    if (format === undefined && create && this.store.lastLsn() === 0) {
      // A new log, or one whose creation was interrupted before anything else was written.
      format = await this.store.createFormat(encodeFormatRecord(randomBytes(16)));
    }
    this.formatIdentity = checkFormatRecord(this.path, format);
    if (this.currentRole === 'leader') {
      const now = this.store.now();
      const outcome = await this.store.updateNodeRecords((records) => claimWriterRole(records, this.identity_, { now, leaseMs: this.leaseMs, fence: false }));
      if (!outcome.granted) throw leaderActiveError(outcome.holder, this.path, now);
      this.becomeLeader(outcome.term);
    } else if (this.currentRole === 'follower') {
      await this.writeFollowerLease([]);
    }
    this.lastLsn = Math.max(this.lastLsn, this.store.lastLsn());
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
      const newest = this.store.newestTerm();
      if (newest !== undefined && newest.term > this.currentTerm) this.markFenced(this.roleEpoch, newest);
    }
    return this.fenced?.by;
  }

  // ---- Roles ----

  nodeRecords(): NodeRecords {
    this.checkOpen();
    return this.store.readNodeRecords();
  }

  private becomeLeader(term: TermRecord): void {
    this.currentRole = 'leader';
    this.currentTerm = term.term;
    this.fenced = undefined;
    this.roleEpoch += 1;
    this.heldCheckpoints = [];
    this.nextLsn = Math.max(this.nextLsn, term.firstLsn);
    this.reservedThrough = 0;
  }

  /** Records that a newer term fenced this leader (a refused write, or seen at a lease renewal). */
  private markFenced(epoch: number, by?: TermRecord): void {
    if (epoch !== this.roleEpoch || this.currentRole !== 'leader') return;
    if (this.fenced !== undefined && this.fenced.by !== undefined) return;
    let newest = by;
    try {
      newest ??= this.store.newestTerm();
    } catch {
      newest = undefined;
    }
    this.fenced = { by: newest !== undefined && newest.term > this.currentTerm ? newest : undefined };
  }

  private async writeFollowerLease(checkpoints: readonly number[]): Promise<void> {
    const now = this.store.now();
    await this.store.updateNodeRecords((records) => renewFollowerLease(records, this.identity_, checkpoints, { now, leaseMs: this.leaseMs }));
  }

  /** The periodic renewal: a leader's lease (or learning it was fenced), a follower's held checkpoints. */
  private renewLease(): void {
    if (this.renewalPauses > 0 || this.renewing !== undefined || this.closing !== undefined || this.writeFailure !== undefined) return;
    const epoch = this.roleEpoch;
    let work: Promise<void>;
    try {
      const now = this.store.now();
      work = this.currentRole === 'leader'
        ? this.fenced === undefined
          ? this.store.updateNodeRecords((records) => renewLeaderLease(records, this.identity_, this.currentTerm, { now, leaseMs: this.leaseMs })).then((by) => {
            if (by !== undefined) this.markFenced(epoch, by);
          })
          : Promise.resolve()
        : this.store.updateNodeRecords((records) => renewFollowerLease(records, this.identity_, this.heldCheckpoints, { now, leaseMs: this.leaseMs }));
    } catch (error) {
      work = Promise.reject(error);
    }
    // A renewal that fails (a full disk, a store out of reach) is tried again at the next tick; the lease may lapse.
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
    const now = this.store.now();
    const outcome = await this.store.updateNodeRecords((records) => claimWriterRole(records, this.identity_, { now, leaseMs: this.leaseMs, fence: true }));
    if (!outcome.granted) throw leaderActiveError(outcome.holder, this.path, now);
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
      await this.store.updateNodeRecords((records) => releaseLease(records, this.identity_.nodeId, 'leader', term));
    }
    // A fenced leader's queued records were refused by the store: none of them may be served.
    this.pending = new PendingWrites();
    this.openBatch = [];
    this.lastWrite = undefined;
    this.unsent = undefined;
    this.currentRole = 'follower';
    this.currentTerm = 0;
    this.fenced = undefined;
    this.checkpointState = 'idle';
    this.newestRecordLsn = 0;
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

  // ---- Pages ----

  openHandle(tableId: number): PageLogHandle {
    this.checkOpen();
    checkTableId(tableId);
    return new TableHandle(this, tableId, this.store.pageRecordsAt !== undefined);
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

    // The store writes from the buffer it is given when the batch goes out: keep a private copy.
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
        backlinkLsn: chain[0]!.entry.lsn,
        baseLsn: chain[chain.length - 1]!.entry.lsn,
        flags: 0,
        size: 0,
        imageChecksum: 0,
      },
      Buffer.alloc(0),
    );
    return lsn;
  }

  prefetchPages(tableId: number, pages: readonly { pageId: number; lsn: number }[]): void {
    if (this.store.pageRecordsAt === undefined || this.closing !== undefined) return;
    const wanted = pages.filter(({ pageId, lsn }) => !this.prefetched.has(`${tableId}:${pageId}:${lsn}`) && this.pending.forPage(tableId, pageId).length === 0);
    if (wanted.length === 0) return;
    let records: StoredPageRecord[];
    try {
      records = this.store.pageRecordsAt(tableId, wanted);
    } catch {
      // A hint only: the reads fetch their pages themselves, and report what fails.
      return;
    }
    for (const record of records) {
      this.prefetched.set(`${tableId}:${record.entry.pageId}:${record.entry.lsn}`, record);
      if (this.prefetched.size > MAX_PREFETCHED) this.prefetched.delete(this.prefetched.keys().next().value!);
    }
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

  // ---- Checkpoints ----

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
    const vouchesThrough = this.newestRecordLsn;
    this.checkpointState = 'completing';
    const term = this.currentTerm;
    const epoch = this.roleEpoch;
    return this.serialize(async () => {
      try {
        await this.waitForDurability();
        const entry = { lsn, kind: RecordKind.Completion, tableId: 0, pageId: 0, backlinkLsn: 0, baseLsn: 0, flags: 0, size: body.length, imageChecksum: 0 };
        // Stored only while no newer term exists: a fenced leader's checkpoint never completes.
        const written = this.store.complete(entry, body, term, vouchesThrough);
        this.trackCommit(written, lsn, lsn, epoch, false);
        if ((await written) === 'fenced') {
          this.markFenced(epoch);
          throw fencedError(this.currentTerm, this.fenced?.by, this.path);
        }
        await this.waitForDurability();
        this.checkpointState = 'idle';
        // Records up to here are vouched for; one put after the call is vouched for by the next.
        if (this.newestRecordLsn < lsn) this.newestRecordLsn = 0;
        return lsn;
      } catch (error) {
        // The checkpoint did not complete: it stays begun, for a retry or an abandon.
        this.checkpointState = 'begun';
        if (error instanceof PageLogError && error.code === ErrorCode.Fenced) throw error;
        // The store's own error already names it: the store out of reach is reported as it is.
        if (isUnavailable(error)) throw error;
        this.writeFailure ??= error;
        throw new PageLogError(`the checkpoint completion record was not written: ${errorText(error)}`, { lsn, cause: error }, ErrorCode.PageLog);
      }
    });
  }

  getCompleteCheckpoint(lsn?: number): CompletionRecord | undefined {
    this.checkOpen();
    this.seeOtherWriters();
    if (lsn === undefined) {
      const newest = this.store.newestCompletion();
      return newest === undefined ? undefined : this.toCompletionRecord(newest.lsn, newest.body);
    }
    checkLsn('lsn', lsn, {});
    const body = this.store.completion(lsn);
    return body === undefined ? undefined : this.toCompletionRecord(lsn, body);
  }

  listCompleteCheckpoints(after?: number): CompletionRecord[] {
    this.checkOpen();
    this.seeOtherWriters();
    if (after !== undefined) checkLsn('after', after, {});
    const result: CompletionRecord[] = [];
    for (const { lsn, body } of this.store.completions(after)) result.push(this.toCompletionRecord(lsn, body));
    return result;
  }

  async abandonCheckpoint(after?: number): Promise<number> {
    this.checkWritable();
    if (after !== undefined) checkLsn('after', after, {});
    const bound = this.nextLsn - 1;
    return this.serialize(async () => {
      // Queued puts must be stored before the removal below can see them.
      await this.waitForDurability();
      const keep = after ?? this.store.newestCompletion()?.lsn ?? 0;
      const abandoned: StoredRecordKey[] = bound > keep ? [...this.store.logEntries(keep + 1, bound)] : [];
      await this.removeRecords(abandoned, false);
      this.checkpointState = 'idle';
      this.newestRecordLsn = 0;
      // LSNs handed out after the call belong to records that stay; otherwise the log now ends lower.
      if (this.nextLsn - 1 === bound) this.lastLsn = this.store.lastLsn();
      return abandoned.length;
    });
  }

  getLastLsn(): number {
    this.checkOpen();
    // Another node writes a log this process only reads.
    if (this.currentRole === 'leader') return this.lastLsn;
    this.seeOtherWriters();
    return this.store.lastLsn();
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
      for (const { lsn } of this.store.completions()) completions.push(lsn);
      if (completions.length === 0) return 0;
      // Followers' checkpoints: every live lease's. One written from here on is checked again
      // by the transaction that removes completion records (the store's `keepLeased`).
      const pinned = new Set([...alsoKeep, ...leasedCheckpoints(this.store.readNodeRecords().leases, this.store.now())]);
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
      // The entries first, then the chains in slices that yield, so a large log does not stop
      // every other client. Records put meanwhile are newer than every kept checkpoint and
      // not in the list: they stay.
      const entries = [...this.store.pageEntries()];
      const pause = yieldEvery(PRUNE_SLICE_MILLIS);
      for (const entry of entries) {
        const pausing = pause();
        if (pausing !== undefined) await pausing;
        const { tableId, pageId, lsn } = entry;
        if (chainPage === undefined || chainPage.tableId !== tableId || chainPage.pageId !== pageId) {
          collect();
          chain = [];
          chainPage = { tableId, pageId };
        }
        chain.push({ lsn, resetsChain: !isDelta(entry), isDiscard: entry.kind === RecordKind.Discard });
      }
      collect();
      const removed = await this.removeRecords(removable, true);
      return removed ? removable.length : 0;
    });
  }

  async snapshot(directory: string): Promise<void> {
    if (this.store.snapshot === undefined) {
      throw new PageLogError(`a ${this.store.kind} page log is not copied with the home: back it up with its own tools`, { file: this.path }, ErrorCode.InvalidArgument);
    }
    await this.flush();
    await this.store.snapshot(directory);
  }

  async flush(): Promise<void> {
    this.checkOpen();
    // A lease renewal under way lands before the caller (a backup fence) relies on the store.
    await this.renewing;
    if (this.currentRole === 'leader') await this.waitForDurability();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.renewTimer !== undefined) clearInterval(this.renewTimer);
      await this.queueTail;
      await this.renewing;
      try {
        // After a failed write nothing queued will become durable, and waiting could wait on
        // a write the store never settles.
        if (this.currentRole === 'leader' && this.writeFailure === undefined && this.fenced === undefined) await this.waitForDurability();
        await this.releaseOwnLease();
      } finally {
        await this.store.close(this.writeFailure !== undefined);
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
      await this.store.updateNodeRecords((records) => releaseLease(records, nodeId, role, term));
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
        `an earlier write to the page log at ${this.path} failed; reopen it`,
        { file: this.path, cause: this.writeFailure },
        ErrorCode.PageLog,
      );
    }
  }

  private allocateLsn(): number {
    if (this.nextLsn > this.reservedThrough) {
      const block = this.store.reserveLsns(this.nextLsn - 1);
      this.nextLsn = block.first;
      this.reservedThrough = block.last;
    }
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

  /** Queues a page or discard record for this turn's batch, and serves it until the store has it. */
  private queueRecord(entry: LogEntryFields, image: Buffer): void {
    this.pending.add({ entry, image });
    this.newestRecordLsn = entry.lsn;
    if (this.openBatch.length === 0) setImmediate(() => this.sendBatch());
    this.openBatch.push({ entry, image });
  }

  /**
   * Hands this turn's records to the store as one batch. It lands whole, and only while no
   * newer term exists (the store checks it in the transaction that would write it): a fenced
   * leader stores nothing. While an earlier batch is unsent (its store was out of reach),
   * records wait in the queue for `resendUnsent`, so batches still land in LSN order.
   */
  private sendBatch(): void {
    const batch = this.openBatch;
    if (batch.length === 0) return;
    this.openBatch = [];
    if (this.unsent !== undefined) return;
    this.sendRecords(batch);
  }

  private sendRecords(batch: readonly StoreRecord[]): Promise<FencedOutcome> {
    let written: Promise<FencedOutcome>;
    try {
      written = this.store.append(batch, this.currentTerm);
    } catch (error) {
      written = Promise.reject(error);
    }
    this.trackCommit(written, batch[0]!.entry.lsn, batch[batch.length - 1]!.entry.lsn, this.roleEpoch);
    return written;
  }

  /**
   * Each write (a batch, or a completion) settles once the store has it: `written`, or
   * `fenced` when a newer term refused it. Writes land in call order, so a written batch
   * releases every queued record up to its newest LSN, unless an earlier batch is unsent. A
   * refused one releases nothing: the fenced leader keeps serving its own records until it
   * steps down. A batch the store could not take because it was out of reach (its records may
   * or may not be stored) stays queued from its first LSN on, to be sent again; any other
   * failure is remembered, and the log must be reopened.
   */
  private trackCommit(promise: Promise<FencedOutcome>, firstLsn: number, lastLsn: number, epoch: number, isBatch = true): void {
    this.lastWrite = promise;
    promise.then(
      (outcome) => {
        if (epoch !== this.roleEpoch) return;
        if (outcome === 'fenced') this.markFenced(epoch);
        else if (isBatch && (this.unsent === undefined || lastLsn < this.unsent.since)) this.pending.releaseThrough(lastLsn);
      },
      (error: unknown) => {
        if (epoch !== this.roleEpoch) return;
        if (!isUnavailable(error)) this.writeFailure ??= error;
        else if (isBatch && (this.unsent === undefined || firstLsn < this.unsent.since)) this.unsent = { since: firstLsn, error };
      },
    );
  }

  /** Sends again every queued record from the first unsent batch on (the store ignores one it already holds). */
  private async resendUnsent(): Promise<void> {
    const unsent = this.unsent;
    if (unsent === undefined) return;
    const records = this.pending.between(unsent.since, LATEST);
    this.openBatch = [];
    this.unsent = undefined;
    if (records.length === 0) return;
    await this.sendRecords(records);
  }

  /** Resolves when every record queued so far is stored and synced; rejects after a failed write. */
  private async waitForDurability(): Promise<void> {
    this.sendBatch();
    await this.settleLastWrite();
    if (this.unsent !== undefined) {
      await this.resendUnsent().catch(() => undefined);
      await this.settleLastWrite();
      if (this.unsent !== undefined) {
        throw new PageLogError(`the page log's store is out of reach, so the checkpoint's pages are not all stored: ${errorText(this.unsent.error)}`, { cause: this.unsent.error }, ErrorCode.StoreUnavailable);
      }
    }
    try {
      await this.store.sync();
    } catch (error) {
      if (!isUnavailable(error)) this.writeFailure ??= error;
      else throw error;
    }
    if (this.writeFailure !== undefined) {
      throw new PageLogError(`a write to the page log at ${this.path} failed: ${errorText(this.writeFailure)}`, { file: this.path, cause: this.writeFailure }, ErrorCode.PageLog);
    }
    if (this.fenced !== undefined) throw fencedError(this.currentTerm, this.fenced.by, this.path);
  }

  /** Waits for the last write handed to the store; its failure is recorded by `trackCommit`. */
  private async settleLastWrite(): Promise<void> {
    try {
      if (this.lastWrite !== undefined) await this.lastWrite;
    } catch {
      // Recorded by trackCommit's handler, which ran first.
    }
    if (this.writeFailure !== undefined) {
      throw new PageLogError(`a write to the page log at ${this.path} failed: ${errorText(this.writeFailure)}`, { file: this.path, cause: this.writeFailure }, ErrorCode.PageLog);
    }
  }

  /**
   * The records `get(pageId, atLsn)` returns, newest first: deltas, then their base. [] when
   * the page has no record at or below `atLsn` or its newest one is a discard.
   */
  private readChain(tableId: number, pageId: number, atLsn: number): ChainLink[] {
    const chain: ChainLink[] = [];
    /** Adds one record, newest first; true once the chain is complete. */
    const take = (link: ChainLink): boolean => {
      const { entry } = link;
      if (entry.tableId !== tableId || entry.pageId !== pageId) {
        throw corruption(`the log entry belongs to table id ${entry.tableId} page ${entry.pageId}`, { tableId, pageId, lsn: entry.lsn });
      }
      if (entry.kind === RecordKind.Discard) {
        if (chain.length > 0) throw corruption('a delta follows a discard', { tableId, pageId, lsn: chain[chain.length - 1]!.entry.lsn });
        return true;
      }
      if (entry.kind !== RecordKind.Page) throw corruption('a completion record is filed as a page record', { tableId, pageId, lsn: entry.lsn });
      chain.push(link);
      return !isDelta(entry);
    };

    const queued = this.pending.forPage(tableId, pageId);
    for (let index = queued.length - 1; index >= 0; index -= 1) {
      const record = queued[index]!;
      if (record.entry.lsn <= atLsn && take({ entry: record.entry, image: () => record.image })) return chain;
    }
    // Stored records of the page are all older than its queued ones (batches land in LSN order).
    const scanFrom = queued.length > 0 ? Math.min(atLsn, queued[0]!.entry.lsn - 1) : atLsn;
    // A base read ahead at exactly this LSN is the whole chain a read at it returns.
    const ahead = this.prefetched.size === 0 ? undefined : this.prefetched.get(`${tableId}:${pageId}:${scanFrom}`);
    if (ahead !== undefined) {
      this.prefetched.delete(`${tableId}:${pageId}:${scanFrom}`);
      if (ahead.entry.kind === RecordKind.Page && !isDelta(ahead.entry) && take({ entry: ahead.entry, image: () => ahead.image() })) return chain;
    }
    if (scanFrom >= 1) {
      for (const stored of this.store.pageRecords(tableId, pageId, scanFrom)) {
        if (take({ entry: stored.entry, image: () => stored.image() })) return chain;
      }
    }
    if (chain.length > 0) throw corruption('the page has deltas but no base image', { tableId, pageId, lsn: chain[chain.length - 1]!.entry.lsn });
    return chain;
  }

  private checkDeltaPlacement(tableId: number, pageId: number, baseLsn: number, backlinkLsn: number): void {
    const chain = this.readChain(tableId, pageId, LATEST);
    if (chain.length === 0) {
      throw new PageLogError('a delta needs a base image, and the page has none (never written, or discarded)', { tableId, pageId }, ErrorCode.NotFound);
    }
    const base = chain[chain.length - 1]!.entry;
    const newest = chain[0]!.entry;
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

  /** A copy of a page record's image, with its size and checksum checked against its log entry. */
  private readRecord(link: ChainLink): PageRecord {
    const { entry } = link;
    const { lsn, tableId, pageId } = entry;
    const bytes = link.image();
    if (bytes === undefined) throw corruption('the page image is missing', { tableId, pageId, lsn });
    const image = Buffer.from(bytes);
    if (image.length !== entry.size) {
      throw corruption(`the page image is ${image.length} bytes, its log entry says ${entry.size}`, { tableId, pageId, lsn });
    }
    const actual = checksum(image);
    if (actual !== entry.imageChecksum) {
      throw new PageLogError('page image checksum mismatch', { tableId, pageId, lsn, expected: entry.imageChecksum, actual }, ErrorCode.ChecksumMismatch);
    }
    return { lsn, tableId, pageId, backlinkLsn: entry.backlinkLsn, baseLsn: entry.baseLsn, flags: entry.flags, image };
  }

  /**
   * For every page of `tableId` (every table when undefined) with a record at or below `atLsn`,
   * its newest such record. Unordered.
   */
  private *newestRecordPerPage(tableId: number | undefined, atLsn: number): Generator<PageSummary> {
    // Queued records are newer than the stored records of the same page, so they win.
    const queued = new Map<string, PageSummary>();
    for (const { entry } of this.pending.between(1, atLsn)) {
      if (entry.kind === RecordKind.Completion || (tableId !== undefined && entry.tableId !== tableId)) continue;
      queued.set(`${entry.tableId}:${entry.pageId}`, { tableId: entry.tableId, pageId: entry.pageId, lsn: entry.lsn, kind: entry.kind });
    }
    const summarize = (page: PageSummary): PageSummary => {
      const key = `${page.tableId}:${page.pageId}`;
      const newer = queued.get(key);
      if (newer === undefined) return page;
      queued.delete(key);
      return newer;
    };
    let current: PageSummary | undefined;
    for (const entry of this.store.pageEntries(tableId)) {
      if (entry.lsn > atLsn) continue;
      if (current !== undefined && (current.tableId !== entry.tableId || current.pageId !== entry.pageId)) yield summarize(current);
      current = { tableId: entry.tableId, pageId: entry.pageId, lsn: entry.lsn, kind: entry.kind };
    }
    if (current !== undefined) yield summarize(current);
    yield* queued.values();
  }

  private *iterateRecords(from: number, to: number): Generator<LogEntry> {
    const queued = this.pending.between(from, to);
    let next = 0;
    let lastYielded = 0;
    for (const entry of this.store.logEntries(from, to)) {
      // A record can be both stored and still queued for a moment; list it once.
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

  private toCompletionRecord(lsn: number, body: Buffer): CompletionRecord {
    return { lsn, ...decodeCompletionRecord(lsn, body) };
  }

  /** A node that does not write reads what another node stored since its last read. */
  private seeOtherWriters(): void {
    if (this.currentRole !== 'leader') this.store.refresh();
  }

  /**
   * Removes records in bounded store transactions, then syncs. Each transaction is fenced;
   * with `keepLeased` (a prune), the first also checks that no live lease names a completion
   * record it removes (a lease written after the prune read them). Resolves false when the
   * lease check stopped it before anything was removed.
   */
  private async removeRecords(removed: readonly StoredRecordKey[], keepLeased: boolean): Promise<boolean> {
    if (removed.length === 0) return true;
    // Completion records go first, in a transaction of their own: a crash part-way must never
    // leave one vouching for pages already removed.
    const completions = removed.filter((r) => r.kind === RecordKind.Completion);
    const pages = removed.filter((r) => r.kind !== RecordKind.Completion);
    const slices: StoredRecordKey[][] = completions.length > 0 ? [completions] : [];
    for (let start = 0; start < pages.length; start += REMOVALS_PER_TRANSACTION) slices.push(pages.slice(start, start + REMOVALS_PER_TRANSACTION));
    const epoch = this.roleEpoch;
    for (const [index, slice] of slices.entries()) {
      let outcome: 'removed' | 'fenced' | 'leased';
      try {
        outcome = await this.store.remove(slice, this.currentTerm, { keepLeased: keepLeased && index === 0 && completions.length > 0 });
      } catch (error) {
        if (!isUnavailable(error)) this.writeFailure ??= error;
        throw error;
      }
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

/** A store out of reach fails this write, not every later one: the next checkpoint tries again. */
function isUnavailable(error: unknown): boolean {
  return error instanceof PageLogError && error.code === ErrorCode.StoreUnavailable;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
