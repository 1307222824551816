import { Long, Timestamp, UUID } from 'bson';
import { AsyncLocalStorage } from 'node:async_hooks';
import { join } from 'node:path';
import type { BackupPin, CheckpointInfo, CheckpointViewHold, Connection, Cursor, Range, Session } from '../../engine/index.js';
import { EngineError, ErrorCode, whenWritable } from '../../engine/index.js';
import { collectReport, formatFinding, verifyTable } from '../../engine/index.js';
import { CommandError, ErrorCodes, LocationCodes } from '../errors/index.js';
import { LogComponent, LogId, type Logger } from '../log/index.js';
import type { AccessPlan } from '../query/index.js';
import { decodeDocument, encodeDocument, newUuid, encodeKey, encodeTimestampKey, leadingElementDocument, leadingElementEnd, typeBracketEnd, typeBracketStart, type Document } from '../values/index.js';
import { bigIntToTimestamp, LogicalClock, timestampToBigInt } from './clock.js';
import { engineErrorToCommandError, isEngineError } from './engine_errors.js';
import { checkNamespace, namespaceString, parseNamespace, tableUriFor, type Namespace } from './namespace.js';
import { InsertOplogEntries } from './oplog_entry.js';

/** A collection as the catalog records it. */
/** A document to insert: its BSON bytes (`_id` first), encoded once for storage and the oplog, and its key in its collection. */
export interface EncodedDocument {
  encoded: Buffer;
  key: Buffer;
}

export interface CollectionEntry {
  /** `db.collection`. */
  ns: string;
  db: string;
  name: string;
  /** The engine table holding the documents (`table:db.collection`). */
  uri: string;
  uuid: UUID;
  /** The options it was created with (`create` command fields). */
  options: Document;
  /** The field whose key encoding keys the table: `_id`, or `ts` for the oplog. */
  keyField: string;
  /** True for collections of the `local` database, kept in local (not shared) tables. */
  local: boolean;
}

/** Where the namespace -> table mapping is kept (a shared table, so it travels with the data). */
export const catalogUri = 'table:_mdb_catalog';
/** The oplog's namespace. */
export const oplogNamespace = 'local.oplog.rs';
/** The table format of every collection: key and value are byte strings. */
export const collectionTableConfig = 'key_format=u,value_format=u';
const tableConfig = collectionTableConfig;
/** Records read per engine cursor before it is closed, so that no cursor stays open between batches. */
const scanChunkSize = 256;

/** One oplog operation before its timestamp is assigned. */
export interface OplogOperation {
  op: 'i' | 'u' | 'd' | 'c' | 'n';
  ns: string;
  ui?: UUID;
  o: Document;
  o2?: Document;
}

/**
 * What storage knows of the operation calling it: when its `maxTimeMS` runs out, and whether it
 * is waiting at the write gate now (`currentOp` shows it as `waitingForLock`).
 */
export interface OperationState {
  /** `Date.now()` value after which a wait fails with MaxTimeMSExpired (50); none: no limit. */
  deadline?: number;
  waitingForLock: boolean;
}

/** mongod's refusal of a write on a node that is not the primary (here: a follower of the page log). */
export function notWritablePrimary(): CommandError {
  return new CommandError(ErrorCodes.NotWritablePrimary, 'not primary: this node follows the shared page log; writes go to its leader');
}

/** The error of an operation whose `maxTimeMS` ran out, as mongod words it. */
export function maxTimeExpired(): CommandError {
  return new CommandError(ErrorCodes.MaxTimeMSExpired, 'operation exceeded time limit');
}

/**
 * One file a backup copies, as mongod's backup cursor describes it: its absolute path, the bytes
 * to copy, whether the restore needs it, and the collection it holds (`ns`, `uuid`; empty for
 * other files).
 */
export interface BackupFileEntry {
  filename: string;
  fileSize: number;
  required?: boolean;
  ns?: string;
  uuid?: string;
}

/** The open backup of `$backupCursor`: the pinned checkpoint and what to copy. */
export interface OpenBackup {
  backupId: UUID;
  dbpath: string;
  checkpointTimestamp: bigint;
  files: BackupFileEntry[];
  /** Optimes (`{ts, t}`) of the first oplog entry and of the last one the checkpoint holds. */
  oplogStart?: Document;
  oplogEnd?: Document;
  /** The journal files that carry the commits after the checkpoint up to a timestamp (`BackupPin.journalFilesThrough`). */
  journalFilesThrough(timestamp: bigint): Array<{ path: string; size: number }>;
  release(): void;
}

/** A blocker of writes (fsync lock, checkpoint) and the function that lifts it. */
interface WriteBlocker {
  promise: Promise<void>;
  release: () => void;
}

/**
 * The server's storage layer, and the only code that talks to the engine: collections in
 * `key_format=u,value_format=u` tables keyed by an order-preserving encoding of `_id`, the
 * catalog table, the oplog, the logical clock and stable timestamp, checkpoints, and the gate
 * that holds writes back during an fsync lock or a checkpoint.
 *
 * Every write commits in one engine transaction together with its oplog entry, at commit
 * timestamp = the entry's `ts`; the stable timestamp then moves to it (a single node is its own
 * majority). Writes run synchronously inside `write()`, so no two interleave.
 */
export class Storage {
  readonly connection: Connection;
  private readonly logger: Logger;
  private readonly writeSession: Session;
  private readonly readSession: Session;
  private readonly catalog = new Map<string, CollectionEntry>();
  /**
   * The number of records of each table counted since the engine opened, by table URI: counted
   * once, then kept exact by every insert and delete this layer commits. Dropped with the table,
   * and forgotten whenever the catalog is reloaded (a point-in-time write, a restore, a repair
   * changed tables beneath this layer).
   */
  private readonly recordCounts = new Map<string, number>();
  private readonly clock = new LogicalClock(0n);
  private readonly blockers = new Set<WriteBlocker>();
  private fsyncLocks: WriteBlocker[] = [];
  /** The first fsync lock's checkpoint and engine freeze, while they run. */
  private engineFreezing: Promise<void> | undefined;
  /** The engine's write freeze while an fsync lock is held: no file of the home changes. */
  private engineFreeze: { release: () => void } | undefined;
  private readonly operations = new AsyncLocalStorage<OperationState>();
  /** The open backup (`$backupCursor`), or a placeholder while one is being opened. */
  private activeBackup: OpenBackup | 'opening' | undefined;
  /** Held durability waits (test-only `pauseJournalFlusher` fault). */
  private journalWaitPause: WriteBlocker | undefined;
  private checkpointChain: Promise<unknown> = Promise.resolve();
  private insideWrite = false;
  private closing = false;
  /**
   * Set when a checkpoint failed in a way only a restart recovers from: the home or page log
   * replaced or deleted under the server, or a page-log commit that failed (the log refuses
   * every later write). Writes are refused from then on; reads go on.
   */
  private failure: StorageFailure | undefined;
  /** The last checkpoint that failed, for serverStatus (cleared by the next that succeeds). */
  private lastFailedCheckpoint: StorageFailure | undefined;
  /** The replication term written into oplog entries (`t`). */
  term = 1;
  /**
   * The timestamp of the checkpoint the engine opened (mongod's recovery timestamp), before
   * replication recovery or anything else checkpoints; undefined when the home had none.
   */
  readonly recoveryTimestamp: bigint | undefined;
  /** `leader`, or `follower` of a page log another node leads (its shared collections are that node's checkpoints). */
  private currentRole: 'leader' | 'follower';
  /** Role changes and pick-ups run one at a time. */
  private roleChain: Promise<unknown> = Promise.resolve();
  private readonly roleListeners: Array<() => void> = [];

  /**
   * Attaches to an open engine connection: creates the catalog and the oplog when missing,
   * loads the catalog, and sets the clock and term from the oplog's last entry.
   */
  constructor(connection: Connection, logger: Logger) {
    this.connection = connection;
    this.logger = logger;
    this.writeSession = connection.openSession();
    this.readSession = connection.openSession();
    this.recoveryTimestamp = connection.lastCheckpoint()?.timestamp;
    const checkpointTimestamp = this.recoveryTimestamp ?? 0n;
    this.currentRole = connection.disaggStatus()?.role ?? 'leader';
    this.clock.advanceTo(connection.stableTimestamp > checkpointTimestamp ? connection.stableTimestamp : checkpointTimestamp);
    if (this.currentRole === 'follower') {
      // The catalog is the leader's (a shared table, as of the checkpoint served): nothing to create.
      this.loadCatalog();
      this.readOplogTop();
      return;
    }
    this.prepareLeader();
  }

  /** A leader's start (or step-up): the catalog and the oplog exist, the clock and term follow them. */
  private prepareLeader(): void {
    const connection = this.connection;
    if (!connection.hasTable(catalogUri)) connection.createTable(catalogUri, tableConfig);
    this.loadCatalog();
    this.adoptLocalTables();
    const oplog = this.catalog.get(oplogNamespace);
    if (oplog === undefined) {
      // Nothing else runs yet at start-up (or at a step-up, which holds writes): no gate to pass.
      this.insideWrite = true;
      try {
        this.createCollectionNow(parseNamespace(oplogNamespace), { capped: true, size: 1024 * 1024 * 1024 }, false);
      } finally {
        this.insideWrite = false;
      }
    }
    this.readOplogTop();
    // A term taken in the page log (a step-up) is the replication term from then on.
    this.term = Math.max(this.term, connection.disaggStatus()?.term ?? 0);
  }

  /** Moves the clock and the term to the oplog's last entry. */
  private readOplogTop(): void {
    const oplog = this.catalog.get(oplogNamespace);
    if (oplog !== undefined) {
      const cursor = this.readSession.openCursor(oplog.uri);
      try {
        for (const [, value] of cursor.entries({ reverse: true })) {
          const last = decodeDocument(value as Buffer);
          if (last.ts instanceof Timestamp) this.clock.advanceTo(timestampToBigInt(last.ts));
          if (last.t !== undefined) this.term = Math.max(1, Number(last.t));
          break;
        }
      } finally {
        cursor.close();
      }
    }
  }

  private loadCatalog(): void {
    // A follower waiting for the leader's first checkpoint has no catalog yet.
    if (!this.connection.hasTable(catalogUri)) return;
    const cursor = this.readSession.openCursor(catalogUri);
    try {
      for (const [, value] of cursor.entries()) {
        const record = decodeDocument(value as Buffer);
        const entry = catalogEntryFromRecord(record);
        if (!this.connection.hasTable(entry.uri)) {
          // The leader's local collections (its oplog) are not a follower's: it has none of them.
          if (entry.local && this.currentRole === 'follower') continue;
          if (entry.local) {
            // Local tables do not travel with the shared data (a node restored from the page
            // log starts without them): recreate the table empty.
            this.connection.createTable(entry.uri, tableConfig, { shared: false });
            this.logger.warning(LogComponent.Storage, LogId.CatalogEntryWithoutTable, 'Recreated the missing local table of a collection', { namespace: entry.ns, uri: entry.uri });
          } else {
            this.logger.error(LogComponent.Storage, LogId.CatalogEntryWithoutTable, 'A catalog entry names a table that does not exist; the collection is left out', {
              namespace: entry.ns,
              uri: entry.uri,
            });
            continue;
          }
        }
        this.catalog.set(entry.ns, entry);
      }
    } finally {
      cursor.close();
    }
    this.logger.info(LogComponent.Storage, LogId.CatalogLoaded, 'Loaded the collection catalog', { collections: this.catalog.size });
  }

  /**
   * Gives a catalog entry to every `local` collection table the catalog does not name. In
   * disaggregated mode the catalog is a shared table, durable only at a checkpoint, while the
   * local tables (the oplog above all) are journaled: after a crash before the first
   * checkpoint that held a local collection's catalog record, its table (with its journaled
   * records) is still there and is kept, not replaced by an empty one.
   */
  private adoptLocalTables(): void {
    const named = new Set([...this.catalog.values()].map((entry) => entry.uri));
    for (const table of this.connection.listTables()) {
      if (table.shared || named.has(table.uri) || !table.uri.startsWith('table:local.')) continue;
      const namespace = parseNamespace(table.uri.slice('table:'.length));
      const ns = namespaceString(namespace);
      const entry: CollectionEntry = {
        ns, db: namespace.db, name: namespace.collection, uri: table.uri, uuid: newUuid(),
        options: ns === oplogNamespace ? { capped: true, size: 1024 * 1024 * 1024 } : {},
        keyField: ns === oplogNamespace ? 'ts' : '_id', local: true,
      };
      this.insideWrite = true;
      try {
        this.commit(undefined, (session) => withCursor(session, catalogUri, (cursor) => cursor.put(Buffer.from(ns, 'utf8'), encodeDocument(catalogRecord(entry)))));
      } finally {
        this.insideWrite = false;
      }
      this.catalog.set(ns, entry);
      this.logger.warning(LogComponent.Storage, LogId.CatalogEntryWithoutTable, 'Recreated the catalog entry of a local collection whose table survived', { namespace: ns, uri: table.uri });
    }
  }

  // ---- Catalog -------------------------------------------------------------------------------

  /** The collection `ns`, if it exists. */
  collection(ns: string): CollectionEntry | undefined {
    return this.catalog.get(ns);
  }

  /** The collections of `db`, by name. */
  collections(db: string): CollectionEntry[] {
    return [...this.catalog.values()].filter((entry) => entry.db === db).sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /** The databases that hold at least one collection, by name. */
  databases(): string[] {
    return [...new Set([...this.catalog.values()].map((entry) => entry.db))].sort();
  }

  // ---- Writes --------------------------------------------------------------------------------

  /**
   * Runs `work` (synchronous) once writes may proceed: not during an fsync lock, a checkpoint or
   * an engine point-in-time write. The write methods below may only be called inside `work`.
   * `namespaces`, the existing collections `work` writes to, lets it pass a point-in-time write
   * that holds other tables only (a repair's page move); without them it waits for any.
   */
  async write<T>(work: () => T, namespaces?: readonly string[]): Promise<T> {
    // A follower writes its local collections only; anything else is refused before it waits.
    if (this.currentRole === 'follower' && namespaces?.some((ns) => !ns.startsWith('local.'))) throw notWritablePrimary();
    await this.waitUntilWritable(namespaces);
    if (this.failure !== undefined) {
      throw new CommandError(this.failure.code === ErrorCode.NoSpace ? ErrorCodes.OutOfDiskSpace : ErrorCodes.OperationFailed,
        `writes are refused until the server restarts: ${this.failure.message}`, { engineError: { code: this.failure.code } });
    }
    this.insideWrite = true;
    try {
      return work();
    } catch (error) {
      throw engineErrorToCommandError(error);
    } finally {
      this.insideWrite = false;
    }
  }

  /**
   * Runs `work` as one operation: the storage calls it makes wait at most until
   * `state.deadline` (then MaxTimeMSExpired) and mark `state.waitingForLock` while they wait.
   */
  runOperation<T>(state: OperationState, work: () => Promise<T>): Promise<T> {
    return this.operations.run(state, work);
  }

  /** The calling operation's deadline, if it has one. */
  get operationDeadline(): number | undefined {
    return this.operations.getStore()?.deadline;
  }

  /**
   * Waits for `promise`, or fails with MaxTimeMSExpired once the calling operation's deadline
   * passes (the promise is left to settle on its own).
   */
  async untilDeadline<T>(promise: Promise<T>): Promise<T> {
    const deadline = this.operationDeadline;
    if (deadline === undefined) return promise;
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw maxTimeExpired();
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(maxTimeExpired()), remaining);
    });
    try {
      return await Promise.race([promise, expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async waitUntilWritable(namespaces?: readonly string[]): Promise<void> {
    const state = this.operations.getStore();
    try {
      for (;;) {
        if (this.closing) throw new CommandError(ErrorCodes.InterruptedAtShutdown, 'interrupted at shutdown');
        if (this.blockers.size > 0) {
          if (state !== undefined) state.waitingForLock = true;
          await this.untilDeadline(Promise.race([...this.blockers].map((blocker) => blocker.promise)));
          continue;
        }
        // Resolves at once unless a point-in-time write (a restore, a repair) holds the engine.
        await this.untilDeadline(whenWritable(this.connection, this.tablesWrittenBy(namespaces)));
        if (this.blockers.size === 0 && !this.closing) return;
      }
    } finally {
      if (state !== undefined) state.waitingForLock = false;
    }
  }

  /**
   * The tables a write to `namespaces` touches (each collection's and, for replicated ones, the
   * oplog's), or undefined when one does not exist yet (creating it is a schema change).
   */
  private tablesWrittenBy(namespaces: readonly string[] | undefined): string[] | undefined {
    if (namespaces === undefined) return undefined;
    const uris: string[] = [];
    for (const ns of namespaces) {
      const entry = this.catalog.get(ns);
      if (entry === undefined) return undefined;
      uris.push(entry.uri);
      const oplog = this.catalog.get(oplogNamespace);
      if (!entry.local && oplog !== undefined) uris.push(oplog.uri);
    }
    return uris;
  }

  private assertInsideWrite(): void {
    if (!this.insideWrite) throw new Error('storage writes must run inside Storage.write()');
  }

  private block(): WriteBlocker {
    let release!: () => void;
    const promise = new Promise<void>((resolve) => (release = resolve));
    const blocker: WriteBlocker = {
      promise,
      release: () => {
        this.blockers.delete(blocker);
        release();
      },
    };
    this.blockers.add(blocker);
    return blocker;
  }

  /**
   * Commits `body`'s writes and the oplog entry (if any) in one transaction at a new timestamp,
   * then moves the stable timestamp there. Returns the timestamp.
   */
  private commit(operation: OplogOperation | undefined, body: (session: Session) => void): bigint {
    this.assertInsideWrite();
    // A replicated write on a follower (the engine refuses any write to a shared table too).
    if (operation !== undefined && this.currentRole === 'follower') throw notWritablePrimary();
    // Someone else (a restore, a repair) may have moved the stable timestamp: stay above it.
    this.clock.advanceTo(this.connection.stableTimestamp);
    const timestamp = this.clock.tick();
    const session = this.writeSession;
    session.beginTransaction();
    try {
      body(session);
      if (operation !== undefined) {
        const oplog = this.catalog.get(oplogNamespace)!;
        const ts = bigIntToTimestamp(timestamp);
        const entry: Document = { op: operation.op, ns: operation.ns };
        if (operation.ui !== undefined) entry.ui = operation.ui;
        entry.o = operation.o;
        if (operation.o2 !== undefined) entry.o2 = operation.o2;
        Object.assign(entry, { ts, t: Long.fromNumber(this.term), v: Long.fromNumber(2), wall: new Date() });
        withCursor(session, oplog.uri, (cursor) => cursor.insert(encodeKey(ts), encodeDocument(entry)));
      }
      session.commitTransaction({ commitTimestamp: timestamp });
      if (operation !== undefined) this.adjustRecordCount(this.catalog.get(oplogNamespace)!, 1);
    } catch (error) {
      if (session.inTransaction) session.rollbackTransaction();
      throw error;
    }
    this.connection.setTimestamps({ stable: timestamp, oldest: timestamp });
    return timestamp;
  }

  /** Writes an oplog entry on its own (a no-op `n` entry, for example). */
  logOperation(operation: OplogOperation): bigint {
    return this.commit(operation, () => {});
  }

  /** The oplog entry for a write to `entry`, or none for the `local` database (never replicated). */
  private oplogFor(entry: CollectionEntry, op: OplogOperation['op'], o: Document, o2?: Document): OplogOperation | undefined {
    if (entry.local) return undefined;
    return { op, ns: entry.ns, ui: entry.uuid, o, ...(o2 === undefined ? {} : { o2 }) };
  }

  /**
   * Creates a collection (and its table) and logs it. Throws NamespaceExists when it exists.
   * Must run inside `write()`.
   */
  createCollection(namespace: Namespace, options: Document = {}): CollectionEntry {
    this.assertInsideWrite();
    return this.createCollectionNow(namespace, options, true);
  }

  private createCollectionNow(namespace: Namespace, options: Document, logged: boolean): CollectionEntry {
    const checked = checkNamespace(namespace.db, namespace.collection);
    const ns = namespaceString(checked);
    if (this.catalog.has(ns)) throw new CommandError(ErrorCodes.NamespaceExists, `Collection ${ns} already exists.`);
    const local = checked.db === 'local';
    const entry: CollectionEntry = {
      ns,
      db: checked.db,
      name: checked.collection,
      uri: tableUriFor(checked),
      uuid: newUuid(),
      options,
      keyField: ns === oplogNamespace ? 'ts' : '_id',
      local,
    };
    try {
      if (this.connection.hasTable(entry.uri)) {
        // A table without a catalog entry (left by a crash between the two, or made by a repair):
        // the catalog is the authority, so the stale table is replaced.
        this.connection.dropTable(entry.uri);
      }
      this.connection.createTable(entry.uri, tableConfig, local ? { shared: false } : {});
    } catch (error) {
      if (isEngineError(error, ErrorCode.InvalidArgument)) throw new CommandError(ErrorCodes.InvalidNamespace, `Invalid namespace ${ns}: ${error.message}`);
      throw error;
    }
    const record = catalogRecord(entry);
    const write = (session: Session): void => withCursor(session, catalogUri, (cursor) => cursor.put(Buffer.from(ns, 'utf8'), encodeDocument(record)));
    const idIndex = { v: 2, key: { _id: 1 }, name: '_id_' };
    const operation: OplogOperation | undefined =
      logged && !local ? { op: 'c', ns: `${checked.db}.$cmd`, ui: entry.uuid, o: { create: checked.collection, ...options, idIndex } } : undefined;
    this.commit(operation, write);
    this.catalog.set(ns, entry);
    this.logger.info(LogComponent.Storage, LogId.CollectionCreated, 'createCollection', { namespace: ns, uuid: entry.uuid.toHexString(), uri: entry.uri, options });
    return entry;
  }

  /** Drops a collection and its table, and logs it. Must run inside `write()`. */
  dropCollection(entry: CollectionEntry): void {
    this.assertInsideWrite();
    const count = this.countRecords(entry);
    const operation: OplogOperation | undefined = entry.local
      ? undefined
      : { op: 'c', ns: `${entry.db}.$cmd`, ui: entry.uuid, o: { drop: entry.name }, o2: { numRecords: Long.fromNumber(count) } };
    this.commit(operation, (session) => withCursor(session, catalogUri, (cursor) => cursor.remove(Buffer.from(entry.ns, 'utf8'))));
    this.catalog.delete(entry.ns);
    this.recordCounts.delete(entry.uri);
    this.connection.dropTable(entry.uri);
    this.logger.info(LogComponent.Storage, LogId.CollectionDropped, 'Dropped collection', { namespace: entry.ns, uuid: entry.uuid.toHexString() });
  }

  /** Drops every collection of `db` and logs `dropDatabase`. Must run inside `write()`. */
  dropDatabase(db: string): void {
    this.assertInsideWrite();
    const entries = this.collections(db);
    for (const entry of entries) {
      this.commit(undefined, (session) => withCursor(session, catalogUri, (cursor) => cursor.remove(Buffer.from(entry.ns, 'utf8'))));
      this.catalog.delete(entry.ns);
      this.recordCounts.delete(entry.uri);
      this.connection.dropTable(entry.uri);
    }
    if (db !== 'local') this.logOperation({ op: 'c', ns: `${db}.$cmd`, o: { dropDatabase: 1 } });
    this.logger.info(LogComponent.Storage, LogId.DatabaseDropped, 'dropDatabase', { db, collections: entries.length });
  }

  /**
   * Inserts a document (which must have the key field). Throws DuplicateKey (11000) when its
   * key exists. Must run inside `write()`.
   */
  insertDocument(entry: CollectionEntry, document: Document): bigint {
    const key = encodeKey(document[entry.keyField]);
    const value = encodeDocument(document);
    try {
      const timestamp = this.commit(this.oplogFor(entry, 'i', document, { [entry.keyField]: document[entry.keyField] }), (session) =>
        withCursor(session, entry.uri, (cursor) => cursor.insert(key, value)),
      );
      this.adjustRecordCount(entry, 1);
      return timestamp;
    } catch (error) {
      if (isEngineError(error, ErrorCode.AlreadyExists)) throw duplicateKeyError(entry, entry.keyField, document[entry.keyField]);
      throw error;
    }
  }

  /**
   * Inserts one prepared document as `insertDocuments` inserts a group: stored, keyed and
   * logged from its bytes, never from a decoded copy (which can differ: bson decodes a document
   * shaped like a DBRef into one). Throws DuplicateKey (11000) when its key exists. Must run
   * inside `write()`.
   */
  insertEncodedDocument(entry: CollectionEntry, document: EncodedDocument): void {
    try {
      this.insertDocuments(entry, [document]);
    } catch (error) {
      if (!isEngineError(error, ErrorCode.AlreadyExists)) throw error;
      const keyEnd = leadingElementEnd(document.encoded, entry.keyField);
      const keyValue = (keyEnd === undefined ? decodeDocument(document.encoded) : decodeDocument(leadingElementDocument(document.encoded, keyEnd)))[entry.keyField];
      throw duplicateKeyError(entry, entry.keyField, keyValue);
    }
  }

  /**
   * Inserts `documents` (each with the key field) in one engine transaction, each with its own
   * oplog entry at its own timestamp, as mongod groups the documents of an insert batch into one
   * storage transaction: one journal record and one commit instead of one per document. All or
   * nothing: on any failure (a duplicate key) nothing is written and the error is thrown, and the
   * caller inserts the group one document at a time to find which one fails. Must run inside
   * `write()`.
   */
  insertDocuments(entry: CollectionEntry, documents: readonly EncodedDocument[]): void {
    this.assertInsideWrite();
    this.clock.advanceTo(this.connection.stableTimestamp);
    const session = this.writeSession;
    const oplogUri = entry.local ? undefined : this.catalog.get(oplogNamespace)!.uri;
    let timestamp = 0n;
    session.beginTransaction();
    try {
      const collection = session.openCursor(entry.uri);
      const oplog = oplogUri === undefined ? undefined : session.openCursor(oplogUri);
      try {
        const oplogEntries = oplog === undefined ? undefined : new InsertOplogEntries(entry.ns, entry.uuid, this.term, new Date());
        for (const { encoded, key } of documents) {
          timestamp = this.clock.tick();
          collection.insert(key, encoded);
          if (oplog !== undefined) {
            const o2 = leadingElementEnd(encoded, entry.keyField) ?? encodeDocument({ [entry.keyField]: decodeDocument(encoded)[entry.keyField] });
            const seconds = this.clock.currentSeconds;
            const increment = this.clock.currentIncrement;
            oplog.insert(encodeTimestampKey(seconds, increment), oplogEntries!.encode(encoded, o2, seconds, increment));
          }
        }
      } finally {
        collection.close();
        oplog?.close();
      }
      session.commitTransaction({ commitTimestamp: timestamp });
    } catch (error) {
      if (session.inTransaction) session.rollbackTransaction();
      throw error;
    }
    this.adjustRecordCount(entry, documents.length);
    if (!entry.local) this.adjustRecordCount(this.catalog.get(oplogNamespace)!, documents.length);
    this.connection.setTimestamps({ stable: timestamp, oldest: timestamp });
  }

  /** Replaces the document stored under `key`, logging the full post-image. Must run inside `write()`. */
  replaceDocument(entry: CollectionEntry, key: Buffer, document: Document): bigint {
    const value = encodeDocument(document);
    return this.commit(this.oplogFor(entry, 'u', document, { [entry.keyField]: document[entry.keyField] }), (session) =>
      withCursor(session, entry.uri, (cursor) => cursor.update(key, value)),
    );
  }

  /** Removes the document stored under `key`. Must run inside `write()`. */
  deleteDocument(entry: CollectionEntry, key: Buffer, keyValue: unknown): bigint {
    let removed = false;
    const timestamp = this.commit(this.oplogFor(entry, 'd', { [entry.keyField]: keyValue }), (session) =>
      withCursor(session, entry.uri, (cursor) => {
        removed = cursor.remove(key);
      }),
    );
    if (removed) this.adjustRecordCount(entry, -1);
    return timestamp;
  }

  // ---- Reads ---------------------------------------------------------------------------------

  /** The document whose key field equals `keyValue`, with its key (as of a follower's held `view`, if given). */
  findByKey(entry: CollectionEntry, keyValue: unknown, view?: CheckpointViewHold): { key: Buffer; document: Document } | undefined {
    const key = encodeKey(keyValue);
    return this.read(() =>
      withCursor(this.readSession, entry.uri, (cursor) => {
        const value = cursor.get(key);
        return value === undefined ? undefined : { key, document: decodeDocument(value as Buffer) };
      }, view),
    );
  }

  /** The document stored under an encoded key. */
  findByEncodedKey(entry: CollectionEntry, key: Buffer): Document | undefined {
    return this.read(() =>
      withCursor(this.readSession, entry.uri, (cursor) => {
        const value = cursor.get(key);
        return value === undefined ? undefined : decodeDocument(value as Buffer);
      }),
    );
  }

  /**
   * The documents an access plan selects, in key order (or reverse), read lazily in chunks: an
   * engine cursor is opened per chunk and closed before the chunk is handed out, so a paused
   * scan (a client cursor between batches) holds nothing open and sees later writes beyond its
   * position. Fails with QueryPlanKilled if the collection is dropped meanwhile.
   */
  *scan(entry: CollectionEntry, plan: AccessPlan = { kind: 'scan' }, reverse = false): Generator<{ key: Buffer; document: Document }> {
    // A follower's scan stays on the checkpoint it started on, through every batch and every
    // pick-up meanwhile (the lease keeps the leader from pruning it), like a cursor of
    // WiredTiger on a checkpoint.
    const view = this.currentRole === 'follower' && !entry.local ? this.connection.holdCheckpointView() : undefined;
    try {
      yield* this.scanChunks(entry, plan, reverse, view);
    } finally {
      view?.release();
    }
  }

  private *scanChunks(entry: CollectionEntry, plan: AccessPlan, reverse: boolean, view: CheckpointViewHold | undefined): Generator<{ key: Buffer; document: Document }> {
    const live = (): CollectionEntry => (view === undefined ? this.liveEntry(entry) : entry);
    if (plan.kind === 'points') {
      const values = reverse ? [...plan.values].reverse() : plan.values;
      for (const value of values) {
        const found = this.findByKey(live(), value, view);
        if (found) yield found;
      }
      return;
    }
    const range: Range = { reverse };
    if (plan.kind === 'range') {
      if (plan.lower) range[plan.lower.inclusive ? 'gte' : 'gt'] = encodeKey(plan.lower.value);
      else range.gte = typeBracketStart(plan.bracket);
      if (plan.upper) range[plan.upper.inclusive ? 'lte' : 'lt'] = encodeKey(plan.upper.value);
      else range.lt = typeBracketEnd(plan.bracket);
    }
    for (;;) {
      const chunk = this.read(() =>
        withCursor(this.readSession, live().uri, (cursor) => {
          const records: { key: Buffer; document: Document }[] = [];
          for (const [key, value] of cursor.entries(range)) {
            records.push({ key: key as Buffer, document: decodeDocument(value as Buffer) });
            if (records.length >= scanChunkSize) break;
          }
          return records;
        }, view),
      );
      yield* chunk;
      if (chunk.length < scanChunkSize) return;
      const last = chunk[chunk.length - 1]!.key;
      // Continue after the last key read, keeping the far bound.
      if (reverse) {
        delete range.lte;
        range.lt = last;
      } else {
        delete range.gte;
        range.gt = last;
      }
    }
  }

  /** The entry if the collection still exists with the same identity, else QueryPlanKilled. */
  private liveEntry(entry: CollectionEntry): CollectionEntry {
    const current = this.catalog.get(entry.ns);
    if (current === undefined || !current.uuid.equals(entry.uuid)) {
      throw new CommandError(175, `collection dropped: ${entry.ns}`);
    }
    return current;
  }

  /**
   * The number of records of a collection: its keys are counted (no document is decoded) the
   * first time it is asked after the engine opened, and the count is then kept exact by every
   * insert and delete, so later calls answer at once.
   */
  countRecords(entry: CollectionEntry): number {
    const known = this.recordCounts.get(entry.uri);
    if (known !== undefined) return known;
    const counted = this.read(() =>
      withCursor(this.readSession, entry.uri, (cursor) => {
        let count = 0;
        for (const record of cursor.entries()) {
          void record;
          count += 1;
        }
        return count;
      }),
    );
    this.recordCounts.set(entry.uri, counted);
    return counted;
  }

  /** Moves a table's record count by `delta` after a committed insert or delete, if it is known. */
  private adjustRecordCount(entry: CollectionEntry, delta: number): void {
    const known = this.recordCounts.get(entry.uri);
    if (known !== undefined) this.recordCounts.set(entry.uri, known + delta);
  }

  private read<T>(work: () => T): T {
    try {
      return work();
    } catch (error) {
      throw engineErrorToCommandError(error);
    }
  }

  /**
   * Checks a collection: the engine's verifier checks the table's durable pages and metadata
   * (every finding is reported with its location), then every current record is read and must
   * be a valid BSON document stored under the encoding of its key field.
   */
  async validate(entry: CollectionEntry): Promise<{ records: number; errors: string[]; warnings: string[]; corruptRecords: unknown[] }> {
    const errors: string[] = [];
    const warnings: string[] = [];
    const corruptRecords: unknown[] = [];
    let records = 0;
    try {
      const report = await collectReport(verifyTable(this.connection, entry.uri));
      for (const finding of report.findings) (finding.severity === 'error' ? errors : warnings).push(formatFinding(finding));
    } catch (error) {
      errors.push(`engine verification failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    try {
      const cursor = this.readSession.openCursor(entry.uri);
      try {
        for (const [key, value] of cursor.entries()) {
          records += 1;
          const hexKey = (key as Buffer).toString('hex');
          let document: Document;
          try {
            document = decodeDocument(value as Buffer);
          } catch (error) {
            errors.push(`record ${records} under key ${hexKey} is not valid BSON: ${(error as Error).message}`);
            corruptRecords.push(hexKey);
            continue;
          }
          if (!encodeKey(document[entry.keyField]).equals(key as Buffer)) {
            errors.push(`record ${records} under key ${hexKey} is not stored under its ${entry.keyField}`);
            corruptRecords.push(hexKey);
          }
        }
      } finally {
        cursor.close();
      }
    } catch (error) {
      errors.push(`reading the table failed after ${records} records: ${error instanceof Error ? error.message : String(error)}`);
    }
    return { records, errors, warnings, corruptRecords };
  }

  // ---- Roles: a leader and followers sharing one page log ----------------------------------------

  /** `follower` when this node serves another node's checkpoints of a shared page log; else `leader`. */
  get role(): 'leader' | 'follower' {
    return this.currentRole;
  }

  /** Calls `listener` after every step-up and step-down. */
  onRoleChange(listener: () => void): void {
    this.roleListeners.push(listener);
  }

  private setRole(role: 'leader' | 'follower'): void {
    this.currentRole = role;
    for (const listener of this.roleListeners) listener();
  }

  /**
   * Follower: picks up the checkpoint `id` (default the newest) and reloads the catalog from
   * it when it changed. Scans already open stay on the checkpoint they started on.
   */
  pickUpCheckpoint(id?: string): Promise<CheckpointInfo | undefined> {
    return this.onRoleChain(async () => {
      if (this.currentRole !== 'follower') throw new CommandError(ErrorCodes.IllegalOperation, 'only a follower picks up checkpoints: this node is the leader');
      const before = this.connection.disaggStatus()?.checkpoint?.id;
      let info: CheckpointInfo | undefined;
      try {
        info = await this.connection.pickUpCheckpoint(id);
      } catch (error) {
        throw engineErrorToCommandError(error);
      }
      if (info !== undefined && info.id !== before) this.reloadCatalog();
      return info;
    });
  }

  /**
   * Follower to leader (`replSetStepUp`): the engine takes the page log's writer role with a new
   * term, which fences the old leader; then the catalog and oplog are made the leader's and the
   * clock and term move past the checkpoint continued from.
   */
  stepUp(): Promise<CheckpointInfo | undefined> {
    return this.onRoleChain(async () => {
      if (this.currentRole === 'leader') throw new CommandError(ErrorCodes.IllegalOperation, 'this node is the leader already');
      const blocker = this.block();
      try {
        const checkpoint = await this.connection.stepUp();
        this.setRole('leader');
        this.catalog.clear();
        if (checkpoint !== undefined) this.clock.advanceTo(checkpoint.timestamp);
        this.prepareLeader();
        this.logger.info(LogComponent.Replication, LogId.SteppedUp, 'Transition to PRIMARY complete; database writes are now permitted', {
          term: this.term, checkpoint: checkpoint?.id ?? null,
        });
        return checkpoint;
      } catch (error) {
        throw engineErrorToCommandError(error);
      } finally {
        blocker.release();
      }
    });
  }

  /**
   * Leader to follower (`replSetStepDown`, or after a newer term fenced this node): a final
   * checkpoint unless fenced, then the node serves the newest checkpoint as a follower. Writes
   * are held meanwhile and refused afterwards (NotWritablePrimary).
   */
  stepDown(options: { fenced?: boolean } = {}): Promise<void> {
    return this.onRoleChain(async () => {
      if (this.currentRole === 'follower') throw new CommandError(ErrorCodes.NotWritablePrimary, 'not primary so can\'t step down');
      const blocker = this.block();
      try {
        await this.checkpointChain;
        const term = this.connection.disaggStatus()?.term;
        await this.connection.stepDown(options);
        this.setRole('follower');
        this.reloadCatalog();
        this.logger.info(LogComponent.Replication, LogId.SteppedDown, options.fenced ? 'Stepped down: a newer term fenced this node' : 'Stepped down: this node follows the page log', { term });
      } catch (error) {
        throw engineErrorToCommandError(error);
      } finally {
        blocker.release();
      }
    });
  }

  private onRoleChain<T>(work: () => Promise<T>): Promise<T> {
    const run = this.roleChain.then(work);
    this.roleChain = run.catch(() => undefined);
    return run;
  }

  // ---- Checkpoints and lifecycle -------------------------------------------------------------

  /**
   * Takes a checkpoint at the stable timestamp (which is the last write's timestamp), holding
   * writes back while it runs. Checkpoints run one after another.
   */
  checkpoint(): Promise<CheckpointInfo> {
    const run = this.checkpointChain.then(async () => {
      const blocker = this.block();
      try {
        const checkpoint = await this.connection.checkpoint();
        this.lastFailedCheckpoint = undefined;
        return checkpoint;
      } catch (error) {
        this.recordCheckpointFailure(error);
        throw engineErrorToCommandError(error);
      } finally {
        blocker.release();
      }
    });
    this.checkpointChain = run.catch(() => undefined);
    return run;
  }

  lastCheckpoint(): CheckpointInfo | undefined {
    return this.connection.lastCheckpoint();
  }

  /**
   * Resolves once every write committed before the call is durable in the journal (with its
   * oplog entry): the wait of `j: true`, `fsync: true` and `w: 'majority'`. Concurrent callers
   * share one fsync (group commit). Without a journal, a checkpoint.
   */
  async awaitJournalDurable(): Promise<void> {
    try {
      while (this.journalWaitPause !== undefined) await this.journalWaitPause.promise;
      // Without a journal (an engine opened without one), only a checkpoint makes the write
      // durable: an acknowledgement never promises more than the disk holds.
      if (this.connection.journalStats() === undefined) await this.checkpoint();
      else await this.connection.syncJournal();
    } catch (error) {
      throw engineErrorToCommandError(error);
    }
  }

  /**
   * Test-only (`injectFault: "pauseJournalFlusher"`, as mongod's `pauseJournalFlusherThread`
   * fail point): durability waits hold until `resumeJournalWaits`, so a write concern that
   * asks for durability cannot be satisfied meanwhile. Writes themselves go on.
   */
  pauseJournalWaits(): void {
    if (this.journalWaitPause !== undefined) return;
    let release!: () => void;
    const promise = new Promise<void>((resolve) => (release = resolve));
    this.journalWaitPause = { promise, release };
  }

  /** Ends `pauseJournalWaits`: the held waits sync the journal and resolve. */
  resumeJournalWaits(): void {
    const pause = this.journalWaitPause;
    this.journalWaitPause = undefined;
    pause?.release();
  }

  /** True while durability waits are paused (test-only). */
  get journalWaitsPaused(): boolean {
    return this.journalWaitPause !== undefined;
  }

  /** Reads the catalog again (after replication recovery created or dropped collections). */
  reloadCatalog(): void {
    this.catalog.clear();
    this.recordCounts.clear();
    this.loadCatalog();
  }

  /** Why writes are refused until a restart, if they are. */
  get storageFailure(): StorageFailure | undefined {
    return this.failure;
  }

  /** The last failed checkpoint, until one succeeds. */
  get checkpointFailure(): StorageFailure | undefined {
    return this.lastFailedCheckpoint;
  }

  /**
   * Logs a failed checkpoint with its engine code and location. Storage that vanished or was
   * replaced, and a page log whose commit failed, cannot take another checkpoint: writes are
   * refused until a restart. A full disk in local mode only fails this checkpoint: the next one
   * retries once space is freed.
   */
  private recordCheckpointFailure(error: unknown): void {
    const code = error instanceof EngineError ? error.code : 'UNKNOWN';
    if (code === ErrorCode.Fenced) {
      // Not a failure of the storage: another node leads now. This one steps down.
      this.logger.warning(LogComponent.Storage, LogId.Fenced, 'Checkpoint refused: a newer term fenced this node; stepping down', {
        error: error instanceof Error ? error.message : String(error),
      });
      if (this.currentRole === 'leader' && !this.closing) {
        void this.stepDown({ fenced: true }).catch((stepDownError: unknown) => {
          this.logger.error(LogComponent.Storage, LogId.Fenced, 'Step-down after fencing failed', { error: stepDownError instanceof Error ? stepDownError.message : String(stepDownError) });
        });
      }
      return;
    }
    const failure: StorageFailure = {
      code,
      message: error instanceof Error ? error.message : String(error),
      location: error instanceof EngineError ? { ...error.location } : {},
      since: new Date(),
    };
    this.lastFailedCheckpoint = failure;
    this.logger.error(LogComponent.Storage, LogId.CheckpointFailed, 'Checkpoint failed', {
      engineErrorCode: code, error: failure.message, location: failure.location,
    });
    const pageLogBroken = this.connection.storage === 'disagg' && (code === ErrorCode.PageLog || code === ErrorCode.NoSpace);
    if (this.failure === undefined && (code === ErrorCode.StorageReplaced || pageLogBroken)) {
      this.failure = failure;
      this.logger.error(LogComponent.Storage, LogId.StorageFailed, 'Storage failed: writes are refused until the server restarts', {
        engineErrorCode: code, error: failure.message, location: failure.location,
      });
    }
  }

  /** The latest timestamp handed to a write (the last applied optime). */
  get lastAppliedTimestamp(): bigint {
    return this.clock.current;
  }

  /**
   * A cluster time a client gossiped (`$clusterTime`): the logical clock moves up to it, so the
   * next write's timestamp is above it, as mongod's clock does. Never moves the clock back.
   */
  advanceClusterTime(clusterTime: bigint): void {
    this.clock.advanceTo(clusterTime);
  }

  /**
   * A fresh timestamp from the logical clock, below the commit timestamp of any later write
   * (for values such as `clusterParameterTime` that name the moment of an operation).
   */
  reserveTimestamp(): bigint {
    this.clock.advanceTo(this.connection.stableTimestamp);
    return this.clock.tick();
  }

  /**
   * Holds every write back until `unlockWrites` (fsync lock), takes a checkpoint, and freezes
   * the engine's files: no checkpoint, page-log prune or eviction write runs until the last
   * lock is lifted, so a copy of the home taken meanwhile is that checkpoint exactly. Writes
   * are held before the checkpoint, so none lands between it and the freeze. A second lock
   * only counts (the files are frozen already). Resolves with the lock count and the
   * checkpoint the files hold.
   */
  async lockWrites(): Promise<{ lockCount: number; checkpoint: CheckpointInfo }> {
    if (this.activeBackup !== undefined) {
      throw new CommandError(LocationCodes.BackupCursorOpenAtFsyncLock, 'The existing backup cursor must be closed before fsyncLock can succeed.');
    }
    const lock = this.block();
    this.fsyncLocks.push(lock);
    try {
      for (;;) {
        // A lock taken while the first one is still checkpointing and freezing is granted only
        // once the files really are frozen: until then a copy could tear.
        if (this.engineFreezing !== undefined) {
          await this.engineFreezing.catch(() => undefined);
          continue;
        }
        if (this.engineFreeze !== undefined) return { lockCount: this.fsyncLocks.length, checkpoint: this.lastCheckpoint()! };
        // A placeholder until the engine answers: an unlock meanwhile clears or replaces it, and
        // then the freeze obtained here is released at once.
        const placeholder = { release: () => {} };
        this.engineFreeze = placeholder;
        const freezing = (async (): Promise<void> => {
          await this.checkpoint();
          const freeze = await this.connection.freezeWrites();
          if (this.engineFreeze === placeholder) this.engineFreeze = freeze;
          else freeze.release();
        })();
        this.engineFreezing = freezing;
        try {
          await freezing;
        } catch (error) {
          if (this.engineFreeze === placeholder) this.engineFreeze = undefined;
          throw error;
        } finally {
          if (this.engineFreezing === freezing) this.engineFreezing = undefined;
        }
        // A checkpoint queued before the lock (a write concern's) may have run after this one:
        // the files hold the last one (with the same writes, since the lock held them back).
        return { lockCount: this.fsyncLocks.length, checkpoint: this.lastCheckpoint()! };
      }
    } catch (error) {
      const index = this.fsyncLocks.indexOf(lock);
      if (index >= 0) this.fsyncLocks.splice(index, 1);
      lock.release();
      throw engineErrorToCommandError(error);
    }
  }

  /**
   * The checkpoint an fsync lock froze the files at, once they are frozen (an `fsync` without
   * `lock` under the lock: nothing was written since, and a new checkpoint would wait for the
   * unlock).
   */
  async checkpointUnderLock(): Promise<CheckpointInfo> {
    while (this.engineFreezing !== undefined) await this.engineFreezing.catch(() => undefined);
    return this.fsyncLocked ? this.lastCheckpoint()! : this.checkpoint();
  }

  /**
   * Opens a backup (`$backupCursor`): pins the last checkpoint in the engine (its files stay
   * copyable while writes and checkpoints go on) and describes it. One at a time (50886), and
   * not under an fsync lock (50887), as mongod. Close it with `closeBackup`.
   */
  async openBackup(): Promise<OpenBackup> {
    if (this.fsyncLocked) throw new CommandError(LocationCodes.FsyncLockedAtBackupCursor, 'The node is currently fsyncLocked.');
    if (this.activeBackup !== undefined) throw new CommandError(LocationCodes.BackupCursorOpen, 'The existing backup cursor must be closed before $backupCursor can succeed.');
    this.activeBackup = 'opening';
    let pin: BackupPin;
    try {
      pin = await this.connection.pinCheckpointForBackup();
    } catch (error) {
      this.activeBackup = undefined;
      throw engineErrorToCommandError(error);
    }
    const checkpointTimestamp = pin.checkpoint.timestamp;
    const backup: OpenBackup = {
      backupId: newUuid(),
      dbpath: this.connection.home,
      checkpointTimestamp,
      files: this.describeBackupFiles(pin),
      ...this.oplogBounds(checkpointTimestamp),
      journalFilesThrough: (timestamp) => pin.journalFilesThrough(timestamp),
      release: () => pin.release(),
    };
    this.activeBackup = backup;
    this.logger.info(LogComponent.Storage, LogId.BackupCursorOpened, 'Opened backup cursor', { backupId: backup.backupId.toHexString(), checkpointId: pin.checkpoint.id });
    return backup;
  }

  /** The pinned files as `$backupCursor` lists them, each collection's file with its `ns` and `uuid`. */
  private describeBackupFiles(pin: BackupPin): BackupFileEntry[] {
    const collectionsByFile = new Map<string, CollectionEntry>();
    for (const entry of this.catalog.values()) {
      if (!entry.local || !this.connection.hasTable(entry.uri)) continue;
      collectionsByFile.set(this.connection.getTable(entry.uri).fileUri.slice('file:'.length), entry);
    }
    return pin.files.map((file) => {
      const collection = collectionsByFile.get(file.path);
      return {
        filename: join(this.connection.home, file.path),
        fileSize: file.size,
        required: true,
        ns: collection?.ns ?? '',
        uuid: collection?.uuid.toHexString(true) ?? '',
      };
    });
  }

  /** Closes the open backup `backupId` (its cursor was killed, timed out or the server stops). */
  closeBackup(backupId: UUID): void {
    const backup = this.activeBackup;
    if (backup === undefined || backup === 'opening' || !backup.backupId.equals(backupId)) return;
    this.activeBackup = undefined;
    backup.release();
    this.logger.info(LogComponent.Storage, LogId.BackupCursorClosed, 'Closed backup cursor', { backupId: backupId.toHexString() });
  }

  /**
   * `$backupCursorExtend`: waits (within the operation's `maxTimeMS`) until writes reached
   * `timestamp` and are durable, then lists the journal files (`WiredTigerLog.*`) that carry
   * the oplog from the backup's checkpoint up to it, with their sizes now: from the file of
   * the checkpoint's `checkpoint_lsn` through the one holding the commit at `timestamp`. The
   * backup's pin keeps them until it is released. A copy with them starts at `timestamp` or
   * later (the journal replays the oplog, replication recovery applies it). Without a journal
   * there are none. 51011 when `backupId` is not the open backup.
   */
  async extendBackup(backupId: UUID, timestamp: bigint): Promise<BackupFileEntry[]> {
    const backup = this.activeBackup;
    if (backup === undefined || backup === 'opening' || !backup.backupId.equals(backupId)) {
      throw new CommandError(LocationCodes.BackupIdNotFound, `Cannot extend backup cursor, backupId was not found. BackupId: ${backupId.toHexString()}`);
    }
    while (this.clock.current < timestamp) {
      await this.untilDeadline(new Promise((resolve) => setTimeout(resolve, 10)));
    }
    await this.untilDeadline(this.awaitJournalDurable());
    if (this.activeBackup !== backup) {
      throw new CommandError(LocationCodes.BackupIdNotFound, `Cannot extend backup cursor, backupId was not found. BackupId: ${backupId.toHexString()}`);
    }
    const home = this.connection.home;
    try {
      return backup.journalFilesThrough(timestamp).map((file) => ({ filename: join(home, file.path), fileSize: file.size }));
    } catch (error) {
      throw engineErrorToCommandError(error);
    }
  }

  /** The first oplog entry's optime and the last one the checkpoint at `checkpointTimestamp` holds. */
  private oplogBounds(checkpointTimestamp: bigint): { oplogStart?: Document; oplogEnd?: Document } {
    const oplog = this.catalog.get(oplogNamespace);
    if (oplog === undefined) return {};
    const optime = (value: Buffer | undefined): Document | undefined => {
      if (value === undefined) return undefined;
      const entry = decodeDocument(value);
      return { ts: entry.ts, t: entry.t };
    };
    return this.read(() =>
      withCursor(this.readSession, oplog.uri, (cursor) => {
        let start: Document | undefined;
        for (const [, value] of cursor.entries()) {
          start = optime(value as Buffer);
          break;
        }
        let end: Document | undefined;
        for (const [, value] of cursor.entries({ reverse: true, lte: encodeKey(bigIntToTimestamp(checkpointTimestamp)) })) {
          end = optime(value as Buffer);
          break;
        }
        return start === undefined || end === undefined ? {} : { oplogStart: start, oplogEnd: end };
      }),
    );
  }

  /** True while a `$backupCursor` holds its backup open. */
  get backupCursorOpen(): boolean {
    return this.activeBackup !== undefined && this.activeBackup !== 'opening';
  }

  /** True while an fsync lock holds writes and the engine's files. */
  get fsyncLocked(): boolean {
    return this.fsyncLocks.length > 0;
  }

  /** Lifts one fsync lock; returns the remaining count (-1 when none was held). */
  unlockWrites(): number {
    const lock = this.fsyncLocks.pop();
    if (lock === undefined) return -1;
    lock.release();
    if (this.fsyncLocks.length === 0) this.thawEngine();
    return this.fsyncLocks.length;
  }

  private thawEngine(): void {
    const freeze = this.engineFreeze;
    this.engineFreeze = undefined;
    freeze?.release();
  }

  get writeLockCount(): number {
    return this.fsyncLocks.length;
  }

  /**
   * Closes the engine: waiting writes fail with InterruptedAtShutdown, a running checkpoint
   * finishes, and the engine takes its final checkpoint.
   */
  async close(): Promise<void> {
    this.closing = true;
    await this.roleChain;
    const backup = this.activeBackup;
    if (backup !== undefined && backup !== 'opening') this.closeBackup(backup.backupId);
    for (const blocker of [...this.blockers]) blocker.release();
    this.fsyncLocks = [];
    this.thawEngine();
    await this.checkpointChain;
    this.writeSession.close();
    this.readSession.close();
    this.logger.info(LogComponent.Storage, LogId.EngineClosing, 'Closing the storage engine (final checkpoint)');
    await this.connection.close();
    this.logger.info(LogComponent.Storage, LogId.EngineClosed, 'Storage engine closed', { lastCheckpoint: this.connection.lastCheckpoint()?.id });
  }
}

/** A checkpoint failure as serverStatus and write errors report it. */
export interface StorageFailure {
  /** The engine error code (`STORAGE_REPLACED`, `NO_SPACE`, `PAGE_LOG`...). */
  code: string;
  message: string;
  location: Record<string, unknown>;
  since: Date;
}

/** Runs `work` with a cursor on `uri` (as of a follower's held `view`, if given), closing it afterwards. */
function withCursor<T>(session: Session, uri: string, work: (cursor: Cursor) => T, view?: CheckpointViewHold): T {
  const cursor = session.openCursor(uri, view === undefined ? {} : { view });
  try {
    return work(cursor);
  } finally {
    cursor.close();
  }
}

/** The catalog table's record of a collection (its key is the namespace's UTF-8 bytes). */
export function catalogRecord(entry: CollectionEntry): Document {
  return { ns: entry.ns, uri: entry.uri, uuid: entry.uuid, options: entry.options, keyField: entry.keyField, local: entry.local };
}

function catalogEntryFromRecord(record: Document): CollectionEntry {
  const namespace = parseNamespace(String(record.ns));
  const uuidField = record.uuid as { toUUID?: () => UUID } | UUID;
  const uuid = uuidField instanceof UUID ? uuidField : (uuidField as { toUUID: () => UUID }).toUUID();
  return {
    ns: namespaceString(namespace),
    db: namespace.db,
    name: namespace.collection,
    uri: String(record.uri),
    uuid,
    options: (record.options as Document) ?? {},
    keyField: typeof record.keyField === 'string' ? record.keyField : '_id',
    local: record.local === true,
  };
}

/** mongod's duplicate key error for a unique index on `field` (the `_id_` index here). */
export function duplicateKeyError(entry: CollectionEntry, field: string, value: unknown): CommandError {
  const shown = JSON.stringify(value, (_key, inner) => (typeof inner === 'bigint' ? inner.toString() : inner)) ?? String(value);
  return new CommandError(ErrorCodes.DuplicateKey, `E11000 duplicate key error collection: ${entry.ns} index: ${field}_ dup key: { ${field}: ${shown} }`, {
    keyPattern: { [field]: 1 },
    keyValue: { [field]: value },
  });
}
