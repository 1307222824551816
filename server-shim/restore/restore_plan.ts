import { Long, ObjectId, Timestamp, UUID } from 'bson';
import type { PitMutation } from '../../engine/index.js';
import { compileUpdate } from '../query/index.js';
import {
  catalogRecord, catalogUri, checkNamespace, collectionTableConfig, namespaceString, oplogNamespace, parseNamespace,
  tableUriFor, type CollectionEntry, type Storage,
} from '../storage/index.js';
import { encodeDocument, encodeKey, type Document } from '../values/index.js';

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

  constructor(private readonly storage: Storage) {
    for (const db of storage.databases()) for (const entry of storage.collections(db)) this.catalog.set(entry.ns, entry);
  }

  collection(ns: string): CollectionEntry | undefined {
    return this.catalog.get(ns);
  }

  /** Creates a collection (table + catalog record) in the plan. */
  createCollection(ns: string, options: Document = {}): CollectionEntry {
    const namespace = checkNamespace(parseNamespace(ns).db, parseNamespace(ns).collection);
    const name = namespaceString(namespace);
    const entry: CollectionEntry = {
      ns: name, db: namespace.db, name: namespace.collection, uri: tableUriFor(namespace), uuid: new UUID(), options,
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
    return removed;
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

  /** Writes the new replica set configuration and the minvalid document. */
  writeReplicationState(replicaSetConfig: Document, restorePoint: Timestamp, term: bigint): void {
    const config = this.existingOrCreated('local.system.replset');
    const document: Document = { ...replicaSetConfig, term: Long.fromBigInt(term) };
    this.write(config, encodeKey(document._id), document);
    const minvalid = this.existingOrCreated('local.replset.minvalid');
    const id = new ObjectId();
    this.write(minvalid, encodeKey(id), { _id: id, t: Long.fromBigInt(term), ts: restorePoint });
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
