/**
 * The store under the page log: what a database must give the page log's core (`core.ts`),
 * which owns every rule of the PALI (argument checks, LSN order, chains of deltas, the
 * checkpoint lifecycle, abandon, prune, terms, leases). A store keeps records and answers
 * range reads; it decides nothing but what its transactions must decide atomically: the
 * fence (no write of a term once a newer term is recorded), the lease check of a prune, and
 * that a completion record's pages are stored before it.
 *
 * Reads are synchronous (a cursor step reads the page it needs and returns); writes are
 * asynchronous and settle once durable, in the order they were called.
 *
 * Errors are `PageLogError`s naming `location`: `STORE_UNAVAILABLE` for a store that cannot be
 * reached, `PAGE_LOG` for a failed write, `CORRUPTION` for stored bytes that fail a check.
 */
import type { PageLogStorageSize } from './interface.js';
import type { NodeRecordStore, TermRecord } from './nodes.js';
import type { LogEntryFields, RecordKindValue } from './record_format.js';

/** A page or discard record to store: its log entry and its image (empty for a discard). */
export interface StoreRecord {
  readonly entry: LogEntryFields;
  readonly image: Buffer;
}

/** A stored page or discard record, as a read of one page returns it. */
export interface StoredPageRecord {
  readonly entry: LogEntryFields;
  /** The stored image bytes (read when called); undefined when the image is missing. */
  image(): Buffer | undefined;
}

/** The key of a stored page record. */
export interface PageRecordKey {
  tableId: number;
  pageId: number;
  lsn: number;
}

/** What a removal needs to know of a stored record. */
export interface StoredRecordKey {
  lsn: number;
  kind: RecordKindValue;
  tableId: number;
  pageId: number;
}

/** The outcome of a fenced write: stored, or refused because a newer term is recorded. */
export type FencedOutcome = 'written' | 'fenced';

/** How a store is opened. */
export interface StoreOpenOptions {
  /** Write nothing, not even node records; the store must exist. */
  readOnly: boolean;
  /** Create the store when it does not exist. */
  create: boolean;
  /** Skip syncs (tests only). */
  noSync: boolean;
}

/** Whether a store holds a page log, without opening it (for tools and the engine's checks). */
export type StorePresence =
  | { state: 'present' }
  /** A store the database created but never initialised (an LMDB file killed before its meta pages): it holds nothing. */
  | { state: 'empty'; file: string }
  | { state: 'absent'; file: string }
  | { state: 'unreadable'; file: string; reason: string; code: 'CORRUPTION' | 'IO' };

/** A store of page-log records. The core is its only user. */
export interface PageLogStore extends NodeRecordStore {
  /** The highest term recorded, read alone (a leader asks whether it was fenced). */
  newestTerm(): TermRecord | undefined;
  /** Where the store is, for messages: a directory, or a URL with its password masked. */
  readonly location: string;
  /** The store's kind, for status output: `lmdb`, `postgres`, or a module's own name. */
  readonly kind: string;

  /** The format record's bytes (FORMATS: the page log's format record), or undefined in a new store. */
  readFormat(): Buffer | undefined;
  /**
   * Writes `record` as the format record unless one is stored (two nodes may create a log at
   * once), and resolves to the one stored, durable.
   */
  createFormat(record: Buffer): Promise<Buffer>;

  /** The stored log entry with this LSN, decoded and checked. */
  logEntry(lsn: number): LogEntryFields | undefined;
  /**
   * The page's stored records with LSN <= `atLsn`, newest first. The caller stops at the first
   * base or discard, so a store may fetch a bounded number of them at a time.
   */
  pageRecords(tableId: number, pageId: number, atLsn: number): Iterable<StoredPageRecord>;
  /**
   * The stored records with exactly these (page, LSN) keys, in one read; keys with no record
   * are left out. Optional: a networked store offers it so a scan reads ahead (one round trip
   * for several pages); an embedded one, whose reads cost no round trip, need not.
   */
  pageRecordsAt?(tableId: number, keys: readonly { pageId: number; lsn: number }[]): StoredPageRecord[];
  /** The image of one stored page record. */
  image(key: PageRecordKey): Buffer | undefined;
  /**
   * The log entries of every stored page and discard record of `tableId` (every table when
   * undefined), ordered by table, page and LSN. Reads in proportion to the whole table: for
   * prune, tools and repair, never the read path.
   */
  pageEntries(tableId?: number): Iterable<LogEntryFields>;
  /** Every stored log entry with `from <= lsn <= to`, in LSN order. */
  logEntries(from: number, to: number): Iterable<LogEntryFields>;
  /** The stored completion record body with this LSN. */
  completion(lsn: number): Buffer | undefined;
  /** Completion records with LSN above `after` (all when undefined), oldest first. */
  completions(after?: number): Iterable<{ lsn: number; body: Buffer }>;
  /** The newest completion record's body and LSN. */
  newestCompletion(): { lsn: number; body: Buffer } | undefined;
  /** The largest LSN stored (0 when empty). */
  lastLsn(): number;
  /**
   * A block of LSNs for the leader, `first` to `last`, strictly above `above` and every LSN
   * stored or handed out before by any node of the store. A store on a database server takes
   * them from a sequence, so that two leaders (a deposed one that has not yet seen its fence)
   * never hand out one LSN twice; an embedded store counts on from its largest LSN.
   */
  reserveLsns(above: number): { first: number; last: number };
  /** Makes later reads see what other processes committed. */
  refresh(): void;

  /**
   * Stores page and discard records in one atomic batch, unless a term above `term` is
   * recorded (checked in the transaction that would write them). Batches are stored in call
   * order. Resolves once the batch is durable (or refused).
   */
  append(records: readonly StoreRecord[], term: number): Promise<FencedOutcome>;
  /**
   * Stores a completion record (its log entry and body) in one transaction that checks the
   * fence, and that the record with LSN `vouchesThrough` (the newest record the checkpoint
   * follows, 0 for none) is stored. Rejects with `PAGE_LOG` when it is not.
   */
  complete(entry: LogEntryFields, body: Buffer, term: number, vouchesThrough: number): Promise<FencedOutcome>;
  /**
   * Removes the records in one transaction, unless a term above `term` is recorded
   * (`fenced`) or, with `keepLeased`, a live lease names one of the completion records
   * (`leased`; nothing is removed).
   */
  remove(records: readonly StoredRecordKey[], term: number, options: { keepLeased: boolean }): Promise<'removed' | 'fenced' | 'leased'>;
  /** Resolves when every write so far is durable. */
  sync(): Promise<void>;
  /** Closes the store; `abrupt` after a failed write (nothing queued will become durable). */
  close(abrupt: boolean): Promise<void>;

  /** Sizes for `serverStatus`, for a store with a memory map. */
  storageSize?(): PageLogStorageSize;
  /** A consistent copy of the store, for backups: a store that opens like this one. */
  snapshot?(directory: string): Promise<void>;
}
