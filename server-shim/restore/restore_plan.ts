import { Long, ObjectId, Timestamp, UUID } from 'bson';
import type { PitMutation } from '../../engine/index.js';
import { compileUpdate } from '../query/index.js';
import {
  catalogRecord, catalogUri, checkNamespace, collectionTableConfig, namespaceString, oplogNamespace, parseNamespace,
  tableUriFor, type CollectionEntry, type Storage,
} from '../storage/index.js';
import { decodeDocument, encodeDocument, newUuid, encodeKey, type Document } from '../values/index.js';
import type { NamespaceUuid } from './restore_config.js';

/** The `config.clusterParameters` documents a restore keeps; every other one is deleted. */
export const ALLOWED_CLUSTER_PARAMETERS: ReadonlySet<string> = new Set([
  'defaultMaxTimeMS',
  'querySettings',
  'shardedClusterCardinalityForDirectConns',
  'fleCompactionOptions',
  'changeStreamOptions',
  'internalQueryCutoffForSampleFromRandomCursor',
  'internalSearchOptions',
  'configServerReadPreferenceForCatalogQueries',
  'pauseMigrationsDuringMultiUpdates',
]);

/** Replication state a restored node must not inherit. */
export const REPLICATION_STATE_NAMESPACES = [
  'local.system.replset',
  'local.replset.minvalid',
  'local.replset.oplogTruncateAfterPoint',
  'local.replset.election',
  'local.replset.initialSyncId',
] as const;

const CLUSTER_PARAMETERS = 'config.clusterParameters';

/** How far above the chosen term the higher-term no-op goes, as mongod's magic restore does. */
export const HIGHER_TERM_MARGIN = 100n;

/**
 * The minvalid document magic restore leaves, as mongod's: deliberately invalid (a zero
 * ObjectId, term -1, timestamp (0, 1)), so nothing reads it as a point the node must reach.
 */
export function invalidMinValidDocument(): Document {
  return { _id: new ObjectId('000000000000000000000000'), t: -1, ts: new Timestamp({ t: 0, i: 1 }) };
}

/**
 * The no-op entry that raises the term, as mongod's magic restore writes it after the top of
 * the oplog (`lastEntry`): one second later with increment 1, the larger of
 * `restoreToHigherTermThan` and the last entry's term plus 100, and a wall clock one second
 * after the last entry's. An entry without a wall clock counts as its timestamp's second.
 */
export function higherTermNoOpEntry(lastEntry: Document, restoreToHigherTermThan: bigint): Document {
  const lastTs = lastEntry.ts as Timestamp;
  const lastTerm = lastEntry.t === undefined ? 0n : BigInt(String(lastEntry.t));
  const term = (restoreToHigherTermThan > lastTerm ? restoreToHigherTermThan : lastTerm) + HIGHER_TERM_MARGIN;
  const lastWall = lastEntry.wall instanceof Date ? lastEntry.wall.getTime() : lastTs.t * 1000;
  return {
    op: 'n',
    ns: '',
    o: { msg: 'restore incrementing term' },
    ts: new Timestamp({ t: lastTs.t + 1, i: 1 }),
    t: Long.fromBigInt(term),
    v: Long.fromNumber(2),
    wall: new Date(lastWall + 1000),
  };
}

/** What applying an oplog entry did, for the step's log line. */
export interface ApplyCounts {
  inserted: number;
  updated: number;
  deleted: number;
  commands: number;
  noops: number;
  skipped: number;
}

/**
 * Builds the point-in-time mutations of a magic restore against the storage's current state,
 * keeping its own view of what the mutations so far have changed (created and dropped
 * collections, written and removed documents), so each step reads what the earlier ones left.
 * Nothing touches the engine until the caller hands `mutations` to the PIT write path.
 */
export class RestorePlan {
  readonly mutations: PitMutation[] = [];
  private readonly catalog = new Map<string, CollectionEntry>();
  /** Documents changed by the plan, per table: encoded key (latin1) -> document or removed. */
  private readonly changed = new Map<string, Map<string, { key: Buffer; document: Document | null }>>();
  /** Tables the plan emptied or created: their stored records no longer count. */
  private readonly emptied = new Set<string>();
  /** The timestamp the oplog was truncated after, once it was. */
  private oplogTruncatedAfter: Timestamp | undefined;

  constructor(private readonly storage: Storage) {
    for (const db of storage.databases()) for (const entry of storage.collections(db)) this.catalog.set(entry.ns, entry);
  }

  collection(ns: string): CollectionEntry | undefined {
    return this.catalog.get(ns);
  }

  /** Creates a collection (table + catalog record) in the plan, with a new UUID unless given one. */
  createCollection(ns: string, options: Document = {}, uuid: UUID = newUuid()): CollectionEntry {
    const namespace = checkNamespace(parseNamespace(ns).db, parseNamespace(ns).collection);
    const name = namespaceString(namespace);
    const entry: CollectionEntry = {
      ns: name, db: namespace.db, name: namespace.collection, uri: tableUriFor(namespace), uuid, options,
      keyField: name === oplogNamespace ? 'ts' : '_id', local: namespace.db === 'local',
    };
    // In local storage mode every table is a local file.
    const shared = !entry.local && this.storage.connection.storage === 'disagg';
    this.mutations.push({ kind: 'createTable', uri: entry.uri, config: collectionTableConfig, shared });
    this.mutations.push({ kind: 'put', uri: catalogUri, key: Buffer.from(name, 'utf8'), value: encodeDocument(catalogRecord(entry)) });
    this.catalog.set(name, entry);
    this.emptied.add(entry.uri);
    this.changed.delete(entry.uri);
    return entry;
  }

  /** Drops a collection (table + catalog record) in the plan. */
  dropCollection(entry: CollectionEntry): void {
    this.mutations.push({ kind: 'dropTable', uri: entry.uri });
    this.mutations.push({ kind: 'remove', uri: catalogUri, key: Buffer.from(entry.ns, 'utf8') });
    this.catalog.delete(entry.ns);
    this.changed.delete(entry.uri);
  }

  private existingOrCreated(ns: string): CollectionEntry {
    return this.catalog.get(ns) ?? this.createCollection(ns);
  }

  /** The document of `entry` stored under `key`, as the plan so far leaves it. */
  read(entry: CollectionEntry, key: Buffer): Document | undefined {
    const pending = this.changed.get(entry.uri)?.get(key.toString('latin1'));
    if (pending) return pending.document ?? undefined;
    if (this.emptied.has(entry.uri)) return undefined;
    return this.storage.findByEncodedKey(entry, key);
  }

  /** Every document of `entry` as the plan so far leaves it. */
  *documents(entry: CollectionEntry): Generator<{ key: Buffer; document: Document }> {
    const pending = this.changed.get(entry.uri) ?? new Map();
    if (!this.emptied.has(entry.uri)) {
      for (const record of this.storage.scan(entry)) {
        if (!pending.has(record.key.toString('latin1'))) yield record;
      }
    }
    for (const { key, document } of pending.values()) if (document) yield { key, document };
  }

  write(entry: CollectionEntry, key: Buffer, document: Document | null): void {
    let table = this.changed.get(entry.uri);
    if (!table) this.changed.set(entry.uri, (table = new Map()));
    table.set(key.toString('latin1'), { key, document });
    this.mutations.push(document
      ? { kind: 'put', uri: entry.uri, key, value: encodeDocument(document) }
      : { kind: 'remove', uri: entry.uri, key });
  }

  /** Removes every document of a collection. */
  clear(entry: CollectionEntry): void {
    this.mutations.push({ kind: 'removeRange', uri: entry.uri, range: {} });
    this.emptied.add(entry.uri);
    this.changed.delete(entry.uri);
  }

  /** Removes the oplog entries after `ts`; returns how many there were. */
  truncateOplogAfter(ts: Timestamp): number {
    const oplog = this.existingOrCreated(oplogNamespace);
    let removed = 0;
    if (!this.emptied.has(oplog.uri)) {
      const cursor = this.storage.connection.openSession().openCursor(oplog.uri);
      try {
        for (const record of cursor.entries({ gt: encodeKey(ts) })) {
          void record;
          removed++;
        }
      } finally {
        cursor.close();
      }
    }
    this.mutations.push({ kind: 'removeRange', uri: oplog.uri, range: { gt: encodeKey(ts) } });
    const bound = encodeKey(ts);
    const pending = this.changed.get(oplog.uri);
    for (const [encoded, change] of pending ?? []) if (Buffer.compare(change.key, bound) > 0) pending!.delete(encoded);
    this.oplogTruncatedAfter = ts;
    return removed;
  }

  /** The last oplog entry as the plan so far leaves it, if the oplog holds any. */
  topOfOplog(): Document | undefined {
    const oplog = this.catalog.get(oplogNamespace);
    if (!oplog) return undefined;
    let top: Document | undefined;
    for (const { document } of this.changed.get(oplog.uri)?.values() ?? []) {
      if (document && (!top || (document.ts as Timestamp).compare(top.ts as Timestamp) > 0)) top = document;
    }
    if (this.emptied.has(oplog.uri)) return top;
    const cursor = this.storage.connection.openSession().openCursor(oplog.uri);
    try {
      const bound = this.oplogTruncatedAfter === undefined ? {} : { lte: encodeKey(this.oplogTruncatedAfter) };
      for (const [key, value] of cursor.entries({ ...bound, reverse: true })) {
        // A stored entry the plan removed or replaced was counted above.
        if (this.changed.get(oplog.uri)?.has((key as Buffer).toString('latin1'))) continue;
        const stored = decodeDocument(value as Buffer);
        if (!top || (stored.ts as Timestamp).compare(top.ts as Timestamp) > 0) top = stored;
        break;
      }
    } finally {
      cursor.close();
    }
    return top;
  }

  /** Empties the replication state collections (creating none). */
  clearReplicationState(): number {
    let cleared = 0;
    for (const ns of REPLICATION_STATE_NAMESPACES) {
      const entry = this.catalog.get(ns);
      if (entry) {
        this.clear(entry);
        cleared++;
      }
    }
    return cleared;
  }

  /**
   * Writes the new replica set configuration, as given, and the invalid minvalid document, each
   * the only document of its collection (run after `clearReplicationState`).
   */
  writeReplicationState(replicaSetConfig: Document): void {
    const config = this.existingOrCreated('local.system.replset');
    this.write(config, encodeKey(replicaSetConfig._id), replicaSetConfig);
    const minvalid = this.existingOrCreated('local.replset.minvalid');
    const document = invalidMinValidDocument();
    this.write(minvalid, encodeKey(document._id), document);
  }

  /**
   * Creates each internal collection that does not exist with the UUID given for it, as
   * mongod's `systemUuids` does; an existing collection keeps its own.
   */
  createInternalCollections(pairs: readonly NamespaceUuid[]): { created: NamespaceUuid[]; existing: string[] } {
    const created: NamespaceUuid[] = [];
    const existing: string[] = [];
    for (const pair of pairs) {
      if (this.catalog.has(pair.ns)) {
        existing.push(pair.ns);
      } else {
        this.createCollection(pair.ns, {}, pair.uuid);
        created.push(pair);
      }
    }
    return { created, existing };
  }

  /** Inserts one oplog entry into the oplog. */
  insertOplogEntry(entry: Document): void {
    const oplog = this.existingOrCreated(oplogNamespace);
    this.write(oplog, encodeKey(entry.ts), entry);
  }

  /**
   * Applies one oplog entry to the data: inserts, updates (full post-images or update
   * operators), deletes, and the create, drop and dropDatabase commands.
   */
  applyOplogEntry(entry: Document, counts: ApplyCounts): void {
    const op = entry.op;
    const ns = String(entry.ns ?? '');
    const o = (entry.o ?? {}) as Document;
    if (op === 'n') {
      counts.noops++;
      return;
    }
    if (op === 'c') {
      const db = ns.endsWith('.$cmd') ? ns.slice(0, -'.$cmd'.length) : parseNamespace(ns).db;
      if (typeof o.create === 'string') {
        const { create, idIndex, ...options } = o;
        void idIndex;
        const target = `${db}.${create}`;
        if (!this.catalog.has(target)) this.createCollection(target, options);
      } else if (typeof o.drop === 'string') {
        const target = this.catalog.get(`${db}.${o.drop}`);
        if (target) this.dropCollection(target);
      } else if (o.dropDatabase !== undefined) {
        for (const target of [...this.catalog.values()].filter((c) => c.db === db)) this.dropCollection(target);
      } else {
        counts.skipped++;
        return;
      }
      counts.commands++;
      return;
    }
    if (parseNamespace(ns).db === 'local') {
      counts.skipped++;
      return;
    }
    const collection = this.existingOrCreated(ns);
    if (op === 'i') {
      this.write(collection, encodeKey(o._id), o);
      counts.inserted++;
    } else if (op === 'u') {
      const o2 = (entry.o2 ?? {}) as Document;
      const key = encodeKey(o2._id);
      const current = this.read(collection, key);
      const update = compileUpdate(o);
      if (update.kind === 'replacement') {
        this.write(collection, key, { _id: o2._id, ...o });
      } else if (current) {
        this.write(collection, key, update.apply(current, false));
      } else {
        counts.skipped++;
        return;
      }
      counts.updated++;
    } else if (op === 'd') {
      this.write(collection, encodeKey(o._id), null);
      counts.deleted++;
    } else {
      counts.skipped++;
    }
  }

  /** Deletes every cluster parameter not on the allowed list; returns the deleted names. */
  cleanClusterParameters(): string[] {
    const entry = this.catalog.get(CLUSTER_PARAMETERS);
    if (!entry) return [];
    const removed: string[] = [];
    for (const { key, document } of [...this.documents(entry)]) {
      if (!ALLOWED_CLUSTER_PARAMETERS.has(String(document._id))) {
        this.write(entry, key, null);
        removed.push(String(document._id));
      }
    }
    return removed;
  }
}
