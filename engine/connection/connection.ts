import { AsyncLocalStorage } from 'node:async_hooks';
import { existsSync, mkdirSync, readdirSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type {
  CheckpointInfo, Connection, ConnectionConfig, EngineLogger, KeyProviderStatus, Session, StorageMode, TableInfo,
} from '../api.js';
import { FileBlockManager, type BlockManager } from '../block/index.js';
import { Btree, copyTree, treeAddresses, type TimestampState } from '../btree/index.js';
import { Cache } from '../cache/index.js';
import { ConfigError, EngineError, ErrorCode, IoError, SchemaError, StateError } from '../errors.js';
import {
  DEFAULT_ALLOCATION_SIZE, formatCheckpointList, getConfigValue, latestCheckpoint, plainCheckpoint,
  setConfigRaw, type CheckpointEntry,
} from '../format/index.js';
import {
  checkTableName, colgroupEntry, colgroupSource, fileEntry, fileId, HISTORY_STORE_FILE, historyStoreEntry, isSharedFile,
  METADATA_FILE, metadataFileEntry, MetadataStore, PAIRED_CHECKPOINT_KEY, pairedCheckpointEntry, parseCreateConfig,
  parsePairedCheckpoint, readTurtleFile, refreshTurtleBackup, requireMetadataCheckpoint, RESERVED_TABLE_IDS, settingsFromFileConfig, syncDirectory, tableEntry,
  writeTurtleFile, type TableSettings,
} from '../meta/index.js';
import { SessionImpl } from './session.js';
import { TableHandle } from './table.js';
import type { TreeSource } from './transaction.js';
import { SharedStorage } from './shared_storage.js';

const DEFAULT_CACHE_SIZE = 100 * 1024 * 1024;
const VERSION_FILE = 'WiredTiger';
const LOCK_FILE = 'WiredTiger.lock';
const METADATA_SETTINGS: TableSettings = {
  keyFormat: 'S', valueFormat: 'S', allocationSize: DEFAULT_ALLOCATION_SIZE, leafPageMax: 32 * 1024,
  internalPageMax: 4 * 1024, splitPct: 90, appMetadata: '',
};
/**
 * `system:created:table:NAME` -> `order=N`: the order tables were created in, which survives
 * file-id changes. Repair gives the later-created table of a colliding pair a new id.
 */
export const CREATION_ORDER_PREFIX = 'system:created:';
/**
 * Homes a writable connection of this process has open. A second writable connection on the
 * same home would write over the first one's checkpoints (WiredTiger refuses it too); read-only
 * connections may share a home.
 */
const writableHomes = new Set<string>();
const CONNECTION_CONFIG_KEYS = new Set(['create', 'readOnly', 'cacheSize', 'storage', 'pageLogPath', 'pageLogRetain', 'keyProvider', 'keyProviderConfig', 'logger']);

/** Options the connection hands to its parts. */
export interface ConnectionContext {
  readonly home: string;
  readonly readOnly: boolean;
  readonly cache: Cache;
  readonly timestamps: TimestampState;
  readonly log: EngineLogger;
}

/**
 * An open home: the metadata, the tables, sessions, timestamps and checkpoints. Local tables
 * live in `.wt` files; in disaggregated mode shared tables and their metadata live in the page
 * log through `SharedStorage`.
 */
export class ConnectionImpl implements Connection, TreeSource, ConnectionContext {
  readonly cache: Cache;
  readonly timestamps: TimestampState = { stable: 0n, oldest: 0n };
  readonly log: EngineLogger;
  private localMetadata!: MetadataStore;
  private localMetadataBlock!: FileBlockManager;
  private shared: SharedStorage | undefined;
  private readonly tables = new Map<string, TableHandle>();
  private readonly sessions = new Set<SessionImpl>();
  /** Files whose tables were dropped: deleted once a checkpoint without them is durable. */
  private pendingFileDeletes: string[] = [];
  private checkpointOrder = 0;
  private last: CheckpointInfo | undefined;
  private checkpointChain: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Set while an exclusive (point-in-time) operation holds the schema and checkpoint locks. */
  private writeBarrier: Promise<void> | undefined;
  /** Identifies the async chain that holds the exclusive lock, so only it may write. */
  private readonly exclusiveOwner = new AsyncLocalStorage<symbol>();
  private exclusiveToken: symbol | undefined;
  /** The directories and files the connection opened, with their device and inode, checked before each checkpoint. */
  private storageIdentity: StorageIdentity[] = [];

  private constructor(readonly home: string, readonly storage: StorageMode, readonly readOnly: boolean, private readonly config: ConnectionConfig) {
    this.cache = new Cache(config.cacheSize ?? DEFAULT_CACHE_SIZE);
    this.log = config.logger ?? (() => {});
  }

  /** Opens (or creates) a home. */
  static async open(home: string, config: ConnectionConfig = {}): Promise<ConnectionImpl> {
    for (const key of Object.keys(config)) {
      if (!CONNECTION_CONFIG_KEYS.has(key)) throw new ConfigError(`unknown connection option "${key}"`, { key }, ErrorCode.ConfigUnknownKey);
    }
    if (config.cacheSize !== undefined && !(config.cacheSize >= 1024 * 1024)) {
      throw new ConfigError('cacheSize must be at least 1 MB', { key: 'cacheSize' });
    }
    const retain = config.pageLogRetain;
    if (retain !== undefined && retain !== 'all' && !(Number.isSafeInteger(retain) && retain >= 1)) {
      throw new ConfigError(`pageLogRetain must be a positive integer or "all", not ${JSON.stringify(retain)}`, { key: 'pageLogRetain' });
    }
    const storage = config.storage ?? 'disagg';
    if (storage !== 'local' && storage !== 'disagg') throw new ConfigError(`storage must be "local" or "disagg", not "${storage}"`, { key: 'storage' });
    const connection = new ConnectionImpl(resolve(home), storage, !!config.readOnly, config);
    if (!connection.readOnly) {
      if (writableHomes.has(connection.home)) {
        throw new StateError(ErrorCode.Busy, `${connection.home} is already open for writing in this process`, { file: connection.home });
      }
      writableHomes.add(connection.home);
    }
    try {
      await connection.openHome(config);
    } catch (error) {
      if (!connection.readOnly) writableHomes.delete(connection.home);
      await connection.releaseAfterFailedOpen();
      throw error;
    }
    return connection;
  }

  /** Closes whatever a failed open had opened (files, the page log), so nothing leaks. */
  private async releaseAfterFailedOpen(): Promise<void> {
    for (const table of this.tables.values()) table.close();
    this.localMetadata?.tree.release();
    this.localMetadataBlock?.close();
    await this.shared?.close().catch(() => undefined);
  }

  private async openHome(config: ConnectionConfig): Promise<void> {
    const home = this.home;
    let turtle = existsSync(home) ? readTurtleFile(home, this.readOnly) : undefined;
    if (turtle === undefined) {
      if (this.readOnly || config.create === false) {
        throw new IoError(`${home} is not a database home (no WiredTiger.turtle)`, { file: join(home, 'WiredTiger.turtle') }, ErrorCode.MissingFile);
      }
      this.createHome();
      turtle = readTurtleFile(home, false)!;
    }
    requireMetadataCheckpoint(home, turtle, this.storage === 'disagg' ? config.pageLogPath ?? join(home, 'pagelog') : undefined);
    if (!this.readOnly) {
      let replaced: ReturnType<typeof refreshTurtleBackup>;
      try {
        replaced = refreshTurtleBackup(home, turtle);
      } catch (error) {
        // The turtle itself is sound: a backup that cannot be written now (a full disk) is
        // written by the next checkpoint.
        replaced = undefined;
        this.log({ level: 'warn', component: 'STORAGE', msg: 'Could not rewrite the turtle file backup', attr: { file: 'WiredTiger.turtle.backup', error: error instanceof Error ? error.message : String(error) } });
      }
      if (replaced !== undefined) {
        this.log({
          level: replaced.state === 'missing' ? 'info' : 'warn', component: 'STORAGE', msg: 'Rewrote the turtle file backup',
          attr: { file: 'WiredTiger.turtle.backup', found: replaced.state, ...(replaced.state === 'invalid' ? { error: replaced.error.message } : {}) },
        });
      }
    }
    const metadataCheckpoint = turtle.checkpoint;
    this.checkpointOrder = metadataCheckpoint?.order ?? 0;
    this.localMetadataBlock = new FileBlockManager(join(home, METADATA_FILE), {
      allocationSize: DEFAULT_ALLOCATION_SIZE, readOnly: this.readOnly, checkpointAddr: metadataCheckpoint?.addr,
    });
    const tree = this.openTree(this.localMetadataBlock, METADATA_SETTINGS, { file: METADATA_FILE }, metadataCheckpoint);
    this.localMetadata = new MetadataStore(tree);
    this.restoreTimestamps(this.localMetadata);
    if (this.storage === 'local' && this.localMetadata.has(PAIRED_CHECKPOINT_KEY)) {
      // Opened as local, the shared tables would silently be missing (and a checkpoint would
      // write a local-only state over the pairing).
      tree.release();
      this.localMetadataBlock.close();
      throw new ConfigError('this home keeps its shared tables in a page log: open it with storage "disagg"', { key: 'storage' });
    }
    if (this.storage === 'disagg') {
      const pairing = this.localMetadata.get(PAIRED_CHECKPOINT_KEY);
      this.shared = await SharedStorage.open(this, config, pairing === undefined ? undefined : parsePairedCheckpoint(pairing));
      this.restoreTimestamps(this.shared.metadata);
    }
    this.loadTables();
    this.storageIdentity = recordStorageIdentity([
      home,
      ...(this.storage === 'disagg' ? [config.pageLogPath ?? join(home, 'pagelog'), join(config.pageLogPath ?? join(home, 'pagelog'), 'data.mdb')] : []),
    ]);
    this.last = this.shared?.lastCheckpoint ?? (this.checkpointOrder > 0
      ? { id: String(this.checkpointOrder), timestamp: this.timestamps.stable, oldestTimestamp: this.timestamps.oldest, time: Date.now() }
      : undefined);
  }

  private openTree(block: BlockManager, settings: TableSettings, where: { file?: string; tableId?: number; uri?: string }, checkpoint: CheckpointEntry | undefined): Btree {
    return new Btree({
      block, cache: this.cache, timestamps: this.timestamps, where,
      rootAddress: checkpoint ? block.rootFromCheckpoint(checkpoint.addr) : undefined,
      writeGen: checkpoint?.writeGen ?? 0n,
      leafSplitBytes: Math.round(settings.leafPageMax * settings.splitPct / 100),
      internalSplitBytes: Math.round(settings.internalPageMax * settings.splitPct / 100),
    });
  }

  private createHome(): void {
    const home = this.home;
    mkdirSync(home, { recursive: true });
    if (existsSync(join(home, METADATA_FILE))) {
      throw new IoError(`${home} holds ${METADATA_FILE} but no turtle file`, { file: METADATA_FILE }, ErrorCode.MissingFile);
    }
    writeFileSync(join(home, VERSION_FILE), 'WiredTiger\nWiredTiger 12.0.0: (November 15, 2024)\n');
    writeFileSync(join(home, LOCK_FILE), 'WiredTiger lock file\n');
    FileBlockManager.create(join(home, METADATA_FILE), DEFAULT_ALLOCATION_SIZE);
    FileBlockManager.create(join(home, HISTORY_STORE_FILE), DEFAULT_ALLOCATION_SIZE);
    // Write the first metadata checkpoint: just the history store's entry.
    const block = new FileBlockManager(join(home, METADATA_FILE), { allocationSize: DEFAULT_ALLOCATION_SIZE, readOnly: false });
    const tree = this.openTree(block, METADATA_SETTINGS, { file: METADATA_FILE }, undefined);
    const metadata = new MetadataStore(tree);
    const now = Math.floor(Date.now() / 1000);
    metadata.set(`file:${HISTORY_STORE_FILE}`, historyStoreEntry(formatCheckpointList(plainCheckpoint({ addr: '', order: 1, time: now, size: 0, writeGen: 1n, runWriteGen: 1n }))));
    const root = tree.reconcile();
    const addr = block.checkpoint(root);
    tree.release();
    block.close();
    syncDirectory(home);
    writeTurtleFile(home, metadataFileEntry(formatCheckpointList(plainCheckpoint({
      addr, order: 1, time: now, size: 0, writeGen: tree.maxWriteGen, runWriteGen: 1n,
    }))));
  }

  private restoreTimestamps(metadata: MetadataStore): void {
    const checkpointTs = getConfigValue(metadata.get('system:checkpoint') ?? '', 'checkpoint_timestamp');
    const oldestTs = getConfigValue(metadata.get('system:oldest') ?? '', 'oldest_timestamp');
    if (checkpointTs) this.timestamps.stable = maxBig(this.timestamps.stable, BigInt('0x' + checkpointTs));
    if (oldestTs) this.timestamps.oldest = maxBig(this.timestamps.oldest, BigInt('0x' + oldestTs));
  }

  /** Builds table handles from both metadata stores and checks their files exist. */
  private loadTables(): void {
    const stores: Array<[MetadataStore, boolean]> = [[this.localMetadata, false]];
    if (this.shared) stores.push([this.shared.metadata, true]);
    for (const [store, shared] of stores) {
      for (const [uri] of store.list('table:')) {
        const name = uri.slice('table:'.length);
        const source = colgroupSource(store.get(`colgroup:${name}`) ?? '');
        if (!source) throw new SchemaError(ErrorCode.Corruption, `${uri} has no colgroup entry naming its file`, { uri });
        const fileConfig = store.get(source);
        if (fileConfig === undefined) throw new SchemaError(ErrorCode.Corruption, `${uri} names ${source}, which has no metadata entry`, { uri });
        const handle = new TableHandle(uri, source, fileId(fileConfig), shared && isSharedFile(fileConfig), settingsFromFileConfig(fileConfig));
        if (!handle.shared && !existsSync(join(this.home, handle.fileName))) {
          throw new IoError(`${uri} names ${handle.fileName}, which does not exist`, { file: handle.fileName, uri }, ErrorCode.MissingFile);
        }
        this.tables.set(uri, handle);
      }
    }
  }

  private metadataFor(table: { shared: boolean }): MetadataStore {
    return table.shared ? this.shared!.metadata : this.localMetadata;
  }

  /** Opens a table's tree on first use. */
  treeOf(table: TableHandle): Btree {
    if (table.tree) return table.tree;
    this.assertOpen();
    const fileConfig = this.metadataFor(table).get(table.fileUri);
    if (fileConfig === undefined) throw new SchemaError(ErrorCode.NotFound, `${table.uri} has been dropped`, { uri: table.uri });
    const checkpoint = latestCheckpoint(fileConfig);
    const block = table.shared
      ? this.shared!.blockManager(table.id)
      : new FileBlockManager(join(this.home, table.fileName), {
        allocationSize: table.settings.allocationSize, readOnly: this.readOnly, checkpointAddr: checkpoint?.addr,
      });
    try {
      return table.open(block, this.cache, this.timestamps, checkpoint ? block.rootFromCheckpoint(checkpoint.addr) : undefined, checkpoint?.writeGen ?? 0n);
    } catch (error) {
      block.close();
      throw error;
    }
  }

  assertWritable(table?: TableHandle): void {
    this.assertOpen();
    if (this.readOnly) throw new StateError(ErrorCode.ReadOnly, 'the connection is read-only', { uri: table?.uri });
    if (this.exclusiveToken && this.exclusiveOwner.getStore() !== this.exclusiveToken) {
      throw new StateError(ErrorCode.Busy, 'a point-in-time write holds the write lock; wait for whenWritable()', { uri: table?.uri });
    }
  }

  /** Resolves when no exclusive operation blocks writes. */
  async whenWritable(): Promise<void> {
    while (this.writeBarrier && this.exclusiveOwner.getStore() !== this.exclusiveToken) await this.writeBarrier;
  }

  /** True when uncommitted transaction writes exist in some session. */
  get writesInFlight(): boolean {
    for (const session of this.sessions) if (session.hasPendingWrites) return true;
    return false;
  }

  /**
   * Runs `work` holding the schema and checkpoint locks exclusively: first waits for a running
   * checkpoint and for every session's uncommitted writes to drain (up to `drainTimeoutMs`),
   * then blocks other writers (they get BUSY; `whenWritable` lets them wait) until `work`
   * settles. Only `work`'s own async chain may write meanwhile.
   */
  async exclusive<T>(work: () => Promise<T>, options: { drainTimeoutMs?: number } = {}): Promise<T> {
    this.assertWritable();
    const run = this.checkpointChain.then(async () => {
      const deadline = Date.now() + (options.drainTimeoutMs ?? 30_000);
      while (this.writesInFlight) {
        if (Date.now() > deadline) throw new StateError(ErrorCode.Busy, 'uncommitted writes did not drain in time');
        await new Promise((r) => setTimeout(r, 5));
      }
      let release!: () => void;
      this.writeBarrier = new Promise((r) => (release = r));
      const token = Symbol('exclusive');
      this.exclusiveToken = token;
      try {
        return await this.exclusiveOwner.run(token, work);
      } finally {
        this.exclusiveToken = undefined;
        this.writeBarrier = undefined;
        release();
      }
    });
    this.checkpointChain = run.catch(() => undefined);
    return run;
  }

  /** Takes a checkpoint from inside `exclusive` (which already holds the checkpoint lock). */
  checkpointHoldingLock(): Promise<CheckpointInfo> {
    if (this.exclusiveOwner.getStore() !== this.exclusiveToken || !this.exclusiveToken) {
      throw new StateError(ErrorCode.Busy, 'checkpointHoldingLock needs the exclusive lock');
    }
    return this.runCheckpoint();
  }

  apply(writes: Array<{ table: TableHandle; key: Buffer; value: Buffer | null }>, ts: bigint): void {
    for (const w of writes) this.treeOf(w.table).put(w.key, w.value, ts);
  }

  private assertOpen(): void {
    if (this.closed) throw new StateError(ErrorCode.Closed, 'the connection is closed');
  }

  // ---- Schema ----

  private allIds(): Map<number, string[]> {
    const ids = new Map<number, string[]>();
    const stores = [this.localMetadata, ...(this.shared ? [this.shared.metadata] : [])];
    for (const store of stores) {
      for (const [uri, config] of store.list('file:')) {
        const id = fileId(config);
        ids.set(id, [...(ids.get(id) ?? []), uri]);
      }
    }
    return ids;
  }

  /** The next free file id: above every id in use, skipping reserved ids. */
  nextFileId(): number {
    let id = Math.max(1, ...this.allIds().keys(), this.shared?.largestFileId ?? 0) + 1;
    while (RESERVED_TABLE_IDS.has(id)) id++;
    return id;
  }

  createTable(uri: string, config: string, options: { shared?: boolean } = {}): void {
    this.assertWritable();
    const name = checkTableName(uri);
    if (this.tables.has(uri)) throw new SchemaError(ErrorCode.AlreadyExists, `${uri} already exists`, { uri });
    const settings = parseCreateConfig(config);
    const shared = this.storage === 'disagg' && options.shared !== false;
    if (options.shared && this.storage !== 'disagg') {
      throw new ConfigError('shared tables need disaggregated storage', { uri, key: 'shared' });
    }
    const id = this.nextFileId();
    let fileName = `${name}.wt`;
    if (!shared && (existsSync(join(this.home, fileName)) || this.pendingFileDeletes.includes(fileName))) fileName = `${name}.${id}.wt`;
    const metadata = shared ? this.shared!.metadata : this.localMetadata;
    if (!shared) {
      FileBlockManager.create(join(this.home, fileName), settings.allocationSize);
      syncDirectory(this.home);
    }
    metadata.set(`file:${fileName}`, fileEntry(settings, id, '()', shared));
    metadata.set(`colgroup:${name}`, colgroupEntry(fileName));
    metadata.set(uri, tableEntry(settings));
    metadata.set(`${CREATION_ORDER_PREFIX}${uri}`, `order=${id}`);
    const table = new TableHandle(uri, `file:${fileName}`, id, shared, settings);
    this.tables.set(uri, table);
    // A shared tree gets its root page in the page log at the next checkpoint, even if empty.
    if (shared) this.treeOf(table).markRootDirty();
    this.log({ level: 'info', component: 'STORAGE', msg: 'Created table', attr: { uri, id, shared } });
  }

  dropTable(uri: string): void {
    this.assertWritable();
    const table = this.tableHandle(uri);
    const metadata = this.metadataFor(table);
    const name = table.uri.slice('table:'.length);
    if (table.shared) {
      // Discard only this tree's pages: another table may share the id (the repair case).
      const checkpoint = latestCheckpoint(metadata.get(table.fileUri) ?? '');
      const block = table.block ?? this.shared!.blockManager(table.id);
      const root = checkpoint ? block.rootFromCheckpoint(checkpoint.addr) : undefined;
      table.tree?.release();
      if (root) for (const address of treeAddresses(block, root)) block.free(address);
    }
    table.close();
    metadata.delete(table.uri);
    metadata.delete(`colgroup:${name}`);
    metadata.delete(table.fileUri);
    metadata.delete(`${CREATION_ORDER_PREFIX}${table.uri}`);
    if (!table.shared) this.pendingFileDeletes.push(table.fileName);
    this.tables.delete(table.uri);
    this.log({ level: 'info', component: 'STORAGE', msg: 'Dropped table', attr: { uri: table.uri } });
  }

  /**
   * Rewrites a table's `file:` entry with a new file id. A shared table's tree is written out
   * and copied to the new page-log table id; a local table keeps its file. The change is
   * durable at the next checkpoint.
   */
  setFileId(uri: string, id: number): void {
    this.assertWritable();
    const table = this.tableHandle(uri);
    if (id === table.id) return;
    const metadata = this.metadataFor(table);
    let fileConfig = setConfigRaw(metadata.get(table.fileUri)!, 'id', String(id));
    if (table.shared) {
      const tree = this.treeOf(table);
      const root = tree.reconcile();
      const target = this.shared!.blockManager(id);
      const newRoot = root ? copyTree(table.block!, target, root, { uri: table.uri }) : undefined;
      const entry = plainCheckpoint({
        addr: target.checkpoint(newRoot), order: this.checkpointOrder, time: Math.floor(Date.now() / 1000), size: 0,
        writeGen: tree.maxWriteGen, runWriteGen: 1n,
      });
      fileConfig = setConfigRaw(fileConfig, 'checkpoint', formatCheckpointList(entry));
      table.close();
    }
    metadata.set(table.fileUri, fileConfig);
    table.id = id;
    this.log({ level: 'info', component: 'STORAGE', msg: 'Changed file id', attr: { uri: table.uri, id } });
  }

  hasTable(uri: string): boolean {
    return this.tables.has(uri) || [...this.tables.values()].some((t) => t.fileUri === uri);
  }

  /** The handle for `table:NAME` or its `file:` URI. */
  tableHandle(uri: string): TableHandle {
    this.assertOpen();
    const table = this.tables.get(uri) ?? [...this.tables.values()].find((t) => t.fileUri === uri);
    if (!table) throw new SchemaError(ErrorCode.NotFound, `${uri} does not exist`, { uri });
    return table;
  }

  getTable(uri: string): TableInfo {
    const t = this.tableHandle(uri);
    return {
      uri: t.uri, fileUri: t.fileUri, id: t.id, keyFormat: t.settings.keyFormat, valueFormat: t.settings.valueFormat,
      shared: t.shared, config: this.metadataFor(t).get(t.fileUri) ?? '',
    };
  }

  listTables(): TableInfo[] {
    return [...this.tables.keys()].sort().map((uri) => this.getTable(uri));
  }

  /** When a table was created relative to the others (its first file id). */
  creationOrder(uri: string): number {
    const table = this.tableHandle(uri);
    const order = getConfigValue(this.metadataFor(table).get(`${CREATION_ORDER_PREFIX}${table.uri}`) ?? '', 'order');
    return order === undefined ? table.id : Number(order);
  }

  /** Every metadata entry (local, then shared), for tools and repair. */
  metadataEntries(): Array<{ key: string; value: string; shared: boolean }> {
    const out = this.localMetadata.list().map(([key, value]) => ({ key, value, shared: false }));
    if (this.shared) out.push(...this.shared.metadata.list().map(([key, value]) => ({ key, value, shared: true })));
    return out;
  }

  openSession(): Session {
    this.assertOpen();
    const session = new SessionImpl(this, () => this.sessions.delete(session));
    this.sessions.add(session);
    return session;
  }

  /** Commits a session's writes at `ts` (validated against the stable timestamp). */
  commit(writes: Array<{ table: TableHandle; key: Buffer; value: Buffer | null }>, ts: bigint | undefined): void {
    if (ts !== undefined && ts !== 0n && ts <= this.timestamps.stable) {
      throw new SchemaError(ErrorCode.InvalidArgument, `commit timestamp ${ts} must be above the stable timestamp ${this.timestamps.stable}`);
    }
    this.apply(writes, ts ?? 0n);
  }

  // ---- Timestamps and checkpoints ----

  setTimestamps({ stable, oldest }: { stable?: bigint; oldest?: bigint }): void {
    this.assertOpen();
    const newStable = stable ?? this.timestamps.stable;
    const newOldest = oldest ?? this.timestamps.oldest;
    if (newOldest > newStable && newStable !== 0n) {
      throw new SchemaError(ErrorCode.InvalidArgument, `oldest timestamp ${newOldest} is above the stable timestamp ${newStable}`);
    }
    if (stable !== undefined && stable < this.timestamps.stable) {
      throw new SchemaError(ErrorCode.InvalidArgument, `stable timestamp cannot move back from ${this.timestamps.stable} to ${stable}`);
    }
    if (oldest !== undefined && oldest < this.timestamps.oldest) {
      throw new SchemaError(ErrorCode.InvalidArgument, `oldest timestamp cannot move back from ${this.timestamps.oldest} to ${oldest}`);
    }
    this.timestamps.stable = newStable;
    this.timestamps.oldest = newOldest;
  }

  /** Moves the timestamps to exactly these values, backwards too (restore, repair). */
  forceTimestamps(stable: bigint, oldest: bigint): void {
    this.timestamps.stable = stable;
    this.timestamps.oldest = oldest;
  }

  get stableTimestamp(): bigint {
    return this.timestamps.stable;
  }

  get oldestTimestamp(): bigint {
    return this.timestamps.oldest;
  }

  checkpoint(): Promise<CheckpointInfo> {
    this.assertOpen();
    if (this.readOnly) throw new StateError(ErrorCode.ReadOnly, 'the connection is read-only');
    const run = this.checkpointChain.then(async () => {
      try {
        return await this.runCheckpoint();
      } catch (error) {
        throw classifyStorageFailure(error, this.home);
      }
    });
    this.checkpointChain = run.catch(() => undefined);
    return run;
  }

  /**
   * Refuses to checkpoint into storage that is no longer the one opened: the home or the page
   * log deleted, replaced or unmounted while the connection ran. Writing there would commit
   * checkpoints nobody reads again (a deleted directory) or mix two databases.
   */
  private checkStorageIdentity(): void {
    for (const opened of this.storageIdentity) {
      let now: { dev: number; ino: number } | undefined;
      try {
        now = statSync(opened.path);
      } catch {
        now = undefined;
      }
      if (now === undefined || now.dev !== opened.dev || now.ino !== opened.ino) {
        throw new IoError(
          now === undefined
            ? `${opened.path} no longer exists: it was deleted or unmounted since the home was opened; restart the server on the intended storage`
            : `${opened.path} is no longer the one opened (device and inode changed): it was replaced or remounted; restart the server on the intended storage`,
          { file: opened.path, expected: `${opened.dev}:${opened.ino}`, actual: now === undefined ? 'missing' : `${now.dev}:${now.ino}` },
          ErrorCode.StorageReplaced,
        );
      }
    }
  }

  private writeTimestampEntries(metadata: MetadataStore, now: number, stable: bigint, oldest: bigint): void {
    const hex = (v: bigint): string => v.toString(16);
    metadata.set('system:checkpoint', `checkpoint_timestamp="${hex(stable)}",checkpoint_time=${now},write_gen=${this.checkpointOrder}`);
    metadata.set('system:oldest', `oldest_timestamp="${hex(oldest)}",checkpoint_time=${now},write_gen=${this.checkpointOrder}`);
  }

  /** Writes a table's tree and records its new checkpoint in its metadata entry. */
  private checkpointTable(table: TableHandle, metadata: MetadataStore, order: number, now: number): void {
    const tree = table.tree!;
    const root = tree.reconcile();
    const addr = table.block!.checkpoint(root);
    const fileConfig = metadata.get(table.fileUri)!;
    const entry = plainCheckpoint({ addr, order, time: now, size: 0, writeGen: tree.maxWriteGen, runWriteGen: 1n });
    metadata.set(table.fileUri, setConfigRaw(fileConfig, 'checkpoint', formatCheckpointList(entry)));
  }

  private async runCheckpoint(): Promise<CheckpointInfo> {
    this.assertOpen();
    this.checkStorageIdentity();
    const started = Date.now();
    const now = Math.floor(started / 1000);
    const order = ++this.checkpointOrder;
    const stable = this.timestamps.stable;
    const oldest = this.timestamps.oldest;
    let sharedInfo: Awaited<ReturnType<SharedStorage['checkpoint']>> | undefined;
    // Every table is written in one synchronous step, so all of them hold the same writes (no
    // transaction half in, half out) as of the same stable timestamp; writes made while the
    // checkpoint then waits for the page log belong to the next checkpoint.
    const writeLocalTables = (): void => {
      for (const table of this.tables.values()) {
        if (!table.shared && table.tree?.dirty) this.checkpointTable(table, this.localMetadata, order, now);
      }
    };
    if (this.shared) {
      const shared = this.shared;
      sharedInfo = await shared.checkpoint({ stable, oldest, largestFileId: Math.max(0, ...this.allIds().keys()) }, () => {
        for (const table of this.tables.values()) {
          if (table.shared && table.tree?.dirty) this.checkpointTable(table, shared.metadata, order, now);
        }
        this.writeTimestampEntries(shared.metadata, now, stable, oldest);
        writeLocalTables();
      });
    } else {
      writeLocalTables();
    }
    if (sharedInfo) this.localMetadata.set(PAIRED_CHECKPOINT_KEY, pairedCheckpointEntry({ lsn: sharedInfo.lsn, pageLog: this.shared!.pageLog.identity }));
    // Then the local metadata, then the turtle file: its rename is the commit.
    this.writeTimestampEntries(this.localMetadata, now, stable, oldest);
    const metadataRoot = this.localMetadata.tree.reconcile();
    const metadataAddr = this.localMetadataBlock.checkpoint(metadataRoot);
    const { backupError } = writeTurtleFile(this.home, metadataFileEntry(formatCheckpointList(plainCheckpoint({
      addr: metadataAddr, order, time: now, size: 0, writeGen: this.localMetadata.tree.maxWriteGen, runWriteGen: 1n,
    }))));
    if (backupError !== undefined) {
      this.log({
        level: 'warn', component: 'CHECKPOINT', msg: 'The turtle file backup was not written (the next checkpoint or writable open writes it)',
        attr: { file: 'WiredTiger.turtle.backup', error: backupError instanceof Error ? backupError.message : String(backupError) },
      });
    }
    this.localMetadataBlock.checkpointDurable();
    for (const table of this.tables.values()) table.block?.checkpointDurable();
    await this.shared?.checkpointDurable();
    for (const file of this.pendingFileDeletes.splice(0)) rmSync(join(this.home, file), { force: true });
    this.last = {
      id: sharedInfo ? String(sharedInfo.lsn) : String(order),
      timestamp: stable, oldestTimestamp: oldest, time: Date.now(),
      ...(sharedInfo ? { lsn: sharedInfo.lsn, metadataLsn: sharedInfo.metadataLsn, keyProviderPageLsn: sharedInfo.keyProviderPageLsn } : {}),
    };
    this.log({ level: 'info', component: 'CHECKPOINT', msg: 'Checkpoint completed', attr: { id: this.last.id, timestamp: String(stable), durationMillis: Date.now() - started } });
    return this.last;
  }

  lastCheckpoint(): CheckpointInfo | undefined {
    return this.last;
  }

  keyProviderStatus(): KeyProviderStatus | undefined {
    return this.shared?.keyProviderStatus();
  }

  requestKeyRotation(): void {
    this.assertOpen();
    if (!this.shared) throw new StateError(ErrorCode.InvalidArgument, 'key rotation needs disaggregated storage');
    this.shared.requestKeyRotation();
  }

  /** The page log, in disaggregated mode. */
  get pageLog(): SharedStorage['pageLog'] | undefined {
    return this.shared?.pageLog;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    let failure: unknown;
    if (!this.readOnly) {
      try {
        await this.checkpoint();
      } catch (error) {
        failure = error;
      }
    }
    await this.checkpointChain;
    this.closed = true;
    try {
      for (const session of this.sessions) session.close();
      for (const table of this.tables.values()) table.close();
      this.localMetadata.tree.release();
      this.localMetadataBlock.close();
      await this.shared?.close();
    } finally {
      if (!this.readOnly) writableHomes.delete(this.home);
    }
    if (failure) throw failure;
  }

  /** Files in the home that look like table files (for repair's orphan check). */
  tableFiles(): string[] {
    return readdirSync(this.home).filter((f) => f.endsWith('.wt') && f !== METADATA_FILE && f !== HISTORY_STORE_FILE
      && statSync(join(this.home, f)).isFile());
  }
}

/** A path the connection opened, with its device and inode then. */
interface StorageIdentity {
  path: string;
  dev: number;
  ino: number;
}

function recordStorageIdentity(paths: string[]): StorageIdentity[] {
  const identities: StorageIdentity[] = [];
  for (const path of paths) {
    try {
      const { dev, ino } = statSync(path);
      identities.push({ path, dev, ino });
    } catch {
      // Not there at open (a page log kept elsewhere without data.mdb yet): nothing to compare.
    }
  }
  return identities;
}

/** The file-system error behind `error` (its own code or one of its causes'), if any. */
function systemErrorCode(error: unknown): string | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 8; current = current.cause, depth += 1) {
    const code = (current as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code;
  }
  return undefined;
}

/** Bytes free for unprivileged writers on the file system holding `path`; undefined when unknown. */
function freeBytes(path: string): number | undefined {
  try {
    const stats = statfsSync(path);
    return stats.bavail * stats.bsize;
  } catch {
    return undefined;
  }
}

/** Below this much free space a failed page-log commit (LMDB reports EIO, not ENOSPC) is taken for a full disk. */
const NEARLY_FULL_BYTES = 1024 * 1024;

/**
 * A failed checkpoint's error as callers branch on it: a full file system (`ENOSPC`, or a page
 * log commit that failed on a nearly full one) is `IoError` `NO_SPACE`, another raw file-system
 * error `IoError` `IO`; engine errors pass unchanged.
 */
export function classifyStorageFailure(error: unknown, home: string): unknown {
  const systemCode = systemErrorCode(error);
  const pageLogCommit = error instanceof EngineError && error.code === ErrorCode.PageLog;
  const free = freeBytes(home);
  if (systemCode === 'ENOSPC' || (pageLogCommit && free !== undefined && free < NEARLY_FULL_BYTES)) {
    const file = error instanceof EngineError ? error.location.file ?? home : (error as NodeJS.ErrnoException).path ?? home;
    return new IoError(`the checkpoint failed: no space left on the device holding ${file} (${free ?? 'unknown'} bytes free); the last completed checkpoint stays readable`, {
      file, cause: error,
    }, ErrorCode.NoSpace);
  }
  if (error instanceof EngineError) return error;
  if (systemCode !== undefined) {
    return new IoError(`the checkpoint failed: ${error instanceof Error ? error.message : String(error)}`, { file: (error as NodeJS.ErrnoException).path ?? home, cause: error }, ErrorCode.Io);
  }
  return error;
}

function maxBig(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
