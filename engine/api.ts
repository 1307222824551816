/**
 * The engine's public types: what an embedding application (the server, the tools, tests)
 * programs against. The implementation lives in the modules; `index.ts` re-exports these.
 */

/**
 * A key or value as the application sees it, by WiredTiger format character:
 * `S` -> string, `u` -> Buffer, `q`/`Q`/`r` -> bigint, `b B h H i I l L` -> number;
 * a multi-column format (e.g. `IuQQ`) -> an array of those.
 */
export type Item = string | Buffer | number | bigint | Item[];

/** How a table's pages are stored. */
export type StorageMode = 'local' | 'disagg';

export interface ConnectionConfig {
  /** Create the home if it does not exist (default true). */
  create?: boolean;
  /** Open without writing anything (default false). */
  readOnly?: boolean;
  /** Cache size in bytes (default 100 MB). Memory stays bounded by it whatever the data size. */
  cacheSize?: number;
  /** `disagg` (default) keeps shared tables in the page log; `local` keeps everything in `.wt` files. */
  storage?: StorageMode;
  /** Page log location (default `HOME/pagelog`). */
  pageLogPath?: string;
  /**
   * How many completed checkpoints the page log keeps readable (default 2). After each
   * checkpoint, page versions and completion records only older checkpoints need are removed
   * and their space reused, so the log's size follows the data, not its history. `all` keeps
   * every version, for inspecting the history of a run.
   */
  pageLogRetain?: number | 'all';
  /** Key provider module: `example`, `mock` or a path to an ES module. Disaggregated mode only. */
  keyProvider?: string;
  /** Key provider configuration string (`key=value,...`). */
  keyProviderConfig?: string;
  /** Receives the engine's structured log events. */
  logger?: EngineLogger;
  /**
   * Journal every commit to a local table (WiredTiger's `log=(enabled=true)`; default false). A
   * home that already has journal files keeps journaling. Read-only connections never replay it.
   */
  journal?: boolean;
  /** Journal file size before rotation (default 100 MB, at least 100 KB). */
  journalFileMax?: number;
  /** Background journal flush period in ms (default 100; 0: only explicit syncs). */
  journalCommitIntervalMs?: number;
  /**
   * Disaggregated mode: `leader` (default) writes the shared tables and checkpoints them into
   * the page log; `follower` reads the checkpoints a leader completes in a page log it shares
   * (`pageLogPath`), and writes local tables only.
   */
  role?: DisaggRole;
  /** Follower: the checkpoint (its id, the completion record's LSN) to pick up at open; default the newest. */
  followerCheckpoint?: string;
  /** Page-log lease length in ms (default 10,000): how long a killed node's role or held checkpoints outlive it. */
  leaseMs?: number;
}

/** A node's part in a page log several nodes share. */
export type DisaggRole = 'leader' | 'follower';

/** Where a node stands in a shared page log (`Connection.disaggStatus`). */
export interface DisaggStatus {
  role: DisaggRole;
  /** This node's id in the page log's node records (the home's identity). */
  nodeId: string;
  /** The leader's term; 0 on a follower. */
  term: number;
  /** Leader: its last checkpoint. Follower: the checkpoint it serves reads as of (undefined while it waits for a first one). */
  checkpoint: CheckpointInfo | undefined;
  /** Follower: the log holds no completed checkpoint yet, so no shared data is served. */
  waitingForCheckpoint: boolean;
  /** The log's newest completion record. */
  newest: { id: string; lsn: number; timestamp: bigint; term: number } | undefined;
  /** How far `checkpoint` is behind `newest`: completion records and LSNs. */
  lag: { checkpoints: number; lsn: number };
  /** Follower: the checkpoints open cursors still read besides `checkpoint` (its lease names them all). */
  heldCheckpoints: string[];
  /** Leader: set once a newer term fenced it (its checkpoints are refused). */
  fencedBy: { term: number; nodeId: string } | undefined;
  /** The checkpoint opened at start-up was another node's newer one, not the one this home paired with. */
  adopted: boolean;
  /** Every node's lease in the page log, live or expired: who leads, and what each follower holds. */
  leases: Array<{ nodeId: string; role: DisaggRole; term: number; checkpoints: string[]; expiresAt: number; live: boolean; pid: number }>;
}

/** A checkpoint view a follower's reads stay on until released (`Connection.holdCheckpointView`). */
export interface CheckpointViewHold extends EngineHold {
  readonly checkpoint: CheckpointInfo;
}

export interface EngineLogEvent {
  level: 'debug' | 'info' | 'warn' | 'error';
  component: string;
  msg: string;
  attr?: Record<string, unknown>;
  /**
   * A stable name for the events an application matches on (see `EngineEventName`); the
   * server gives each its own log id. Absent for the others.
   */
  event?: EngineEventName;
}

/**
 * Engine events with a stable name. Their `attr` never holds key bytes.
 *
 * - `keyProviderLoaded`: the provider got the persisted key at open (`module`, `keyVersion`,
 *   `pageLsn`, `keyTimestamp`; the last two absent for a new database).
 * - `keyProviderKeyPushed`: `setKey` queued a key (`module`, `keyTimestamp`, `keyLength`, `pending`).
 * - `keyProviderKeyRotated`: a checkpoint persisted a new key (`module`, `keyVersion`, `pageLsn`,
 *   `previousPageLsn`, `keyTimestamp`, `origin` `pushed` or `provider`, `pending`).
 * - `keyProviderUpdateFailed`: `getKey`, the page write or `onKeyUpdate` failed (`module`,
 *   `step`, `error`, `keyVersion` kept); the checkpoint fails with it.
 */
export type EngineEventName = 'keyProviderLoaded' | 'keyProviderKeyPushed' | 'keyProviderKeyRotated' | 'keyProviderUpdateFailed';

export type EngineLogger = (event: EngineLogEvent) => void;

export interface TableInfo {
  /** `table:NAME`. */
  uri: string;
  /** The `file:` URI holding the data. */
  fileUri: string;
  /** The file id (page-log table id for a shared table). */
  id: number;
  keyFormat: string;
  valueFormat: string;
  /** True when the table's pages live in the page log. */
  shared: boolean;
  /** The `file:` entry's configuration string. */
  config: string;
}

/** The identity and contents of a completed checkpoint. */
export interface CheckpointInfo {
  /**
   * The checkpoint's identity: the completion record's LSN in disaggregated mode, the
   * metadata checkpoint order in local mode, as a decimal string.
   */
  id: string;
  /** The stable timestamp the checkpoint was taken at (0n when none was set). */
  timestamp: bigint;
  oldestTimestamp: bigint;
  /** Completion record LSN (disaggregated mode). */
  lsn?: number;
  /** Turtle page LSN named by the completion record (disaggregated mode). */
  metadataLsn?: number;
  /** Key-provider page LSN named by the turtle page (disaggregated mode with a key provider). */
  keyProviderPageLsn?: number;
  /** When the checkpoint completed (ms since the epoch). */
  time: number;
}

/** What the journal has done since the connection opened. */
export interface JournalStats {
  /** fsyncs of the journal. */
  syncs: number;
  /** Sync calls those fsyncs served (above `syncs` when callers shared one: group commit). */
  waiters: number;
  bytesWritten: number;
}

/**
 * The cache's counters since the connection opened (WiredTiger's `cache:` statistics). Only
 * leaves are counted in `bytes`, `dirtyBytes` and `pages` and evicted; reads and writes count
 * every page image.
 */
export interface CacheStats {
  /** The configured size (`cacheSize`): "maximum bytes configured". */
  maxBytes: number;
  /** Bytes of the resident leaves: "bytes currently in the cache". */
  bytes: number;
  /** Bytes of the resident leaves with changes not yet written: "tracked dirty bytes in the cache". */
  dirtyBytes: number;
  /** Resident leaves: "pages currently held in the cache". */
  pages: number;
  /** Leaves evicted without a write: "unmodified pages evicted". */
  cleanEvictions: number;
  /** Leaves written by eviction and evicted: "modified pages evicted". */
  dirtyEvictions: number;
  /** Page images read: "pages read into cache" and "bytes read into cache". */
  pagesRead: number;
  bytesRead: number;
  /** Page images written by checkpoints and eviction: "pages written from cache" and "bytes written from cache". */
  pagesWritten: number;
  bytesWritten: number;
}

/** The page log's size on disk and in the address space (disaggregated mode). */
export interface PageLogStats {
  /** The store's kind: `lmdb`, `postgres`, or a store module's own name. */
  store: string;
  /** Where it is: a directory, or a URL with its password masked. */
  location: string;
  /**
   * Size of the page log's data file: what its memory map can make resident, outside the heap.
   * Undefined when the file is gone from its path (deleted or replaced under the server), and
   * for a store without a memory map (PostgreSQL).
   */
  fileBytes: number | undefined;
  /** The memory map's reserved size (address space, not memory); undefined without a map. */
  mapSizeBytes: number | undefined;
  /** Bytes of the data file in use (LMDB's last page number times the page size); undefined without a map. */
  usedBytes: number | undefined;
}

export interface KeyProviderStatus {
  module: string;
  keyVersion: number;
  pageLsn: number | undefined;
  /** Timestamps of the keys pushed with `setKey` that no checkpoint has persisted yet, oldest first. */
  pendingKeyTimestamps: bigint[];
}

export interface Connection {
  readonly home: string;
  readonly storage: StorageMode;
  readonly readOnly: boolean;
  /**
   * Creates a table. `uri` is `table:NAME`; `config` holds at least `key_format` and
   * `value_format`. `shared` (disaggregated mode only, default true) puts its pages in the
   * page log; local tables live in `NAME.wt`.
   */
  createTable(uri: string, config: string, options?: { shared?: boolean }): void;
  /**
   * Test-only fault: the next create of a local table calls `crash` with the file's name once
   * the file is made and synced, before any metadata entry names it (the test makes the
   * process die there, leaving the orphan a crash at that point leaves).
   */
  injectCrashAfterNextTableFile(crash: (fileName: string) => void): void;
  /** Drops a table and its file or pages. */
  dropTable(uri: string): void;
  hasTable(uri: string): boolean;
  /** The table entry for `table:NAME` or its `file:` URI. */
  getTable(uri: string): TableInfo;
  listTables(): TableInfo[];
  openSession(): Session;
  /** Moves the stable and oldest timestamps forward. */
  setTimestamps(timestamps: { stable?: bigint; oldest?: bigint }): void;
  readonly stableTimestamp: bigint;
  readonly oldestTimestamp: bigint;
  /** Takes a checkpoint at the stable timestamp and resolves once it is durable. */
  checkpoint(): Promise<CheckpointInfo>;
  /** The last durable checkpoint (the one opened, or the one last taken). */
  lastCheckpoint(): CheckpointInfo | undefined;
  keyProviderStatus(): KeyProviderStatus | undefined;
  /** Makes the key provider rotate at the next checkpoint. */
  requestKeyRotation(): void;
  /**
   * Push mode (WiredTiger's `conn.get_key_provider().set_key`): queues `key` as the key in force
   * from `timestamp` on. The engine keeps the queue; each checkpoint persists the newest queued
   * key whose timestamp is at or below its stable timestamp as the key-provider page (with
   * that timestamp in the page header), and drops it and every older one. Keys not yet due stay
   * queued; a failed checkpoint leaves the queue as it was. The queue lives in memory: a
   * restart starts with an empty one. The key bytes go to the provider, which keeps its own
   * copy; the engine keeps only the timestamps.
   *
   * Errors: `CONFIG_INVALID` (key `keyProvider`) without a key provider or when the provider
   * has no push mode; `INVALID_ARGUMENT` for a key that is not a non-empty Buffer, a
   * timestamp that is not above the stable timestamp or not above the last key queued, or a
   * key the provider refuses (the `example` module takes 32 bytes), and in local mode;
   * `READ_ONLY`, `CLOSED`.
   */
  setKey(key: Buffer, timestamp: bigint): void;
  /**
   * Freezes the home's files (a backup fence, `fsync` with `lock: true`): once it resolves (a
   * checkpoint already running has finished and every page-log put is durable) no checkpoint
   * runs (checkpoints wait), the page log is not pruned and eviction keeps dirty pages in
   * memory, so no file of the home and no page of the page log changes until every hold is
   * released. Writes are not refused: they stay in memory. Closing releases every hold.
   */
  freezeWrites(): Promise<EngineHold>;
  /**
   * Pins the last durable checkpoint for a backup taken while writes and checkpoints go on:
   * its turtle is kept as `WiredTiger.backup`, local files' freed blocks are not reused, the
   * page log keeps that checkpoint from pruning, and (disaggregated mode) a consistent copy of
   * the page log is written to `pagelog.backup/`. `files` lists what to copy (paths relative
   * to the home); copied there, they open as exactly that checkpoint. Release the pin when the
   * copy is done. One pin at a time (`BUSY` while one is held).
   */
  pinCheckpointForBackup(): Promise<BackupPin>;
  /**
   * Resolves once every commit made before the call is durable in the journal (group commit:
   * concurrent callers share one fsync). Resolves at once when the journal is off.
   */
  syncJournal(): Promise<void>;
  /** Journal counters (undefined when the journal is off). */
  journalStats(): JournalStats | undefined;
  /** The cache's size, contents and counters. */
  cacheStats(): CacheStats;
  /** The page log's data file and memory map (undefined in local mode). */
  pageLogStats(): PageLogStats | undefined;
  /** The node's part in a shared page log; undefined in local mode. */
  disaggStatus(): DisaggStatus | undefined;
  /**
   * Follower: picks up the checkpoint `id` (default: the newest completed one): validates its
   * turtle page and key-provider page, loads the key into a fresh provider when it changed,
   * records it in this node's lease, and serves reads of shared tables as of it from then on.
   * Cursors opened before keep reading the checkpoint they started with. Resolves with the
   * checkpoint served (undefined while the log has none).
   *
   * Errors: `INVALID_ARGUMENT` on a leader, in local mode, or for an id that is not an LSN;
   * `CHECKPOINT_NOT_FOUND` for an id no completion record has (never one, or pruned); what a
   * damaged turtle or key-provider page raises. A failed pick-up leaves the served checkpoint.
   */
  pickUpCheckpoint(id?: string): Promise<CheckpointInfo | undefined>;
  /**
   * Follower: keeps reads on the checkpoint served now, through later pick-ups, until released:
   * cursors opened with it (`Session.openCursor(uri, {view})`) read that checkpoint, and the
   * lease keeps the leader's pruning off it. Undefined on a leader or while no checkpoint is served.
   */
  holdCheckpointView(): CheckpointViewHold | undefined;
  /**
   * Follower to leader: takes the page log's writer role with a new term (the old leader, alive
   * or not, is fenced), abandons any incomplete checkpoint and continues from the newest
   * completed one. Resolves with it (undefined for an empty log).
   *
   * Errors: `INVALID_ARGUMENT` on a leader or in local mode.
   */
  stepUp(): Promise<CheckpointInfo | undefined>;
  /**
   * Leader to follower: a final checkpoint (unless `fenced`: a newer term refused them), then
   * the writer role ends and the node serves the newest checkpoint as a follower. What was not
   * checkpointed of the shared tables is dropped.
   *
   * Errors: `INVALID_ARGUMENT` on a follower or in local mode; a failed final checkpoint
   * (the node stays leader).
   */
  stepDown(options?: { fenced?: boolean }): Promise<void>;
  /** Takes a final checkpoint (unless read-only) and releases everything. */
  close(): Promise<void>;
}

/** Something the engine holds until `release` is called (idempotent). */
export interface EngineHold {
  release(): void;
}

/** One file a backup copies: its path relative to the home and the bytes to copy. */
export interface BackupFile {
  path: string;
  size: number;
}

/** A checkpoint pinned for a backup (`Connection.pinCheckpointForBackup`). */
export interface BackupPin extends EngineHold {
  /** The checkpoint the listed files restore to. */
  readonly checkpoint: CheckpointInfo;
  readonly files: readonly BackupFile[];
  /**
   * The journal files (`WiredTigerLog.*`, with their sizes now) that carry the commits after
   * the pinned checkpoint up to `timestamp`: from the file of the checkpoint's `checkpoint_lsn`
   * through the first file holding a commit at or after `timestamp` (every file from there on
   * when none does yet). Empty when the checkpoint already holds `timestamp` or the journal
   * is off. The pin keeps these files: no checkpoint removes a journal file while it is held.
   * Sync the journal first for the listed bytes to be durable.
   */
  journalFilesThrough(timestamp: bigint): BackupFile[];
}

export interface Session {
  /** Starts a transaction: its writes become visible to others at commit, all at once. */
  beginTransaction(options?: { readTimestamp?: bigint }): void;
  /** Commits with an optional commit timestamp (must be above the stable timestamp). */
  commitTransaction(options?: { commitTimestamp?: bigint }): void;
  rollbackTransaction(): void;
  readonly inTransaction: boolean;
  /**
   * A cursor on `uri`. With `view` (a follower's held checkpoint view) a shared table is read
   * as of that checkpoint whatever is picked up meanwhile.
   */
  openCursor(uri: string, options?: { view?: CheckpointViewHold }): Cursor;
  close(): void;
}

export interface Range {
  gt?: Item;
  gte?: Item;
  lt?: Item;
  lte?: Item;
  reverse?: boolean;
}

export interface SearchNearResult {
  key: Item;
  value: Item;
  /** -1: the found key is smaller than the one asked for, 0: equal, 1: larger. */
  exact: -1 | 0 | 1;
}

/**
 * A cursor over one table. Outside a transaction every write commits on its own (without a
 * timestamp).
 */
export interface Cursor {
  readonly uri: string;
  /** The value stored under `key`, or undefined. */
  get(key: Item): Item | undefined;
  /** Inserts or overwrites. */
  put(key: Item, value: Item): void;
  /** Inserts; throws `SchemaError` with code `ALREADY_EXISTS` when the key exists. */
  insert(key: Item, value: Item): void;
  /** Overwrites; throws with code `NOT_FOUND` when the key does not exist. */
  update(key: Item, value: Item): void;
  /** Removes; returns false when the key did not exist. */
  remove(key: Item): boolean;
  /** The record at `key`, else the nearest smaller or larger one. */
  searchNear(key: Item): SearchNearResult | undefined;
  /** Records in key order (or reverse), within an optional range. */
  entries(range?: Range): IterableIterator<[Item, Item]>;
  /** Positions on the next (or first) record; false at the end. */
  next(): boolean;
  /** Positions on the previous (or last) record; false at the start. */
  prev(): boolean;
  /** Forgets the position. */
  reset(): void;
  /** The key at the current position. */
  readonly key: Item;
  /** The value at the current position. */
  readonly value: Item;
  close(): void;
}
