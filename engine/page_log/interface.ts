/**
 * The page log ("PALI", page and log interface): the contract between the engine and any store
 * of page images. The engine writes page images with `put` and gets an LSN back, reads a page as
 * of an LSN with `get`, and marks checkpoints durable with completion records.
 *
 * Errors: every method throws (or rejects with) `PageLogError` from `engine/errors.ts`, whose
 * `code` says what went wrong and whose `location` carries the table id, page id and LSN. The
 * codes used are listed on each method; these hold for every method:
 * - `CLOSED`: the log was closed (or is closing).
 * - `READ_ONLY`: a write on a log opened with `readOnly`.
 * - `INVALID_ARGUMENT`: a table id that is not a u32, a page id that is not a positive safe
 *   integer, an LSN that is not a non-negative safe integer.
 * - `CORRUPTION`, `CHECKSUM_MISMATCH`: stored bytes fail a check; the location names the record.
 * - `PAGE_LOG`: an earlier background commit failed; the log must be reopened.
 */
import type { NodeRecords, TermRecord } from './nodes.js';

/** Put flags. Combine with `|`; unknown bits are rejected. */
export const PutFlags = {
  /** The image is a delta on top of the page's current base and deltas. */
  Delta: 0x1,
} as const;

/** Most deltas one base image may carry (WiredTiger's `WT_DELTA_LIMIT`). */
export const MAX_DELTAS_PER_CHAIN = 32;

/** Reserved table id of the turtle page (page id 1). User tables never take it. */
export const TURTLE_PAGE_TABLE_ID = 2;
/** Reserved table id of the shared metadata btree (`file:WiredTigerShared.wt_stable`). */
export const SHARED_METADATA_TABLE_ID = 10;
/** Reserved table id of the key-provider page (page id 1). */
export const KEY_PROVIDER_TABLE_ID = 26;
/** Smallest page id of a btree page (`WT_BLOCK_MIN_PAGE_ID`); ids below it are for fixed pages. */
export const MIN_USER_PAGE_ID = 100;

/** What a put records beside the image. */
export interface PutArgs {
  /**
   * LSN of the record this one follows. For a delta it must be the LSN of the page's newest
   * record (its base or its last delta); for a base it is informational (e.g. the previous
   * version's LSN, or 0).
   */
  backlinkLsn: number;
  /** For a delta, the LSN of the base it applies to (checked). For a base, informational. */
  baseLsn: number;
  /** `PutFlags` bits. */
  flags: number;
}

/** One stored page record: a base image or a delta. */
export interface PageRecord {
  lsn: number;
  tableId: number;
  pageId: number;
  backlinkLsn: number;
  baseLsn: number;
  flags: number;
  /** A copy owned by the caller. */
  image: Buffer;
}

/** The pages of one table. Cheap to create; holds no state of its own. */
export interface PageLogHandle {
  readonly tableId: number;
  /**
   * Queues a page image and returns its LSN. The LSN is strictly greater than every LSN handed
   * out before by this log. The record is visible to `get` at once and durable once a later
   * `completeCheckpoint` (or `flush`) resolves. The image is copied: the caller may reuse it.
   *
   * Without `PutFlags.Delta` the image is a new base that replaces the page's chain. With it,
   * the image is appended to the chain, and `args.baseLsn` must equal the chain's base LSN and
   * `args.backlinkLsn` the chain's newest LSN.
   *
   * Errors: `INVALID_ARGUMENT` for a bad page id, unknown flag bits, a negative or unsafe LSN in
   * `args`, a delta whose base or backlink LSN does not match the chain, or a 33rd delta on one
   * base (write a new base instead; see `MAX_DELTAS_PER_CHAIN`); `NOT_FOUND` for a delta on a
   * page that does not exist (never written, or discarded).
   */
  put(pageId: number, args: PutArgs, image: Buffer): number;
  /**
   * The page as of `lsn` (default: latest): its base, then its deltas in LSN order, all with
   * LSN <= `lsn`. Returns [] when the page has no record at or below `lsn` or was discarded at
   * or below `lsn` (and not written again). Synchronous. Each image's checksum is verified.
   *
   * Errors: `INVALID_ARGUMENT` for a bad page id or LSN; `CHECKSUM_MISMATCH` for a damaged
   * image; `CORRUPTION` for a chain without a base.
   */
  get(pageId: number, lsn?: number): PageRecord[];
  /**
   * Marks the page discarded from now on with an LSN-stamped record, returned. `get` at this
   * LSN or later returns [] until the page is put again as a base; `get` at older LSNs still
   * returns the old chain.
   *
   * Errors: `INVALID_ARGUMENT` for a bad page id; `NOT_FOUND` when the page does not exist now.
   */
  discard(pageId: number): number;
  /**
   * Page ids of this table that exist (written and not discarded) at `lsn` (default latest),
   * ascending. Reads every key of the table: meant for tools and repair, not the read path.
   *
   * Errors: `INVALID_ARGUMENT` for a bad LSN.
   */
  listPages(lsn?: number): number[];
  /**
   * A hint: these pages will soon be read as of exactly these LSNs (each the LSN of its base
   * image, as a page-log address names it). A networked store fetches them in one round trip
   * and the reads that follow are served from that; an embedded store ignores it. Never throws:
   * a failed read-ahead leaves the reads to fetch their pages themselves.
   */
  prefetch?(pages: readonly { pageId: number; lsn: number }[]): void;
}

/** What the engine hands to `completeCheckpoint`. */
export interface CompleteCheckpointArgs {
  /** The checkpoint (stable) timestamp; a u64. */
  timestamp: bigint;
  /** The oldest timestamp; a u64. */
  oldestTimestamp: bigint;
  /** The checkpoint metadata text (FORMATS.md 9.4: `metadata_lsn=...,metadata_checksum=...`). */
  metadata: string;
}

/** A durable completion record. Its LSN is the checkpoint's identity. */
export interface CompletionRecord extends CompleteCheckpointArgs {
  lsn: number;
  /** The term of the leader that completed it (0 before the log recorded terms). */
  term: number;
}

/** One record of the log, as listed by `records`. */
export type LogEntry =
  | { kind: 'page'; record: Omit<PageRecord, 'image'> & { size: number } }
  | { kind: 'discard'; lsn: number; tableId: number; pageId: number }
  | { kind: 'complete'; record: CompletionRecord };

/** Counts for the read-path tool's `stat`. */
export interface PageLogStat {
  /** Distinct table ids that hold at least one page record. */
  tables: number;
  /** Pages that exist (not discarded) at the latest LSN, over all tables. */
  pages: number;
  /** Every record: page images, discards and completion records. */
  records: number;
  /** Bytes of page images stored (every version, not only the latest). */
  bytes: number;
  lastLsn: number;
  /** Completion records stored. */
  checkpoints: number;
}

/** What `PageLog.storageSize` reports. */
export interface PageLogStorageSize {
  /** Size of the data file: what the memory map can make resident (file-backed, outside the heap); undefined when it is gone from its path. */
  fileBytes: number | undefined;
  /** The memory map's reserved size (address space). */
  mapSizeBytes: number;
  /** Bytes of the data file in use. */
  usedBytes: number;
}

/**
 * A page log. Several nodes (processes, each with its own home) may open one log: one leader
 * writes, followers read (see nodes.ts for the rules: terms, fencing, leases). Reads are
 * synchronous; the asynchronous methods are the ones that wait for the disk.
 *
 * Checkpoint lifecycle: `beginCheckpoint`, puts, `completeCheckpoint`; then the next
 * checkpoint may begin. `abandonCheckpoint` drops an interrupted one.
 *
 * Writes (puts, discards, completions, abandon, prune) need the leader role. A follower's or
 * an inspector's fail with `NOT_LEADER` (`READ_ONLY` for a log opened `readOnly`); a leader
 * fenced by a newer term fails with `FENCED`, naming both terms.
 */
export interface PageLog {
  /** Where the log lives: its directory, or its store's URL with the password masked. */
  readonly path: string;
  /** The store under the log: `lmdb`, `postgres`, or a store module's own name. */
  readonly storeKind: string;
  /**
   * The log's identity, a UUID drawn when the log was created and kept in its format record:
   * it tells this log from any other, so a home can refuse a log that is not its own.
   */
  readonly identity: string;
  /** This process's part: `leader` (writes), `follower` (reads, holds a lease) or `inspector` (`readOnly`: reads, writes nothing at all). */
  readonly role: PageLogRole;
  /** The node id this process records in the node records. */
  readonly nodeId: string;
  /** The leader's term; 0 for a follower or an inspector. */
  readonly term: number;
  /** Set once a newer term has fenced this leader (a refused write, a lease renewal, or this getter, which reads the newest term). */
  readonly fencedBy: TermRecord | undefined;
  /** The node records as stored now: every term, every lease (live or expired). */
  nodeRecords(): NodeRecords;
  /**
   * Follower: records (and from then on renews) a lease naming the completion records this
   * node reads, so the leader's pruning keeps them. Resolves once the lease is durable.
   *
   * Errors: `INVALID_ARGUMENT` for a bad LSN; `READ_ONLY` for an inspector; `BUSY` on a
   * leader (the leader keeps its own readers' checkpoints with `prune`'s `alsoKeep`).
   */
  holdCheckpoints(lsns: readonly number[]): Promise<void>;
  /**
   * Follower to leader (a step-up): records the next term, which fences the previous leader
   * whether it is alive or not, and takes the writer role. LSNs continue above every record
   * stored. The caller then abandons what follows the newest completion record.
   *
   * Errors: `BUSY` when already the leader; `READ_ONLY` for an inspector.
   */
  takeWriterRole(): Promise<TermRecord>;
  /**
   * Leader to follower (a step-down): makes every queued record durable, then ends the leader
   * lease; the term stays recorded, so the next claim needs no wait. A fenced leader just
   * drops what it queued (none of it was stored). The node holds no checkpoints afterwards
   * until `holdCheckpoints`.
   *
   * Errors: `BUSY` when not the leader.
   */
  releaseWriterRole(): Promise<void>;
  /**
   * Stops renewing this node's lease until the returned function is called (a backup fence:
   * nothing in the store may change). A lease may expire meanwhile.
   */
  pauseLeaseRenewal(): () => void;
  /**
   * A handle on the pages of `tableId` (any u32, reserved ids included).
   *
   * Errors: `INVALID_ARGUMENT` when `tableId` is not a u32.
   */
  openHandle(tableId: number): PageLogHandle;
  /**
   * Starts a checkpoint. Puts are allowed at any time; this marks where the engine starts the
   * writes that the next completion record will vouch for.
   *
   * Errors: `BUSY` when a checkpoint was begun and has not completed or been abandoned.
   */
  beginCheckpoint(): void;
  /**
   * Takes the completion record's LSN at once (so it follows every put made before the call),
   * waits until every record put so far is durable, then writes the completion record and
   * waits until it is durable. Resolves to its LSN, the checkpoint's identity. The record never
   * reaches the disk before the pages it depends on. Calls are served one at a time, in order.
   *
   * Errors: `BUSY` when no checkpoint was begun or a completion is running; `INVALID_ARGUMENT`
   * when a timestamp is not a u64; `PAGE_LOG` when a commit failed. After an error the
   * checkpoint is still begun: call `completeCheckpoint` again, or `abandonCheckpoint`.
   */
  completeCheckpoint(args: CompleteCheckpointArgs): Promise<number>;
  /**
   * The newest durable completion record, or the one whose LSN is exactly `lsn`; undefined if
   * there is none.
   *
   * Errors: `INVALID_ARGUMENT` for a bad LSN; `CHECKPOINT_METADATA_CORRUPT` when the stored
   * record fails its checksum.
   */
  getCompleteCheckpoint(lsn?: number): CompletionRecord | undefined;
  /**
   * Every durable completion record, oldest first; with `after`, only those whose LSN is above
   * it (a range read: cheap however many are kept).
   *
   * Errors: `INVALID_ARGUMENT` for a bad LSN.
   */
  listCompleteCheckpoints(after?: number): CompletionRecord[];
  /**
   * Drops every record whose LSN is above `after` (default: the newest completion record) and
   * was handed out before this call (an interrupted checkpoint, or completed ones the caller
   * will never use, their completion records included), after waiting for queued puts to
   * commit, and ends any begun checkpoint. Resolves to how many records were dropped. The
   * engine calls it on open with the checkpoint it opens. Later LSNs stay above every LSN
   * handed out so far in this process; after a reopen they continue from the largest LSN stored.
   *
   * Errors: `READ_ONLY`; `INVALID_ARGUMENT` when `after` is not an LSN.
   */
  abandonCheckpoint(after?: number): Promise<number>;
  /** The largest LSN of a record in the log (stored, queued, or a completion being written); 0 when empty. */
  getLastLsn(): number;
  /**
   * Every record with `from <= lsn <= to` (defaults: 1 and the last LSN), in LSN order, queued
   * records included. Lazy: iterate it before writing more.
   *
   * Errors: `INVALID_ARGUMENT` for a bad bound.
   */
  records(range?: { from?: number; to?: number }): Iterable<LogEntry>;
  /**
   * Counts for `stat`. Reads every record's key and log entry, so it takes time in proportion to
   * the whole log (about 0.7 s for 100,000 records): not for a per-checkpoint path.
   */
  stat(): PageLogStat;
  /**
   * Removes page records that no read at the newest `keep` completion records, at the
   * completion records listed in `alsoKeep` (checkpoints a reader of this process still has
   * open) or named by a live lease of another node (a follower), or later,
   * can return, and the other completion records older than those. Resolves to how many
   * records were removed. Reads at other LSNs below the oldest kept completion are no longer
   * guaranteed. LMDB reuses the freed space for later puts. A lease written while the prune
   * runs is seen by the transaction that removes completion records: if it names one of them,
   * nothing is removed (the next prune tries again).
   *
   * Errors: `READ_ONLY`; `INVALID_ARGUMENT` when `keep` is not a positive integer or an
   * `alsoKeep` entry is not an LSN.
   */
  prune?(keep: number, alsoKeep?: readonly number[]): Promise<number>;
  /**
   * Resolves when every record queued so far is durable and a lease renewal under way has
   * landed. Errors: `PAGE_LOG` when a commit failed; `FENCED` for a fenced leader.
   */
  flush(): Promise<void>;
  /**
   * The store's size: its data file, the memory map's reserved size and the bytes in use.
   * Cheap (no scan), for serverStatus. Undefined for a store without a memory map.
   */
  storageSize(): PageLogStorageSize | undefined;
  /**
   * Writes a consistent copy of the log as it is once every record queued so far is durable
   * into the new directory `directory` (a log that opens like this one, with the same
   * identity), without stopping puts meanwhile. For backups.
   *
   * Errors: `PAGE_LOG` when a commit failed or the copy could not be written;
   * `INVALID_ARGUMENT` for a store that is not copied as files (PostgreSQL: back it up with
   * its own tools).
   */
  snapshot(directory: string): Promise<void>;
  /**
   * Waits for a running checkpoint completion, abandon or prune, makes queued records durable,
   * and closes the store. Idempotent. Queued records of a checkpoint that was never completed
   * are written but are still dropped by the next `abandonCheckpoint`.
   */
  close(): Promise<void>;
}

/** A process's part in a page log; see `PageLog.role`. */
export type PageLogRole = 'leader' | 'follower' | 'inspector';

/** How to open a page log. */
export interface PageLogOptions {
  /**
   * `leader` (the default unless `readOnly`) claims the writer role at open: refused with
   * `LEADER_ACTIVE` while another node's leader lease is live. `follower` reads and holds a
   * lease. `readOnly` opens an inspector that writes nothing, not even a lease.
   */
  role?: 'leader' | 'follower';
  /** This node's identity in the node records (default `default`). A restarted node reclaims its own term. */
  nodeId?: string;
  /** Where this node serves clients (`host:port`), recorded in its lease; default ''. */
  address?: string;
  /** Lease length in ms (default 10,000); renewed three times per length. */
  leaseMs?: number;
  /** Open without writing anything; the log must exist. Default false. */
  readOnly?: boolean;
  /** Create the directory and the store when they do not exist. Default true. */
  create?: boolean;
  /** Skip syncing to disk. For tests only: a machine crash can then lose completed checkpoints. Default false. */
  noSync?: boolean;
}
