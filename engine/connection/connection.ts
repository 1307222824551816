import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from '../random.js';
import { yieldEvery } from '../time_slices.js';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type {
  BackupFile, BackupPin, CacheStats, CheckpointInfo, CheckpointViewHold, Connection, DisaggStatus, EngineHold, ConnectionConfig, EngineLogger, KeyProviderStatus, PageLogStats, Session,
  StorageMode, TableInfo,
} from '../api.js';
import { FileBlockManager, type BlockManager } from '../block/index.js';
import { Btree, copyTree, treeAddresses, treeLimits, type CopySlicing, type TimestampState } from '../btree/index.js';
import { Cache } from '../cache/index.js';
import { ConfigError, ErrorCode, IoError, SchemaError, StateError } from '../errors.js';
import {
  DEFAULT_ALLOCATION_SIZE, formatCheckpointList, getConfigRaw, getConfigValue, latestCheckpoint, parseLsn, plainCheckpoint,
  removeConfigKey, setConfigRaw, type CheckpointEntry, type Lsn,
} from '../format/index.js';
import {
  DEFAULT_LOG_FILE_MAX, DEFAULT_LOG_SYNC_INTERVAL_MS, inspectLog, listLogFiles, logProblemError, metadataLogOp, MIN_LOG_FILE_MAX, recoverLog,
  WriteAheadLog,
  type LogInspection, type LogSyncStats,
} from '../log/index.js';
import {
  checkTableName, colgroupEntry, colgroupSource, fileEntry, fileId, HISTORY_STORE_FILE, historyStoreEntry, isSharedFile, tableLogging,
  METADATA_FILE, metadataFileEntry, MetadataStore, PAIRED_CHECKPOINT_KEY, parseCreateConfig,
  parsePairedCheckpoint, readTurtleFile, refreshTurtleBackup, requireMetadataCheckpoint, RESERVED_TABLE_IDS, settingsFromFileConfig, syncDirectory, tableEntry,
  writeFileDurably, writeTurtleFile, type TableSettings,
} from '../meta/index.js';
import { checkStorageIdentity, classifyStorageFailure, recordStorageIdentity, runCheckpoint, type StorageIdentity } from '../checkpoint/index.js';
import { SessionImpl } from './session.js';
import { TableHandle } from './table.js';
import type { TreeSource } from '../txn/index.js';
import { CheckpointView, FollowerStorage } from './follower.js';
import { pageLogPathOf, readKeyProviderPage, readLastCheckpoint, SharedStorage } from './shared_storage.js';
import { embeddedStoreDataFile } from '../page_log/index.js';
import { loadKeyProvider, type KeyProvider } from '../key_provider/index.js';

const DEFAULT_CACHE_SIZE = 100 * 1024 * 1024;
const VERSION_FILE = 'WiredTiger';
const LOCK_FILE = 'WiredTiger.lock';
/** The turtle of a checkpoint pinned for a backup; a copied home without a turtle opens from it. */
export const BACKUP_TURTLE_FILE = 'WiredTiger.backup';
/** The consistent copy of the page log a backup of a disaggregated home copies. */
export const BACKUP_PAGE_LOG_DIRECTORY = 'pagelog.backup';
const METADATA_SETTINGS: TableSettings = {
  keyFormat: 'S', valueFormat: 'S', allocationSize: DEFAULT_ALLOCATION_SIZE, leafPageMax: 32 * 1024,
  internalPageMax: 4 * 1024, splitPct: 90, leafKeyMax: 0, leafValueMax: 0, appMetadata: '', columns: '',
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
const CONNECTION_CONFIG_KEYS = new Set([
  'create', 'readOnly', 'cacheSize', 'storage', 'pageLogPath', 'pageLogRetain', 'keyProvider', 'keyProviderConfig', 'logger', 'journal', 'journalFileMax',
  'journalCommitIntervalMs', 'role', 'followerCheckpoint', 'leaseMs',
]);
/** Local metadata entry holding the home's identity, which every journal file repeats. */
export const JOURNAL_METADATA_KEY = 'system:journal';

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
  /** The disaggregated half of a leader (or of a read-only connection). */
  private shared: SharedStorage | undefined;
  /** The disaggregated half of a follower. */
  private follower: FollowerStorage | undefined;
  /** Followers a step-up replaced: their views stay until the cursors on them close. */
  private readonly retiredFollowers = new Set<FollowerStorage>();
  /** Local tables, and a leader's shared tables (a follower's are in its checkpoint view). */
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
  /** The tables an exclusive operation scoped to some tables holds; undefined: it holds all. */
  private exclusiveTables: ReadonlySet<string> | undefined;
  /** `freezeWrites` holds not yet released, and the promise that resolves when none is left. */
  private freezes = 0;
  private thawed: Promise<void> = Promise.resolve();
  private thaw: () => void = () => {};
  /** The checkpoint writing now, if any (a freeze waits for it). */
  private checkpointInProgress: Promise<CheckpointInfo> | undefined;
  /** Exclusive work (a restore, a repair's page move) running now, if any (a freeze waits for it). */
  private exclusiveInProgress: Promise<void> | undefined;
  /** Local files the last durable checkpoint names (what a backup of it copies). */
  private localFilesAtCheckpoint: string[] = [];
  /** Backup pins not yet released; while any is held, dropped tables' files stay. */
  private backupPins = 0;
  /** Test-only: called once the next local table's file is made (`injectCrashAfterNextTableFile`). */
  private tableFileCrash: ((fileName: string) => void) | undefined;
  /** The journal files as `checkJournalFiles` found them at open, for recovery not to read them a third time. */
  private checkedJournal: LogInspection | undefined;
  /** The journal of the local tables, when enabled (or when the home already has one). */
  private wal: WriteAheadLog | undefined;
  /** Set while recovery replays metadata: table handles are re-read before the next data write. */
  private tablesStale = false;

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
    if (config.journalFileMax !== undefined && !(Number.isSafeInteger(config.journalFileMax) && config.journalFileMax >= MIN_LOG_FILE_MAX)) {
      throw new ConfigError(`journalFileMax must be an integer of at least ${MIN_LOG_FILE_MAX} bytes`, { key: 'journalFileMax' });
    }
    if (config.journalCommitIntervalMs !== undefined && !(Number.isSafeInteger(config.journalCommitIntervalMs) && config.journalCommitIntervalMs >= 0)) {
      throw new ConfigError('journalCommitIntervalMs must be a non-negative integer', { key: 'journalCommitIntervalMs' });
    }
    const storage = config.storage ?? 'disagg';
    if (storage !== 'local' && storage !== 'disagg') throw new ConfigError(`storage must be "local" or "disagg", not "${storage}"`, { key: 'storage' });
    if (config.role !== undefined && config.role !== 'leader' && config.role !== 'follower') {
      throw new ConfigError(`role must be "leader" or "follower", not ${JSON.stringify(config.role)}`, { key: 'role' });
    }
    if (config.role === 'follower' && (storage !== 'disagg' || config.readOnly)) {
      throw new ConfigError('a follower needs disaggregated storage and a writable home (its own local tables)', { key: 'role' });
    }
    if (config.followerCheckpoint !== undefined && config.role !== 'follower') {
      throw new ConfigError('followerCheckpoint is for a follower', { key: 'followerCheckpoint' });
    }
    if (config.leaseMs !== undefined && !(Number.isSafeInteger(config.leaseMs) && config.leaseMs >= 30)) {
      throw new ConfigError('leaseMs must be an integer of at least 30', { key: 'leaseMs' });
    }
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
    await this.follower?.close().catch(() => undefined);
    await this.wal?.close().catch(() => undefined);
  }

  private async openHome(config: ConnectionConfig): Promise<void> {
    const home = this.home;
    if (!this.readOnly) this.settleBackupFiles();
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
    this.checkJournalFiles();
    if (this.storage === 'disagg') {
      const pairing = this.localMetadata.get(PAIRED_CHECKPOINT_KEY);
      const paired = pairing === undefined ? undefined : parsePairedCheckpoint(pairing);
      if (config.role === 'follower') {
        this.follower = await FollowerStorage.open(this, config, paired, this.nodeId, (view) => this.buildViewTables(view));
      } else {
        this.shared = await SharedStorage.open(this, config, paired, this.nodeId);
        this.restoreTimestamps(this.shared.metadata);
      }
    }
    this.loadTables();
    this.localFilesAtCheckpoint = this.localFileNames();
    this.recoverJournal(config, turtle.metadataConfig);
    const pageLogPath = pageLogPathOf(home, config);
    const storeFile = this.storage === 'disagg' ? embeddedStoreDataFile(pageLogPath) : undefined;
    this.storageIdentity = recordStorageIdentity([home, ...(storeFile === undefined ? [] : [pageLogPath, storeFile])]);
    this.last = this.shared?.lastCheckpoint ?? (this.checkpointOrder > 0
      ? { id: String(this.checkpointOrder), timestamp: this.timestamps.stable, oldestTimestamp: this.timestamps.oldest, time: Date.now() }
      : undefined);
  }

  /**
   * A home copied from a backup has `WiredTiger.backup` (and, disaggregated, `pagelog.backup/`)
   * but no turtle: they become the turtle and the page log, so it opens as the pinned
   * checkpoint. In a home that has its turtle they are what a backup interrupted by a crash
   * left behind: removed.
   */
  private settleBackupFiles(): void {
    const home = this.home;
    const backupTurtle = join(home, BACKUP_TURTLE_FILE);
    const backupLog = join(home, BACKUP_PAGE_LOG_DIRECTORY);
    if (!existsSync(backupTurtle)) return;
    if (existsSync(join(home, 'WiredTiger.turtle')) || existsSync(join(home, 'WiredTiger.turtle.set'))) {
      rmSync(backupLog, { recursive: true, force: true });
      rmSync(backupTurtle, { force: true });
      syncDirectory(home);
      return;
    }
    const pageLog = this.config.pageLogPath ?? join(home, 'pagelog');
    if (existsSync(backupLog)) {
      // The backup's turtle pairs with the backup's copy of the page log, whatever else was copied.
      rmSync(pageLog, { recursive: true, force: true });
      renameSync(backupLog, pageLog);
    }
    renameSync(backupTurtle, join(home, 'WiredTiger.turtle'));
    syncDirectory(home);
    this.log({ level: 'info', component: 'STORAGE', msg: 'Opened a backup copy: its pinned checkpoint becomes the current one', attr: { home } });
  }

  private openTree(block: BlockManager, settings: TableSettings, where: { file?: string; tableId?: number; uri?: string }, checkpoint: CheckpointEntry | undefined): Btree {
    return new Btree({
      block, cache: this.cache, timestamps: this.timestamps, where,
      rootAddress: checkpoint ? block.rootFromCheckpoint(checkpoint.addr) : undefined,
      writeGen: checkpoint?.writeGen ?? 0n,
      ...treeLimits(settings),
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
    metadata.set(JOURNAL_METADATA_KEY, `home_id=${randomUUID()}`);
    metadata.set(`file:${HISTORY_STORE_FILE}`, historyStoreEntry(formatCheckpointList(plainCheckpoint({ addr: '', order: 1, time: now, size: 0, writeGen: 1n, runWriteGen: 1n }))));
    const root = tree.reconcile();
    const addr = block.checkpoint(root);
    tree.release();
    block.close();
    syncDirectory(home);
    writeTurtleFile(home, metadataFileEntry(formatCheckpointList(plainCheckpoint({
      addr, order: 1, time: now, size: block.lastCheckpointBytes, writeGen: tree.maxWriteGen, runWriteGen: 1n,
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
        const handle = this.handleFromMetadata(store, uri, shared);
        this.checkTableFile(handle);
        this.tables.set(uri, handle);
      }
    }
  }

  /** The shared tables of a follower's checkpoint view, from its metadata. */
  private buildViewTables(view: CheckpointView): void {
    for (const [uri] of view.metadata.list('table:')) {
      const handle = this.handleFromMetadata(view.metadata, uri, true);
      handle.view = view;
      view.tables.set(uri, handle);
    }
  }

  /**
   * This node's id in a shared page log's node records: the home's identity (kept in the local
   * metadata, copied with a backup, so a copy restarting on its log reclaims the same role).
   */
  private get nodeId(): string {
    return getConfigValue(this.localMetadata.get(JOURNAL_METADATA_KEY) ?? '', 'home_id') ?? `home:${this.home}`;
  }

  /** Every table handle: local ones, then a leader's shared ones or the follower's (of `view`, or of the view served now). */
  private *handles(view?: CheckpointView): Generator<TableHandle> {
    yield* this.tables.values();
    const shared = view ?? this.follower?.current;
    if (shared !== undefined) yield* shared.tables.values();
  }

  private handleFromMetadata(store: MetadataStore, uri: string, shared: boolean): TableHandle {
    const name = uri.slice('table:'.length);
    const source = colgroupSource(store.get(`colgroup:${name}`) ?? '');
    if (!source) throw new SchemaError(ErrorCode.Corruption, `${uri} has no colgroup entry naming its file`, { uri });
    const fileConfig = store.get(source);
    if (fileConfig === undefined) throw new SchemaError(ErrorCode.Corruption, `${uri} names ${source}, which has no metadata entry`, { uri });
    return new TableHandle(uri, source, fileId(fileConfig), shared && isSharedFile(fileConfig), settingsFromFileConfig(fileConfig));
  }

  private checkTableFile(handle: TableHandle): void {
    if (!handle.shared && !existsSync(join(this.home, handle.fileName))) {
      throw new IoError(`${handle.uri} names ${handle.fileName}, which does not exist`, { file: handle.fileName, uri: handle.uri }, ErrorCode.MissingFile);
    }
  }

  /**
   * Brings the local table handles in line with the local metadata after recovery replayed
   * schema changes: new tables get handles, dropped ones lose theirs, a changed file id is taken.
   */
  private syncLocalTables(checkFiles: boolean): void {
    this.tablesStale = false;
    const present = new Set<string>();
    for (const [uri] of this.localMetadata.list('table:')) {
      present.add(uri);
      const handle = this.handleFromMetadata(this.localMetadata, uri, false);
      const current = this.tables.get(uri);
      if (current && !current.shared && current.fileUri === handle.fileUri) {
        current.id = handle.id;
        continue;
      }
      current?.close();
      this.tables.set(uri, handle);
    }
    for (const [uri, table] of this.tables) {
      if (!table.shared && !present.has(uri)) {
        table.close();
        this.tables.delete(uri);
      }
    }
    if (checkFiles) for (const table of this.tables.values()) this.checkTableFile(table);
  }

  // ---- Journal ----

  /**
   * Recovery (WiredTiger's `txn_recover`): replays the journal written since the checkpoint
   * just opened into the local metadata and local tables, then opens the journal for new
   * commits. Runs when the journal is enabled or the home already has journal files;
   * read-only connections see the last checkpoint only.
   */
  private recoverJournal(config: ConnectionConfig, metadataConfig: string): void {
    if (this.readOnly) return;
    if (!config.journal && listLogFiles(this.home).length === 0) return;
    let homeId = getConfigValue(this.localMetadata.get(JOURNAL_METADATA_KEY) ?? '', 'home_id');
    const recorded = parseLsn(getConfigRaw(metadataConfig, 'checkpoint_lsn') ?? '');
    // WiredTiger's "no log" LSN, or none at all: nothing of the journal is in the checkpoint.
    const checkpointLsn: Lsn = recorded && recorded.file !== 0xffffffff ? recorded : { file: 0, offset: 0 };
    const result = recoverLog(this.home, { homeId, checkpointLsn, stable: this.timestamps.stable, target: this, logger: this.log, checked: this.checkedJournal });
    this.checkedJournal = undefined;
    this.syncLocalTables(true);
    if (homeId === undefined) {
      homeId = result.inspection.files[0]?.homeId ?? randomUUID();
      this.localMetadata.set(JOURNAL_METADATA_KEY, `home_id=${homeId}`);
    }
    this.wal = WriteAheadLog.open({
      home: this.home, homeId, logger: this.log,
      fileMax: config.journalFileMax ?? DEFAULT_LOG_FILE_MAX,
      syncIntervalMs: config.journalCommitIntervalMs ?? DEFAULT_LOG_SYNC_INTERVAL_MS,
    }, result.inspection, result.pendingTimestamped, checkpointLsn);
  }

  /**
   * Refuses a corrupt or foreign journal before anything else of the home is opened for
   * writing (the page log's open may clean up an interrupted checkpoint), so a refused open
   * changes nothing. Recovery then replays from this check, reading the files once more.
   */
  private checkJournalFiles(): void {
    if (this.readOnly || listLogFiles(this.home).length === 0) return;
    const homeId = getConfigValue(this.localMetadata.get(JOURNAL_METADATA_KEY) ?? '', 'home_id');
    const inspection = inspectLog(this.home, { homeId });
    if (inspection.problems.length > 0) throw logProblemError(inspection.problems[0]!);
    this.checkedJournal = inspection;
  }

  /** Recovery target: a replayed local metadata write. */
  applyMetadata(key: string, value: string | undefined): void {
    if (value === undefined) {
      // A replayed drop: its file goes once a checkpoint without it is durable, as after a drop.
      if (key.startsWith('file:') && this.localMetadata.has(key)) this.pendingFileDeletes.push(key.slice('file:'.length));
      this.localMetadata.delete(key);
    } else {
      this.localMetadata.set(key, value);
      // A table created after the checkpoint that has no file: a backup copy taken at the
      // checkpoint, extended with the journal, does not have it. Its entry names no checkpoint,
      // so everything it holds is in the journal from here on: its empty file is made again,
      // as the create made it. A missing file of a checkpointed table stays an error.
      const fileName = key.startsWith('file:') ? key.slice('file:'.length) : undefined;
      if (fileName !== undefined && latestCheckpoint(value) === undefined && !existsSync(join(this.home, fileName))) {
        FileBlockManager.create(join(this.home, fileName), settingsFromFileConfig(value).allocationSize);
        syncDirectory(this.home);
        this.log({ level: 'info', component: 'RECOVERY', msg: 'Made the file of a table created after the checkpoint', attr: { file: fileName } });
      }
    }
    if (/^(table|colgroup|file):/.test(key)) this.tablesStale = true;
  }

  /** Recovery target: a replayed write of a local table. */
  applyWrite(fileId: number, key: Buffer, value: Buffer | null, commitTs: bigint): boolean {
    if (this.tablesStale) this.syncLocalTables(false);
    for (const table of this.tables.values()) {
      if (!table.shared && table.id === fileId) {
        this.treeOf(table).put(key, value, commitTs);
        return true;
      }
    }
    return false;
  }

  /** Journals the current values of local metadata entries a schema change touched. */
  private journalMetadata(keys: string[]): void {
    this.wal?.logCommit(keys.map((key) => metadataLogOp(key, this.localMetadata.get(key))), 0n);
  }

  /** True when commits to local tables are journaled. */
  get journalEnabled(): boolean {
    return this.wal !== undefined;
  }

  /**
   * Resolves once every commit made before the call is durable in the journal; concurrent
   * callers share one fsync. Without a journal it resolves at once.
   */
  async syncJournal(): Promise<void> {
    await this.wal?.sync();
  }

  /** Journal counters: fsyncs, the waiters they served, bytes written. */
  journalStats(): LogSyncStats | undefined {
    return this.wal ? { ...this.wal.stats } : undefined;
  }

  cacheStats(): CacheStats {
    return this.cache.stats();
  }

  pageLogStats(): PageLogStats | undefined {
    const pageLog = this.shared?.pageLog;
    if (pageLog === undefined) return undefined;
    const size = pageLog.storageSize();
    return { store: pageLog.storeKind, location: pageLog.path, fileBytes: size?.fileBytes, mapSizeBytes: size?.mapSizeBytes, usedBytes: size?.usedBytes };
  }

  private metadataFor(table: { shared: boolean; view?: CheckpointView | undefined }): MetadataStore {
    if (table.view !== undefined) return table.view.metadata;
    if (!table.shared) return this.localMetadata;
    if (this.shared === undefined) throw this.notLeader(undefined);
    return this.shared.metadata;
  }

  /** A shared write (or a shared table a step-down took away) on a node that does not lead the page log. */
  private notLeader(uri: string | undefined): StateError {
    return new StateError(ErrorCode.NotLeader, 'this node follows the page log: shared tables are written by the leader only', uri === undefined ? {} : { uri });
  }

  /** Opens a table's tree on first use. */
  treeOf(table: TableHandle): Btree {
    if (table.tree) return table.tree;
    this.assertOpen();
    const fileConfig = this.metadataFor(table).get(table.fileUri);
    if (fileConfig === undefined) throw new SchemaError(ErrorCode.NotFound, `${table.uri} has been dropped`, { uri: table.uri });
    const checkpoint = latestCheckpoint(fileConfig);
    const block = table.view !== undefined
      ? table.view.blockManager(table.id)
      : table.shared
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

  /**
   * Throws unless writes may proceed: open, writable, and no exclusive operation holds the
   * table (or, with no table given, any table: schema changes and commits check each table).
   */
  assertWritable(table?: TableHandle): void {
    this.assertOpen();
    if (this.readOnly) throw new StateError(ErrorCode.ReadOnly, 'the connection is read-only', { uri: table?.uri });
    if (table !== undefined && (table.view !== undefined || (table.shared && this.shared === undefined))) throw this.notLeader(table.uri);
    if (this.exclusiveToken && this.exclusiveOwner.getStore() !== this.exclusiveToken) {
      if (table && this.exclusiveTables && !this.exclusiveTables.has(table.uri)) return;
      throw new StateError(ErrorCode.Busy, 'a point-in-time write holds the write lock; wait for whenWritable()', { uri: table?.uri });
    }
  }

  /**
   * Resolves when no exclusive operation blocks writes to `uris` (to any table when none are
   * given): an exclusive operation scoped to other tables does not hold them back.
   */
  async whenWritable(uris?: readonly string[]): Promise<void> {
    while (this.writeBarrier && this.exclusiveOwner.getStore() !== this.exclusiveToken) {
      const scope = this.exclusiveTables;
      if (scope && uris && uris.every((uri) => !scope.has(uri))) return;
      await this.writeBarrier;
    }
  }

  /** True when uncommitted transaction writes exist in some session. */
  get writesInFlight(): boolean {
    for (const session of this.sessions) if (session.hasPendingWrites) return true;
    return false;
  }

  /**
   * Runs `work` holding the schema and checkpoint locks exclusively: first waits for a running
   * checkpoint, for a write freeze to end, and for every session's uncommitted writes to drain (up to `drainTimeoutMs`),
   * then blocks other writers (they get BUSY; `whenWritable` lets them wait) until `work`
   * settles. Only `work`'s own async chain may write meanwhile. With `tables`, only writers of
   * those tables (and schema changes) are held; other tables stay writable and every table
   * readable.
   */
  async exclusive<T>(work: () => Promise<T>, options: { drainTimeoutMs?: number; tables?: readonly string[] } = {}): Promise<T> {
    this.assertWritable();
    const run = this.checkpointChain.then(async () => {
      // Exclusive work writes files (tables, checkpoints): it waits for a freeze to end, and a
      // freeze asked for from now on waits for it (no await from the check to here).
      while (this.freezes > 0) await this.thawed;
      let finished!: () => void;
      const inProgress = new Promise<void>((resolve) => (finished = resolve));
      this.exclusiveInProgress = inProgress;
      try {
        return await this.runExclusive(work, options);
      } finally {
        if (this.exclusiveInProgress === inProgress) this.exclusiveInProgress = undefined;
        finished();
      }
    });
    this.checkpointChain = run.catch(() => undefined);
    return run;
  }

  /** Drains uncommitted writes, raises the write barrier and runs `work` as its owner. */
  private async runExclusive<T>(work: () => Promise<T>, options: { drainTimeoutMs?: number; tables?: readonly string[] }): Promise<T> {
    const deadline = Date.now() + (options.drainTimeoutMs ?? 30_000);
    while (this.writesInFlight) {
      if (Date.now() > deadline) throw new StateError(ErrorCode.Busy, 'uncommitted writes did not drain in time');
      await new Promise((r) => setTimeout(r, 5));
    }
    let release!: () => void;
    this.writeBarrier = new Promise((r) => (release = r));
    const token = Symbol('exclusive');
    this.exclusiveToken = token;
    this.exclusiveTables = options.tables ? new Set(options.tables) : undefined;
    try {
      return await this.exclusiveOwner.run(token, work);
    } finally {
      this.exclusiveToken = undefined;
      this.exclusiveTables = undefined;
      this.writeBarrier = undefined;
      release();
    }
  }

  /** Takes a checkpoint from inside `exclusive` (which already holds the checkpoint lock). */
  checkpointHoldingLock(): Promise<CheckpointInfo> {
    if (this.exclusiveOwner.getStore() !== this.exclusiveToken || !this.exclusiveToken) {
      throw new StateError(ErrorCode.Busy, 'checkpointHoldingLock needs the exclusive lock');
    }
    // A freeze asked for meanwhile waits for this exclusive work, its checkpoint included.
    return this.runCheckpoint({ holdingExclusive: true });
  }

  /**
   * Applies one transaction's writes at `ts`. Writes to local tables go to the journal first,
   * in one commit record, so a commit the journal refuses applies nothing.
   */
  apply(writes: Array<{ table: TableHandle; key: Buffer; value: Buffer | null }>, ts: bigint): void {
    if (this.wal) {
      let local = 0;
      for (const w of writes) if (!w.table.shared) local++;
      if (local > 0) this.wal.logCommit([], ts, local === writes.length ? writes : writes.filter((w) => !w.table.shared));
    }
    for (const w of writes) this.treeOf(w.table).put(w.key, w.value, ts);
  }

  private assertOpen(): void {
    if (this.closed) throw new StateError(ErrorCode.Closed, 'the connection is closed');
  }

  // ---- Schema ----

  private allIds(): Map<number, string[]> {
    const ids = new Map<number, string[]>();
    const sharedMetadata = this.shared?.metadata ?? this.follower?.current?.metadata;
    const stores = [this.localMetadata, ...(sharedMetadata ? [sharedMetadata] : [])];
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
    let id = Math.max(1, ...this.allIds().keys(), this.shared?.largestFileId ?? this.follower?.current?.largestFileId ?? 0) + 1;
    while (RESERVED_TABLE_IDS.has(id)) id++;
    return id;
  }

  injectCrashAfterNextTableFile(crash: (fileName: string) => void): void {
    this.tableFileCrash = crash;
  }

  createTable(uri: string, config: string, options: { shared?: boolean } = {}): void {
    this.assertWritable();
    const name = checkTableName(uri);
    if (this.tables.has(uri)) throw new SchemaError(ErrorCode.AlreadyExists, `${uri} already exists`, { uri });
    const settings = parseCreateConfig(config);
    const shared = this.storage === 'disagg' && options.shared !== false;
    if (shared && this.shared === undefined) throw this.notLeader(uri);
    if (options.shared && this.storage !== 'disagg') {
      throw new ConfigError('shared tables need disaggregated storage', { uri, key: 'shared' });
    }
    tableLogging(config, shared);
    const id = this.nextFileId();
    let fileName = `${name}.wt`;
    // A file already there keeps its name: a dropped table's file awaiting deletion, or an orphan
    // a crash left during a create (its id is handed out again after the restart). Orphans are
    // reported by verify and detect and removed by --repair, never reused or removed here.
    for (let attempt = 1; !shared && (existsSync(join(this.home, fileName)) || this.pendingFileDeletes.includes(fileName)); attempt++) {
      fileName = attempt === 1 ? `${name}.${id}.wt` : `${name}.${id}.${attempt}.wt`;
    }
    const metadata = shared ? this.shared!.metadata : this.localMetadata;
    if (!shared) {
      FileBlockManager.create(join(this.home, fileName), settings.allocationSize);
      syncDirectory(this.home);
      const crash = this.tableFileCrash;
      this.tableFileCrash = undefined;
      crash?.(fileName);
    }
    metadata.set(`file:${fileName}`, fileEntry(settings, id, '()', shared));
    metadata.set(`colgroup:${name}`, colgroupEntry(fileName, settings.columns));
    metadata.set(uri, tableEntry(settings));
    metadata.set(`${CREATION_ORDER_PREFIX}${uri}`, `order=${id}`);
    const table = new TableHandle(uri, `file:${fileName}`, id, shared, settings);
    this.tables.set(uri, table);
    if (!shared) this.journalMetadata([`file:${fileName}`, `colgroup:${name}`, uri, `${CREATION_ORDER_PREFIX}${uri}`]);
    // A shared tree gets its root page in the page log at the next checkpoint, even if empty.
    if (shared) this.treeOf(table).markRootDirty();
    this.log({ level: 'info', component: 'STORAGE', msg: 'Created table', attr: { uri, id, shared } });
  }

  dropTable(uri: string): void {
    this.assertWritable();
    const table = this.tableHandle(uri);
    this.assertWritable(table);
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
    if (!table.shared) {
      this.pendingFileDeletes.push(table.fileName);
      this.journalMetadata([table.uri, `colgroup:${name}`, table.fileUri, `${CREATION_ORDER_PREFIX}${table.uri}`]);
    }
    this.tables.delete(table.uri);
    this.log({ level: 'info', component: 'STORAGE', msg: 'Dropped table', attr: { uri: table.uri } });
  }

  /**
   * Rewrites a table's `file:` entry with a new file id. A shared table's tree is written out
   * and copied to the new page-log table id in slices that yield to other clients (the caller
   * holds the table's writers back), and the source pages are discarded: the page log keeps
   * them only while a retained checkpoint names them. A local table keeps its file. The change
   * is durable at the next checkpoint.
   */
  async setFileId(uri: string, id: number, slicing: CopySlicing = {}): Promise<void> {
    this.assertWritable();
    const table = this.tableHandle(uri);
    this.assertWritable(table);
    if (id === table.id) return;
    const metadata = this.metadataFor(table);
    let fileConfig = setConfigRaw(metadata.get(table.fileUri)!, 'id', String(id));
    if (table.shared) {
      const tree = this.treeOf(table);
      const root = tree.reconcile();
      const source = table.block!;
      const target = this.shared!.blockManager(id);
      const sourcePages: Buffer[] = [];
      const newRoot = root ? await copyTree(source, target, root, { uri: table.uri }, { ...slicing, copied: (address) => sourcePages.push(address) }) : undefined;
      const entry = plainCheckpoint({
        addr: target.checkpoint(newRoot), order: this.checkpointOrder, time: Math.floor(Date.now() / 1000), size: 0,
        writeGen: tree.maxWriteGen, runWriteGen: 1n,
      });
      fileConfig = setConfigRaw(fileConfig, 'checkpoint', formatCheckpointList(entry));
      // Only this tree's pages: another table may share the old id (the collision repair).
      const pause = yieldEvery(slicing.sliceMillis);
      for (const address of sourcePages) {
        await pause();
        source.free(address);
      }
      table.close();
    }
    metadata.set(table.fileUri, fileConfig);
    table.id = id;
    if (!table.shared) this.journalMetadata([table.fileUri]);
    this.log({ level: 'info', component: 'STORAGE', msg: 'Changed file id', attr: { uri: table.uri, id } });
  }

  /**
   * Sets and removes keys of a table's `table:`, `colgroup:` or `file:` entry (`entryKey`),
   * as checked by the repair worker's rules. The key and value formats stay equal in the
   * `file:` and `table:` entries, and the open table decodes with the new ones.
   */
  setEntryValues(uri: string, entryKey: string, set: ReadonlyMap<string, string>, unset: readonly string[]): void {
    this.assertWritable();
    const table = this.tableHandle(uri);
    this.assertWritable(table);
    const name = table.uri.slice('table:'.length);
    if (entryKey !== table.uri && entryKey !== table.fileUri && entryKey !== `colgroup:${name}`) {
      throw new SchemaError(ErrorCode.InvalidArgument, `${entryKey} is not an entry of ${table.uri}`, { uri: entryKey });
    }
    const metadata = this.metadataFor(table);
    const rewrite = (key: string, change: (config: string) => string): void => {
      const before = metadata.get(key);
      if (before === undefined) throw new SchemaError(ErrorCode.Corruption, `${key} has no metadata entry`, { uri: key });
      metadata.set(key, change(before));
    };
    rewrite(entryKey, (config) => {
      for (const [key, raw] of set) config = setConfigRaw(config, key, raw);
      for (const key of unset) config = removeConfigKey(config, key);
      return config;
    });
    const formats = [...set].filter(([key]) => key === 'key_format' || key === 'value_format');
    if (formats.length > 0) {
      const mirror = entryKey === table.fileUri ? table.uri : entryKey === table.uri ? table.fileUri : undefined;
      if (mirror) rewrite(mirror, (config) => formats.reduce((c, [key, raw]) => setConfigRaw(c, key, raw), config));
      table.reformat(getConfigValue(metadata.get(table.fileUri)!, 'key_format')!, getConfigValue(metadata.get(table.fileUri)!, 'value_format')!);
    }
    this.log({ level: 'info', component: 'STORAGE', msg: 'Rewrote a metadata entry', attr: { uri: entryKey, set: Object.fromEntries(set), unset } });
  }

  /**
   * The page-log pages a shared table's last checkpoint references (every page of its tree),
   * read from the page log: what two trees under one id must never share.
   */
  checkpointedPageIds(uri: string): number[] {
    const table = this.tableHandle(uri);
    if (!table.shared) throw new SchemaError(ErrorCode.InvalidArgument, `${uri} is not a shared table`, { uri });
    const checkpoint = latestCheckpoint(this.metadataFor(table).get(table.fileUri) ?? '');
    const block = table.view?.blockManager(table.id) ?? this.shared!.blockManager(table.id);
    const root = checkpoint ? block.rootFromCheckpoint(checkpoint.addr) : undefined;
    return root ? [...treeAddresses(block, root)].map((address) => block.pageIdOf(address)) : [];
  }

  hasTable(uri: string): boolean {
    for (const table of this.handles()) if (table.uri === uri || table.fileUri === uri) return true;
    return false;
  }

  /**
   * The handle for `table:NAME` or its `file:` URI. On a follower a shared table's handle is
   * the one of the view served now, or of `view` (a held checkpoint view).
   */
  tableHandle(uri: string, view?: CheckpointViewHold): TableHandle {
    this.assertOpen();
    const checkpointView = view === undefined ? undefined : (view as ViewHold).view;
    if (view !== undefined && !(view instanceof ViewHold)) throw new StateError(ErrorCode.InvalidArgument, 'not a checkpoint view hold of this connection');
    const direct = this.tables.get(uri) ?? (checkpointView ?? this.follower?.current)?.tables.get(uri);
    if (direct !== undefined) return direct;
    for (const table of this.handles(checkpointView)) if (table.fileUri === uri) return table;
    throw new SchemaError(ErrorCode.NotFound, `${uri} does not exist`, { uri });
  }

  getTable(uri: string): TableInfo {
    const t = this.tableHandle(uri);
    return {
      uri: t.uri, fileUri: t.fileUri, id: t.id, keyFormat: t.settings.keyFormat, valueFormat: t.settings.valueFormat,
      shared: t.shared, config: this.metadataFor(t).get(t.fileUri) ?? '',
    };
  }

  listTables(): TableInfo[] {
    return [...new Set([...this.handles()].map((table) => table.uri))].sort().map((uri) => this.getTable(uri));
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
    const sharedMetadata = this.shared?.metadata ?? this.follower?.current?.metadata;
    if (sharedMetadata) out.push(...sharedMetadata.list().map(([key, value]) => ({ key, value, shared: true })));
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

  /**
   * A restore's reset: the data becomes what the caller writes as of `stable`, so the
   * journal's earlier timestamped commits must not come back once the checkpoint that follows
   * completes; then the timestamps move to exactly these values.
   */
  resetTimestamps(stable: bigint, oldest: bigint): void {
    this.wal?.forgetTimestamped();
    this.forceTimestamps(stable, oldest);
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
    const run = this.checkpointChain.then(() => this.runCheckpoint());
    this.checkpointChain = run.catch(() => undefined);
    return run;
  }

  /** Runs a checkpoint once no freeze holds the files (see `freezeWrites`). */
  private async runCheckpoint(options: { holdingExclusive?: boolean } = {}): Promise<CheckpointInfo> {
    while (this.freezes > 0 && !options.holdingExclusive) await this.thawed;
    // No await from the check to here: a freeze taken from now on waits for this checkpoint.
    const run = this.writeCheckpoint();
    this.checkpointInProgress = run;
    try {
      return await run;
    } finally {
      if (this.checkpointInProgress === run) this.checkpointInProgress = undefined;
    }
  }

  async freezeWrites(): Promise<EngineHold> {
    this.assertOpen();
    if (this.readOnly) throw new StateError(ErrorCode.ReadOnly, 'the connection is read-only');
    if (this.freezes++ === 0) {
      this.thawed = new Promise((resolve) => (this.thaw = resolve));
      this.cache.writesFrozen = true;
    }
    // A lease renewal would change the page log's file too.
    const resumeLease = (this.shared?.pageLog ?? this.follower?.pageLog)?.pauseLeaseRenewal();
    let released = false;
    const hold: EngineHold = {
      release: () => {
        if (released) return;
        released = true;
        resumeLease?.();
        if (--this.freezes > 0) return;
        this.cache.writesFrozen = false;
        this.thaw();
      },
    };
    try {
      await this.checkpointInProgress?.catch(() => undefined);
      await this.exclusiveInProgress;
      await this.pageLog?.flush();
    } catch (error) {
      hold.release();
      throw error;
    }
    this.log({ level: 'info', component: 'STORAGE', msg: 'Writes to the files frozen', attr: { holds: this.freezes } });
    return hold;
  }

  /** Releases every freeze (closing). */
  private releaseFreezes(): void {
    this.freezes = 0;
    this.cache.writesFrozen = false;
    this.thaw();
  }

  pinCheckpointForBackup(): Promise<BackupPin> {
    this.assertOpen();
    if (this.readOnly) throw new StateError(ErrorCode.ReadOnly, 'the connection is read-only');
    if (this.follower !== undefined) throw new StateError(ErrorCode.NotLeader, 'a backup copies a leader\'s home and page log: this node follows the page log');
    if (this.backupPins > 0) throw new StateError(ErrorCode.Busy, 'a backup already holds a checkpoint pinned: release it first');
    // The pin is taken on the checkpoint chain, between checkpoints; the page log is copied
    // after it, while checkpoints go on.
    const captured = this.checkpointChain.then(() => this.captureBackupPin());
    this.checkpointChain = captured.catch(() => undefined);
    return captured.then((capture) => this.finishBackupPin(capture));
  }

  /** Holds the last checkpoint's files and lists them (runs with no checkpoint running). */
  private captureBackupPin(): { checkpoint: CheckpointInfo; files: BackupFile[]; releases: Array<() => void>; checkpointLsn: Lsn | undefined } {
    this.assertOpen();
    if (this.backupPins > 0) throw new StateError(ErrorCode.Busy, 'a backup already holds a checkpoint pinned: release it first');
    const checkpoint = this.last;
    if (checkpoint === undefined) throw new StateError(ErrorCode.InvalidArgument, 'there is no checkpoint to back up yet');
    const home = this.home;
    const releases: Array<() => void> = [];
    const files: BackupFile[] = [];
    let journalFrom: string | undefined;
    const sizeOf = (name: string): number => statSync(join(home, name)).size;
    try {
      // Every local file of the checkpoint keeps its blocks: open each table's block manager
      // from the checkpoint now, so none is later opened from a newer one that frees them.
      const localFiles = new Set(this.localFilesAtCheckpoint);
      for (const table of this.tables.values()) if (!table.shared && localFiles.has(table.fileName)) this.treeOf(table);
      releases.push(this.localMetadataBlock.holdFreedSpace());
      for (const table of this.tables.values()) {
        if (!table.shared && table.block instanceof FileBlockManager) releases.push(table.block.holdFreedSpace());
      }
      this.backupPins++;
      releases.push(() => {
        this.backupPins--;
      });
      if (this.shared) releases.push(this.shared.pinForBackup(checkpoint.lsn!));
      // The turtle the files pair with; a copy without WiredTiger.turtle opens from it.
      const turtle = readFileSync(join(home, 'WiredTiger.turtle'));
      writeFileDurably(join(home, BACKUP_TURTLE_FILE), turtle);
      journalFrom = this.wal ? readTurtleFile(home, true)?.metadataConfig : undefined;
      syncDirectory(home);
      files.push({ path: VERSION_FILE, size: sizeOf(VERSION_FILE) }, { path: BACKUP_TURTLE_FILE, size: sizeOf(BACKUP_TURTLE_FILE) });
      files.push({ path: METADATA_FILE, size: sizeOf(METADATA_FILE) });
      if (existsSync(join(home, HISTORY_STORE_FILE))) files.push({ path: HISTORY_STORE_FILE, size: sizeOf(HISTORY_STORE_FILE) });
      for (const name of [...localFiles].sort()) files.push({ path: name, size: sizeOf(name) });
    } catch (error) {
      for (const release of releases.reverse()) release();
      this.removeBackupFiles();
      throw error;
    }
    // The checkpoint's `checkpoint_lsn`: the journal from there on carries what follows it.
    // A copy needs no journal file to open the checkpoint (the checkpoint holds its data as of
    // its stable timestamp, and the copy's journal starts after `checkpoint_lsn`'s file).
    const recorded = journalFrom === undefined ? undefined : parseLsn(getConfigRaw(journalFrom, 'checkpoint_lsn') ?? '');
    const checkpointLsn = recorded && recorded.file !== 0xffffffff ? recorded : journalFrom === undefined ? undefined : { file: 0, offset: 0 };
    return { checkpoint, files, releases, checkpointLsn };
  }

  /** The journal files a pinned checkpoint's backup copies to reach `timestamp` (see `BackupPin`). */
  private backupJournalFiles(checkpoint: CheckpointInfo, checkpointLsn: Lsn | undefined, timestamp: bigint): BackupFile[] {
    this.assertOpen();
    if (this.wal === undefined || checkpointLsn === undefined || timestamp <= checkpoint.timestamp) return [];
    const homeId = getConfigValue(this.localMetadata.get(JOURNAL_METADATA_KEY) ?? '', 'home_id');
    const inspection = inspectLog(this.home, { homeId });
    if (inspection.problems.length > 0) throw logProblemError(inspection.problems[0]!);
    const files: BackupFile[] = [];
    for (const file of inspection.files) {
      if (file.number < checkpointLsn.file) continue;
      files.push({ path: file.name, size: file.size });
      if (file.maxCommitTs >= timestamp) break;
    }
    return files;
  }

  /** Copies the page log (disaggregated mode) and hands out the pin. */
  private async finishBackupPin(capture: { checkpoint: CheckpointInfo; files: BackupFile[]; releases: Array<() => void>; checkpointLsn: Lsn | undefined }): Promise<BackupPin> {
    const { checkpoint, files, releases, checkpointLsn } = capture;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      for (const each of releases.reverse()) each();
      if (this.backupPins === 0 && !this.closed) this.removeBackupFiles();
    };
    if (this.shared) {
      try {
        const directory = join(this.home, BACKUP_PAGE_LOG_DIRECTORY);
        rmSync(directory, { recursive: true, force: true });
        // The copy holds the pinned checkpoint (pruning keeps it) and maybe later ones, which
        // the copied home drops at open: its turtle pairs with the pinned one.
        await this.shared.pageLog.snapshot(directory);
        for (const name of readdirSync(directory).sort()) {
          files.push({ path: join(BACKUP_PAGE_LOG_DIRECTORY, name), size: statSync(join(directory, name)).size });
        }
      } catch (error) {
        release();
        throw error;
      }
    }
    this.log({ level: 'info', component: 'STORAGE', msg: 'Pinned a checkpoint for a backup', attr: { id: checkpoint.id, files: files.length } });
    return {
      checkpoint,
      files,
      journalFilesThrough: (timestamp) => {
        if (released) throw new StateError(ErrorCode.InvalidArgument, 'the backup pin has been released');
        return this.backupJournalFiles(checkpoint, checkpointLsn, timestamp);
      },
      release: () => {
        if (released) return;
        release();
        this.log({ level: 'info', component: 'STORAGE', msg: 'Released a backup pin', attr: { id: checkpoint.id } });
      },
    };
  }

  private removeBackupFiles(): void {
    rmSync(join(this.home, BACKUP_PAGE_LOG_DIRECTORY), { recursive: true, force: true });
    rmSync(join(this.home, BACKUP_TURTLE_FILE), { force: true });
  }

  /** The files of the local tables this connection has (their checkpoint's files after one). */
  private localFileNames(): string[] {
    return [...this.tables.values()].filter((table) => !table.shared).map((table) => table.fileName);
  }

  private async writeCheckpoint(): Promise<CheckpointInfo> {
    this.assertOpen();
    try {
      checkStorageIdentity(this.storageIdentity);
      return await this.checkpointNow();
    } catch (error) {
      throw classifyStorageFailure(error, this.home);
    }
  }

  private async checkpointNow(): Promise<CheckpointInfo> {
    const follower = this.follower;
    const info = await runCheckpoint({
      home: this.home, timestamps: this.timestamps, log: this.log, localMetadata: this.localMetadata,
      localMetadataBlock: this.localMetadataBlock, shared: this.shared, wal: this.wal,
      followerPairing: follower === undefined ? undefined : { lsn: follower.current?.info.lsn ?? 0, pageLog: follower.pageLog.identity },
      tables: () => this.tables.values(),
      nextOrder: () => ++this.checkpointOrder,
      largestFileId: () => Math.max(0, ...this.allIds().keys()),
      // A backup pin may still copy a dropped table's file, or need the journal files: both
      // stay until no pin is held.
      takePendingFileDeletes: () => (this.backupPins === 0 ? this.pendingFileDeletes.splice(0) : []),
      mayRemoveJournalFiles: () => this.backupPins === 0,
      localFileNames: () => this.localFileNames(),
      localFilesDurable: (files) => { this.localFilesAtCheckpoint = files; },
    });
    this.last = info;
    return info;
  }

  lastCheckpoint(): CheckpointInfo | undefined {
    return this.last;
  }

  keyProviderStatus(): KeyProviderStatus | undefined {
    return this.shared?.keyProviderStatus() ?? this.follower?.keyProviderStatus();
  }

  requestKeyRotation(): void {
    this.assertOpen();
    if (!this.shared) throw new StateError(ErrorCode.InvalidArgument, 'key rotation needs disaggregated storage');
    this.shared.requestKeyRotation();
  }

  setKey(key: Buffer, timestamp: bigint): void {
    this.assertOpen();
    if (this.readOnly) throw new StateError(ErrorCode.ReadOnly, 'the connection is read-only');
    if (!this.shared) {
      // A follower writes no checkpoint, so it could persist no pushed key: the leader takes them.
      throw this.storage === 'disagg' ? this.notLeader(undefined) : new StateError(ErrorCode.InvalidArgument, 'pushing a key needs disaggregated storage');
    }
    this.shared.setKey(key, timestamp, this.timestamps.stable);
  }

  /** The page log, in disaggregated mode. */
  get pageLog(): SharedStorage['pageLog'] | undefined {
    return this.shared?.pageLog ?? this.follower?.pageLog;
  }

  // ---- Roles: a leader and followers sharing one page log ----

  disaggStatus(): DisaggStatus | undefined {
    const pageLog = this.pageLog;
    if (pageLog === undefined) return undefined;
    const checkpoint = this.follower !== undefined ? this.follower.current?.info : this.shared?.lastCheckpoint;
    // Only the records after the one served: the log may keep thousands (pageLogRetain "all").
    const newer = pageLog.listCompleteCheckpoints(checkpoint?.lsn ?? 0);
    const newest = newer.at(-1) ?? (checkpoint?.lsn === undefined ? undefined : pageLog.getCompleteCheckpoint(checkpoint.lsn));
    const fencedBy = pageLog.fencedBy;
    return {
      role: this.follower !== undefined ? 'follower' : 'leader',
      nodeId: pageLog.nodeId,
      term: pageLog.term,
      checkpoint,
      waitingForCheckpoint: this.follower !== undefined && this.follower.current === undefined,
      newest: newest === undefined ? undefined : { id: String(newest.lsn), lsn: newest.lsn, timestamp: newest.timestamp, term: newest.term },
      lag: { checkpoints: newer.length, lsn: Math.max(0, (newest?.lsn ?? 0) - (checkpoint?.lsn ?? 0)) },
      heldCheckpoints: this.follower?.heldOlder().map((info) => info.id) ?? [],
      fencedBy: fencedBy === undefined ? undefined : { term: fencedBy.term, nodeId: fencedBy.nodeId },
      adopted: this.shared?.adopted ?? false,
      leases: pageLog.nodeRecords().leases.map((lease) => ({
        nodeId: lease.nodeId, role: lease.role, term: lease.term, checkpoints: lease.checkpoints.map(String), expiresAt: lease.expiresAt,
        live: lease.expiresAt > Date.now(), pid: lease.pid,
      })),
    };
  }

  pickUpCheckpoint(id?: string): Promise<CheckpointInfo | undefined> {
    this.assertOpen();
    if (this.follower === undefined) throw new StateError(ErrorCode.InvalidArgument, 'only a follower picks up checkpoints: this node leads the page log (or has none)');
    return this.follower.pickUp(id);
  }

  holdCheckpointView(): CheckpointViewHold | undefined {
    this.assertOpen();
    const view = this.follower?.hold();
    return view === undefined ? undefined : new ViewHold(view);
  }

  stepUp(): Promise<CheckpointInfo | undefined> {
    this.assertOpen();
    if (this.follower === undefined) throw new StateError(ErrorCode.InvalidArgument, 'only a follower steps up: this node leads the page log (or has none)');
    const run = this.checkpointChain.then(() => this.stepUpNow());
    this.checkpointChain = run.catch(() => undefined);
    return run;
  }

  /** See `stepUp`; runs on the checkpoint chain (no checkpoint or exclusive work meanwhile). */
  private async stepUpNow(): Promise<CheckpointInfo | undefined> {
    const follower = this.follower;
    if (follower === undefined) throw new StateError(ErrorCode.InvalidArgument, 'this node already leads the page log');
    const handedOver = await follower.retire();
    const { pageLog } = handedOver;
    let provider: KeyProvider | undefined = handedOver.provider;
    let shared: SharedStorage;
    let abandoned: number;
    try {
      const term = await pageLog.takeWriterRole();
      abandoned = await pageLog.abandonCheckpoint();
      const turtle = readLastCheckpoint(pageLog);
      provider = await this.providerFor(turtle, provider, handedOver.keyPageLsn);
      shared = SharedStorage.adopt(pageLog, this, this.config, provider, turtle);
      this.log({ level: 'info', component: 'STORAGE', msg: 'Stepped up: this node leads the page log', attr: { term: term.term, checkpoint: turtle?.completionLsn ?? null, abandonedRecords: abandoned } });
    } catch (error) {
      if (pageLog.role === 'leader') await pageLog.releaseWriterRole().catch(() => undefined);
      if (provider !== handedOver.provider) await provider?.terminate().catch(() => undefined);
      follower.resume(handedOver.provider);
      throw error;
    }
    this.shared = shared;
    this.restoreTimestamps(shared.metadata);
    for (const [uri] of shared.metadata.list('table:')) this.tables.set(uri, this.handleFromMetadata(shared.metadata, uri, true));
    follower.stopServing();
    this.follower = undefined;
    this.retiredFollowers.add(follower);
    this.last = shared.lastCheckpoint;
    return this.last;
  }

  /**
   * The provider that holds the key of `turtle`'s key-provider page: `held` when it loaded that
   * page, else a fresh one given it. A database without a page gets `loadKey(undefined)`.
   */
  private async providerFor(turtle: ReturnType<typeof readLastCheckpoint>, held: KeyProvider | undefined, heldPageLsn: number | undefined): Promise<KeyProvider | undefined> {
    const lsn = turtle?.page.keyProvider?.lsn;
    if (held !== undefined && lsn === heldPageLsn) return held;
    if (this.config.keyProvider === undefined) {
      if (lsn !== undefined) throw new ConfigError('this database keeps a key-provider page: open it with a keyProvider', { key: 'keyProvider', lsn });
      return undefined;
    }
    const provider = await loadKeyProvider(this.config.keyProvider, this.config.keyProviderConfig);
    try {
      await provider.loadKey(readKeyProviderPage(this.pageLog!, turtle));
    } catch (error) {
      await provider.terminate().catch(() => undefined);
      throw error;
    }
    await held?.terminate().catch(() => undefined);
    return provider;
  }

  stepDown(options: { fenced?: boolean } = {}): Promise<void> {
    this.assertOpen();
    if (this.shared === undefined || this.readOnly) throw new StateError(ErrorCode.InvalidArgument, 'only a leader steps down: this node follows the page log (or has none)');
    const run = this.checkpointChain.then(() => this.stepDownNow(options.fenced ?? false));
    this.checkpointChain = run.catch(() => undefined);
    return run;
  }

  /** See `stepDown`; runs on the checkpoint chain. */
  private async stepDownNow(fenced: boolean): Promise<void> {
    const shared = this.shared;
    if (shared === undefined) throw new StateError(ErrorCode.InvalidArgument, 'this node follows the page log already');
    const wasFenced = fenced || shared.pageLog.fencedBy !== undefined;
    // The final checkpoint, unless a newer term refuses it anyway.
    if (!wasFenced) this.last = await this.writeCheckpoint();
    for (const [uri, table] of this.tables) {
      if (!table.shared) continue;
      table.close();
      this.tables.delete(uri);
    }
    const { pageLog, provider, keyPageLsn } = shared.detach();
    this.shared = undefined;
    const term = pageLog.term;
    await pageLog.releaseWriterRole();
    this.follower = await FollowerStorage.fromLeader(pageLog, this, this.config, (view) => this.buildViewTables(view), provider, keyPageLsn);
    this.log({
      level: wasFenced ? 'warn' : 'info', component: 'STORAGE', msg: wasFenced ? 'Stepped down: a newer term fenced this node' : 'Stepped down: this node follows the page log',
      attr: { term, checkpoint: this.follower.current?.info.id ?? null },
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.releaseFreezes();
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
    if (this.backupPins > 0) this.removeBackupFiles();
    try {
      for (const session of this.sessions) session.close();
      for (const table of this.tables.values()) table.close();
      this.localMetadata.tree.release();
      this.localMetadataBlock.close();
      await this.shared?.close();
      await this.follower?.close();
      for (const retired of this.retiredFollowers) await retired.close();
      await this.wal?.close();
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

function maxBig(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

/** A held checkpoint view (`Connection.holdCheckpointView`). */
class ViewHold implements CheckpointViewHold {
  private released = false;

  constructor(readonly view: CheckpointView) {}

  get checkpoint(): CheckpointInfo {
    return this.view.info;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.view.unhold();
  }
}
