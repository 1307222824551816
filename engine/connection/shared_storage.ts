import { join, resolve } from 'node:path';
import type { CheckpointInfo, ConnectionConfig, KeyProviderStatus } from '../api.js';
import { PageLogBlockManager, type CheckpointWindow } from '../block/page_log_block_manager.js';
import { Btree, treeLimits } from '../btree/index.js';
import { ConfigError, ErrorCode, KeyProviderError, PageLogError } from '../errors.js';
import {
  checkTurtlePageChecksum, checksum, formatCheckpointList, formatCompletionMetadata, formatTurtlePage,
  latestCheckpoint, parseCompletionMetadata, parseTurtlePage, plainCheckpoint, type TurtlePage,
} from '../format/index.js';
import { loadKeyProvider, persistProviderKey, readPersistedKey, type KeyProvider, type PersistedKey } from '../key_provider/index.js';
import { MetadataStore, type PairedCheckpoint } from '../meta/index.js';
import {
  KEY_PROVIDER_TABLE_ID, openPageLog, SHARED_METADATA_TABLE_ID, TURTLE_PAGE_TABLE_ID, type PageLog,
} from '../page_log/index.js';
import type { ConnectionContext } from './connection.js';

const TURTLE_PAGE_ID = 1;
const KEY_PROVIDER_PAGE_ID = 1;
const SHARED_METADATA_PAGE_MAX = 32 * 1024;

/** Completed checkpoints the page log keeps readable unless told otherwise. */
export const DEFAULT_PAGE_LOG_RETAIN = 2;

/**
 * Page log path -> completion LSN -> readers of this process reading it: read-only
 * connections, backups, a follower's checkpoint views (which a step-up turns into the leader's
 * own readers).
 */
const pins = new Map<string, Map<number, number>>();

/** A checkpoint a reader of this process reads: a writer of the same process keeps it. */
export interface Pin {
  path: string;
  lsn: number;
}

export function pinCheckpoint(path: string, lsn: number): Pin {
  const key = resolve(path);
  const byLsn = pins.get(key) ?? new Map<number, number>();
  byLsn.set(lsn, (byLsn.get(lsn) ?? 0) + 1);
  pins.set(key, byLsn);
  return { path: key, lsn };
}

export function unpinCheckpoint(pin: Pin): void {
  const byLsn = pins.get(pin.path);
  const count = byLsn?.get(pin.lsn) ?? 0;
  if (count > 1) byLsn!.set(pin.lsn, count - 1);
  else byLsn?.delete(pin.lsn);
  if (byLsn?.size === 0) pins.delete(pin.path);
}

function pinnedCheckpoints(path: string): number[] {
  return [...(pins.get(resolve(path))?.keys() ?? [])];
}

/** The page log directory of a connection. */
export function pageLogPathOf(home: string, config: ConnectionConfig): string {
  return config.pageLogPath ?? join(home, 'pagelog');
}

/** What a completed disaggregated checkpoint reports. */
export interface SharedCheckpointResult {
  lsn: number;
  metadataLsn: number;
  keyProviderPageLsn: number | undefined;
}

/**
 * The disaggregated half of a connection: the page log, the shared metadata btree (table id
 * 10), the turtle page (table 2), the key-provider page (table 26) and the key provider.
 * Checkpoint and open follow DESIGN.md 3.4 step by step.
 */
export class SharedStorage {
  readonly metadata: MetadataStore;
  private readonly metadataBlock: PageLogBlockManager;
  private turtleLsn: number | undefined;
  private keyPageLsn: number | undefined;
  private checkpointBegun = false;
  private completed: number;
  largestFileId: number;
  lastCheckpoint: CheckpointInfo | undefined;
  /** Bytes of live pages, carried from completion record to completion record. */
  private databaseSize: number;
  /** Open from the trees' writes to the completion record's LSN; see `CheckpointWindow`. */
  private windowOpen = false;
  private readonly deferred: Array<() => void> = [];
  private readonly window: CheckpointWindow = {
    isOpen: () => this.windowOpen,
    defer: (work) => (this.windowOpen ? this.deferred.push(work) : work()),
  };
  /** What a read-only connection pins (its log and checkpoint), released at close. */
  private pin: Pin | undefined;
  /**
   * Timestamps of the keys pushed with `setKey` and not yet persisted, ascending. The bytes are
   * the provider's (it keeps its own copy); the engine keeps what it needs to check the next
   * push and to drop a key once a checkpoint persisted it or a newer one.
   */
  private pushedKeyTimestamps: bigint[] = [];
  /** A key page written by a checkpoint that has not completed yet: reported, and the pushed keys it covers dequeued, once one does. */
  private unconfirmedRotation: { pageLsn: number; previousPageLsn: number | undefined; keyTimestamp: bigint; pushed: boolean } | undefined;
  /**
   * True when the checkpoint opened is not the one this home pairs with, but the newest one,
   * which another node completed (a step-up elsewhere, or this home was a follower): the
   * local oplog then holds nothing to replay onto it.
   */
  adopted = false;

  private constructor(
    readonly pageLog: PageLog,
    private readonly context: ConnectionContext,
    private readonly provider: KeyProvider | undefined,
    private readonly providerModule: string | undefined,
    turtle: LastCheckpoint | undefined,
    private readonly retain: number | 'all',
  ) {
    const checkpoint = turtle ? latestCheckpoint(`checkpoint=${turtle.page.checkpoint}`) : undefined;
    // Counted from the checkpoint opened, not from the completion records: older ones may be pruned.
    this.completed = checkpoint?.order ?? 0;
    this.databaseSize = turtle?.databaseSize ?? 0;
    this.metadataBlock = this.blockManager(SHARED_METADATA_TABLE_ID);
    this.metadata = sharedMetadataStore(this.metadataBlock, context, turtle);
    this.turtleLsn = turtle?.lsn;
    this.keyPageLsn = turtle?.page.keyProvider?.lsn;
    this.largestFileId = turtle?.page.largestFileId ?? 0;
    if (turtle) {
      this.lastCheckpoint = {
        id: String(turtle.completionLsn), lsn: turtle.completionLsn, metadataLsn: turtle.lsn,
        keyProviderPageLsn: this.keyPageLsn, timestamp: turtle.page.timestamp, oldestTimestamp: turtle.page.oldestTimestamp,
        time: Date.now(),
      };
    }
  }

  /**
   * Opens the page log: refuses another database's log, reads the checkpoint the local
   * metadata pairs with (else the newest), checks its turtle page and key-provider page, then
   * (writable) drops every record after that checkpoint, hands the key to the provider, and
   * loads the shared metadata.
   */
  static async open(context: ConnectionContext, config: ConnectionConfig, paired: PairedCheckpoint | undefined, nodeId: string): Promise<SharedStorage> {
    const path = pageLogPathOf(context.home, config);
    // A reader pins the checkpoint it reads before a writer in this process could prune it.
    let pin = context.readOnly && paired !== undefined && paired.role !== 'follower' ? pinCheckpoint(path, paired.lsn) : undefined;
    let pageLog: PageLog | undefined;
    let provider: KeyProvider | undefined;
    try {
      // A home whose local metadata names a completed checkpoint must have its page log: never
      // create an empty one in its place (a wrong pageLogPath, a deleted directory).
      pageLog = await openPageLog(path, {
        readOnly: context.readOnly, create: !context.readOnly && paired === undefined, nodeId, ...(config.leaseMs === undefined ? {} : { leaseMs: config.leaseMs }),
      });
      checkPairedIdentity(pageLog, paired);
      const at = checkpointToOpen(pageLog, paired);
      // Everything is read and checked before anything is dropped: a damaged log loses nothing.
      const turtle = readLastCheckpoint(pageLog, at.lsn);
      const persisted = readKeyProviderPage(pageLog, turtle);
      if (at.adopted && turtle !== undefined) {
        context.log({
          level: 'warn', component: 'STORAGE', msg: 'Opened the newest checkpoint of the page log, written by another node',
          attr: { checkpoint: turtle.completionLsn, pairedWith: paired?.lsn ?? null, pairedRole: paired?.role ?? 'leader' },
        });
      }
      if (!context.readOnly) {
        // What follows the checkpoint this home opens is an interrupted checkpoint, or one
        // completed in the log but never paired with the local metadata (a crash before the
        // local turtle file's rename): either way this home will never use it, and its page
        // versions would stand between the pages this home reads and the checkpoints it keeps.
        const unpaired = pageLog.listCompleteCheckpoints(turtle?.completionLsn ?? 0).length;
        const dropped = await pageLog.abandonCheckpoint(turtle?.completionLsn ?? 0);
        if (dropped > 0) {
          context.log({ level: 'warn', component: 'STORAGE', msg: 'Abandoned an interrupted checkpoint', attr: { records: dropped, completedButUnpaired: unpaired } });
        }
      }
      if (config.keyProvider && !context.readOnly) {
        provider = await loadKeyProvider(config.keyProvider, config.keyProviderConfig);
        await provider.loadKey(persisted);
        context.log({
          level: 'info', component: 'KEY_PROVIDER', event: 'keyProviderLoaded', msg: 'Loaded the key-provider key',
          attr: {
            module: config.keyProvider, keyVersion: provider.status().keyVersion,
            ...(persisted === undefined ? {} : { pageLsn: persisted.lsn, keyTimestamp: String(persisted.timestamp) }),
          },
        });
      } else if (persisted && !context.readOnly) {
        throw new ConfigError('this database keeps a key-provider page: open it with a keyProvider', { key: 'keyProvider', lsn: turtle!.page.keyProvider!.lsn });
      }
      if (context.readOnly && pin === undefined && turtle !== undefined) pin = pinCheckpoint(path, turtle.completionLsn);
      const shared = new SharedStorage(pageLog, context, provider, config.keyProvider, turtle, config.pageLogRetain ?? DEFAULT_PAGE_LOG_RETAIN);
      shared.pin = pin;
      shared.adopted = at.adopted && turtle !== undefined;
      return shared;
    } catch (error) {
      if (pin !== undefined) unpinCheckpoint(pin);
      await provider?.terminate().catch(() => undefined);
      await pageLog?.close();
      throw error;
    }
  }

  blockManager(tableId: number): PageLogBlockManager {
    return new PageLogBlockManager(this.pageLog.openHandle(tableId), () => this.completed + 1, (bytes) => {
      this.databaseSize = Math.max(0, this.databaseSize + bytes);
    }, this.window);
  }

  /**
   * Runs DESIGN.md 3.4 steps 2 to 7 after the connection has written the shared tables
   * (step 1, through `writeTables`). A failure leaves the previous checkpoint current; the
   * pages already put are vouched for by the next completion record or dropped at open.
   */
  async checkpoint(args: { stable: bigint; oldest: bigint; largestFileId: number }, writeTables: () => void): Promise<SharedCheckpointResult> {
    if (!this.checkpointBegun) {
      this.pageLog.beginCheckpoint();
      this.checkpointBegun = true;
    }
    writeTables();
    // 2. The shared metadata btree, last of the btrees.
    const tree = this.metadata.tree;
    const root = tree.reconcile();
    const metadataCheckpoint = formatCheckpointList(plainCheckpoint({
      addr: this.metadataBlock.checkpoint(root), order: this.completed + 1, time: Math.floor(Date.now() / 1000),
      size: 0, writeGen: tree.maxWriteGen, runWriteGen: 1n,
    }));
    this.windowOpen = true;
    try {
      return await this.finishCheckpoint(args, tree, metadataCheckpoint);
    } finally {
      this.closeWindow();
    }
  }

  /** Steps 3 to 7, inside the window: nothing but this checkpoint writes pages until its LSN is taken. */
  private async finishCheckpoint(args: { stable: bigint; oldest: bigint; largestFileId: number }, tree: Btree, metadataCheckpoint: string): Promise<SharedCheckpointResult> {
    // 3-5. The key-provider page, only when the key changed.
    let keyProvider: TurtlePage['keyProvider'];
    if (this.provider) {
      const handle = this.pageLog.openHandle(KEY_PROVIDER_TABLE_ID);
      let written: number | undefined;
      let result;
      try {
        result = await persistProviderKey(this.provider, {
          timestamp: args.stable,
          previousLsn: this.keyPageLsn,
          writePage: async (page, links) => {
            written = handle.put(KEY_PROVIDER_PAGE_ID, { backlinkLsn: links.backlinkLsn ?? 0, baseLsn: 0, flags: 0 }, page);
            return written;
          },
          onFailure: (step, error) => {
            this.context.log({
              level: 'error', component: 'KEY_PROVIDER', event: 'keyProviderUpdateFailed', msg: 'The key provider failed; the checkpoint fails',
              attr: { module: this.providerName, step, error: error instanceof Error ? error.message : String(error), keyVersion: this.provider?.status().keyVersion },
            });
          },
        });
      } catch (error) {
        // The provider kept its old key, but a newer version of the key page now sits below
        // the next completion record: later checkpoints read "as of" themselves would meet it,
        // and pruning would drop the page they name. The current key's page goes on top again.
        if (written !== undefined && this.keyPageLsn !== undefined) {
          const current = handle.get(KEY_PROVIDER_PAGE_ID, this.keyPageLsn)[0]!;
          this.keyPageLsn = handle.put(KEY_PROVIDER_PAGE_ID, { backlinkLsn: written, baseLsn: 0, flags: 0 }, current.image);
        }
        throw error;
      }
      const previousPageLsn = this.keyPageLsn;
      this.keyPageLsn = result.lsn;
      keyProvider = { pageId: KEY_PROVIDER_PAGE_ID, lsn: result.lsn, version: 1 };
      // Reported (and the pushed keys it covers taken off the queue) only once the completion
      // record is durable: until then the new key page is not part of any checkpoint.
      if (result.changed) this.unconfirmedRotation = { pageLsn: result.lsn, previousPageLsn, keyTimestamp: result.keyTimestamp!, pushed: result.pushed === true };
    } else if (this.keyPageLsn !== undefined) {
      keyProvider = { pageId: KEY_PROVIDER_PAGE_ID, lsn: this.keyPageLsn, version: 1 };
    }
    // 6. The turtle page.
    this.largestFileId = Math.max(this.largestFileId, args.largestFileId);
    const turtle = formatTurtlePage({
      version: 1, compatibleVersion: 1, checkpoint: metadataCheckpoint, timestamp: args.stable,
      oldestTimestamp: args.oldest, schemaEpoch: 0n, largestFileId: this.largestFileId,
      maxWriteGen: tree.maxWriteGen, keyProvider,
    });
    const turtleLsn = this.pageLog.openHandle(TURTLE_PAGE_TABLE_ID).put(TURTLE_PAGE_ID, { backlinkLsn: this.turtleLsn ?? 0, baseLsn: 0, flags: 0 }, turtle);
    // 7. The completion record: the checkpoint's identity. Its LSN is taken by the call, so
    // the window closes right after it, before the record is durable.
    const completion = this.pageLog.completeCheckpoint({
      timestamp: args.stable,
      oldestTimestamp: args.oldest,
      metadata: formatCompletionMetadata({
        metadataLsn: turtleLsn, metadataChecksum: checksum(turtle), databaseSize: this.databaseSize, version: 1, compatibleVersion: 1,
      }),
    });
    this.closeWindow();
    const lsn = await completion;
    // A rotation whose checkpoint failed is confirmed by the first checkpoint that completes
    // with its key page (the page stays the current one until the next rotation replaces it).
    const rotation = this.unconfirmedRotation;
    if (rotation !== undefined && keyProvider?.lsn === rotation.pageLsn) {
      this.unconfirmedRotation = undefined;
      this.keyRotated(rotation.pageLsn, rotation.previousPageLsn, rotation.keyTimestamp, rotation.pushed);
    }
    this.checkpointBegun = false;
    this.completed++;
    this.turtleLsn = turtleLsn;
    this.lastCheckpoint = {
      id: String(lsn), lsn, metadataLsn: turtleLsn, keyProviderPageLsn: keyProvider?.lsn,
      timestamp: args.stable, oldestTimestamp: args.oldest, time: Date.now(),
    };
    this.context.log({ level: 'info', component: 'STORAGE', msg: 'Disaggregated checkpoint completed', attr: { lsn, metadataLsn: turtleLsn, keyProviderPageLsn: keyProvider?.lsn } });
    return { lsn, metadataLsn: turtleLsn, keyProviderPageLsn: keyProvider?.lsn };
  }

  private closeWindow(): void {
    if (!this.windowOpen) return;
    this.windowOpen = false;
    for (const work of this.deferred.splice(0)) {
      try {
        work();
      } catch (error) {
        // A discard that fails leaves an unreferenced page behind: space, never data.
        this.context.log({ level: 'warn', component: 'STORAGE', msg: 'Could not discard a page', attr: { error: error instanceof Error ? error.message : String(error) } });
      }
    }
  }

  /**
   * Called once the local turtle file pairs with the new checkpoint: the page log may now drop
   * what only older checkpoints need, keeping `pageLogRetain` of them and every checkpoint a
   * read-only connection of this process has open. The checkpoint is durable already, so a
   * failure here is logged, not thrown: the next checkpoint prunes again.
   */
  async checkpointDurable(): Promise<void> {
    const retain = this.retain;
    if (retain === 'all' || this.pageLog.prune === undefined) return;
    try {
      const removed = await this.pageLog.prune(retain, pinnedCheckpoints(this.pageLog.path));
      if (removed > 0) this.context.log({ level: 'debug', component: 'STORAGE', msg: 'Pruned the page log', attr: { records: removed, checkpointsKept: retain } });
    } catch (error) {
      this.context.log({ level: 'warn', component: 'STORAGE', msg: 'Could not prune the page log', attr: { error: error instanceof Error ? error.message : String(error) } });
    }
  }

  /**
   * Keeps the checkpoint whose completion record is `lsn` out of page-log pruning until the
   * returned function is called (a backup copying it).
   */
  pinForBackup(lsn: number): () => void {
    const pin = pinCheckpoint(this.pageLog.path, lsn);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      unpinCheckpoint(pin);
    };
  }

  /** A new key is adopted: the pushed keys it supersedes leave the queue (the provider dropped them too). */
  private keyRotated(pageLsn: number, previousPageLsn: number | undefined, keyTimestamp: bigint, pushed: boolean): void {
    if (pushed) this.pushedKeyTimestamps = this.pushedKeyTimestamps.filter((timestamp) => timestamp > keyTimestamp);
    this.context.log({
      level: 'info', component: 'KEY_PROVIDER', event: 'keyProviderKeyRotated', msg: 'Persisted a new key-provider key',
      attr: {
        module: this.providerName, keyVersion: this.provider?.status().keyVersion, pageLsn, previousPageLsn,
        keyTimestamp: String(keyTimestamp), origin: pushed ? 'pushed' : 'provider', pending: this.pushedKeyTimestamps.length,
      },
    });
  }

  private get providerName(): string | undefined {
    return this.providerModule ?? this.provider?.status().module;
  }

  keyProviderStatus(): KeyProviderStatus | undefined {
    const pendingKeyTimestamps = [...this.pushedKeyTimestamps];
    if (!this.provider) return this.keyPageLsn === undefined ? undefined : { module: 'none', keyVersion: 0, pageLsn: this.keyPageLsn, pendingKeyTimestamps };
    const status = this.provider.status();
    return { module: this.providerModule ?? status.module, keyVersion: status.keyVersion, pageLsn: this.keyPageLsn, pendingKeyTimestamps };
  }

  /**
   * Queues a pushed key (`Connection.setKey`): checks what the engine can check (a non-empty
   * Buffer, a timestamp above the stable timestamp and above every key already queued, as
   * WiredTiger's `set_key` does), then hands the key to the provider, which checks its own
   * rules and keeps it until a checkpoint reaches its timestamp.
   */
  setKey(key: Buffer, timestamp: bigint, stable: bigint): void {
    if (!this.provider?.setKey) {
      throw new ConfigError(this.provider ? `the key provider "${this.providerName}" has no push mode (setKey)` : 'pushing a key needs a key provider', { key: 'keyProvider' });
    }
    if (!Buffer.isBuffer(key) || key.length === 0) {
      throw new KeyProviderError('a pushed key must be a non-empty Buffer', {}, ErrorCode.InvalidArgument);
    }
    if (typeof timestamp !== 'bigint') throw new KeyProviderError('a pushed key needs a bigint timestamp', {}, ErrorCode.InvalidArgument);
    if (timestamp <= stable) {
      throw new KeyProviderError(`a pushed key's timestamp must be above the stable timestamp ${stable}, got ${timestamp}`, { expected: `> ${stable}`, actual: String(timestamp) }, ErrorCode.InvalidArgument);
    }
    const last = this.pushedKeyTimestamps.at(-1);
    if (last !== undefined && timestamp <= last) {
      throw new KeyProviderError(`a pushed key's timestamp must be above the last key pushed (${last}), got ${timestamp}`, { expected: `> ${last}`, actual: String(timestamp) }, ErrorCode.InvalidArgument);
    }
    this.provider.setKey(key, timestamp);
    this.pushedKeyTimestamps.push(timestamp);
    this.context.log({
      level: 'info', component: 'KEY_PROVIDER', event: 'keyProviderKeyPushed', msg: 'Queued a pushed key-provider key',
      attr: { module: this.providerName, keyTimestamp: String(timestamp), keyLength: key.length, pending: this.pushedKeyTimestamps.length },
    });
  }

  requestKeyRotation(): void {
    if (!this.provider?.requestRotation) {
      throw new ConfigError('the key provider does not rotate on request', { key: 'keyProvider' });
    }
    this.provider.requestRotation();
  }

  /**
   * The leader half of a node that took the writer role of an open log (a step-up): the log's
   * newest checkpoint (read and checked by the caller, which already abandoned what followed
   * it), with the provider that holds its key.
   */
  static adopt(pageLog: PageLog, context: ConnectionContext, config: ConnectionConfig, provider: KeyProvider | undefined, turtle: LastCheckpoint | undefined): SharedStorage {
    const shared = new SharedStorage(pageLog, context, provider, config.keyProvider, turtle, config.pageLogRetain ?? DEFAULT_PAGE_LOG_RETAIN);
    shared.adopted = turtle !== undefined;
    return shared;
  }

  /**
   * Ends the leader half without closing the log or the provider (a step-down): the shared
   * metadata tree is released; what the caller still holds of the shared tables is dropped.
   */
  detach(): { pageLog: PageLog; provider: KeyProvider | undefined; keyPageLsn: number | undefined } {
    this.metadata.tree.release();
    return { pageLog: this.pageLog, provider: this.provider, keyPageLsn: this.keyPageLsn };
  }

  async close(): Promise<void> {
    if (this.pin !== undefined) unpinCheckpoint(this.pin);
    this.pin = undefined;
    this.metadata.tree.release();
    await this.provider?.terminate();
    await this.pageLog.close();
  }
}

/** The shared metadata store over `block`, as of `turtle`'s checkpoint (empty for none). */
export function sharedMetadataStore(block: PageLogBlockManager, context: ConnectionContext, turtle: LastCheckpoint | undefined): MetadataStore {
  const checkpoint = turtle ? latestCheckpoint(`checkpoint=${turtle.page.checkpoint}`) : undefined;
  return new MetadataStore(new Btree({
    block, cache: context.cache, timestamps: context.timestamps,
    where: { tableId: SHARED_METADATA_TABLE_ID, file: 'WiredTigerShared.wt_stable' },
    rootAddress: checkpoint ? block.rootFromCheckpoint(checkpoint.addr) : undefined,
    writeGen: checkpoint?.writeGen ?? 0n,
    ...treeLimits({ allocationSize: 4096, leafPageMax: SHARED_METADATA_PAGE_MAX, internalPageMax: 4096, splitPct: 90, leafKeyMax: 0, leafValueMax: 0 }),
  }));
}

/**
 * Refuses a page log of another database: another log may well hold a completion record at the
 * same LSN, and opening it would serve that database's shared tables as this one's.
 */
export function checkPairedIdentity(pageLog: PageLog, paired: PairedCheckpoint | undefined): void {
  if (paired?.pageLog === undefined || paired.pageLog === pageLog.identity) return;
  throw new PageLogError(`the page log at ${pageLog.path} belongs to another database: this home pairs with page log ${paired.pageLog}, not ${pageLog.identity}`, {
    file: pageLog.path, lsn: paired.lsn, expected: paired.pageLog, actual: pageLog.identity,
  }, ErrorCode.PageLogMismatch);
}

/**
 * The checkpoint a leader (or an inspector) opens: the one its home pairs with, unless the
 * log's newest was completed by another node after it (a follower stepped up meanwhile) or
 * the home was a follower's: then the newest, which is "adopted". A home without a pairing
 * opens the newest too. Completions written before the log recorded terms count as this
 * node's own.
 */
export function checkpointToOpen(pageLog: PageLog, paired: PairedCheckpoint | undefined): { lsn: number | undefined; adopted: boolean } {
  const newest = pageLog.getCompleteCheckpoint();
  const writer = newest === undefined || newest.term === 0 ? undefined : pageLog.nodeRecords().terms.find((term) => term.term === newest.term)?.nodeId;
  const byAnother = writer !== undefined && writer !== pageLog.nodeId;
  if (paired === undefined) return { lsn: undefined, adopted: byAnother };
  if (paired.role === 'follower') return { lsn: newest?.lsn, adopted: newest !== undefined };
  if (newest === undefined || newest.lsn <= paired.lsn || !byAnother) return { lsn: paired.lsn, adopted: false };
  return { lsn: newest.lsn, adopted: true };
}

/** The key-provider page `turtle` names, validated, as `loadKey` takes it; undefined when it names none. */
export function readKeyProviderPage(pageLog: PageLog, turtle: LastCheckpoint | undefined): PersistedKey | undefined {
  if (!turtle?.page.keyProvider) return undefined;
  const lsn = turtle.page.keyProvider.lsn;
  const record = pageLog.openHandle(KEY_PROVIDER_TABLE_ID).get(KEY_PROVIDER_PAGE_ID, lsn)[0];
  if (!record || record.lsn !== lsn) {
    throw new PageLogError('the turtle page names a key-provider page that is missing', { tableId: KEY_PROVIDER_TABLE_ID, pageId: KEY_PROVIDER_PAGE_ID, lsn }, ErrorCode.KeyPageInvalid);
  }
  return readPersistedKey(record.image, { lsn, tableId: KEY_PROVIDER_TABLE_ID, pageId: KEY_PROVIDER_PAGE_ID });
}

/** The checkpoint a connection opens: its turtle page and where it was found. */
export interface LastCheckpoint {
  page: TurtlePage;
  /** The turtle page's LSN. */
  lsn: number;
  completionLsn: number;
  databaseSize: number;
}

/**
 * The turtle page of the last completed checkpoint (or of the completion record at
 * `completionLsn`), checked against its completion record.
 */
export function readLastCheckpoint(pageLog: PageLog, completionLsn?: number): LastCheckpoint | undefined {
  const record = pageLog.getCompleteCheckpoint(completionLsn);
  if (!record) {
    if (completionLsn === undefined) return undefined;
    throw new PageLogError('the local metadata names a completion record the page log does not hold', {
      lsn: completionLsn,
    }, ErrorCode.CheckpointMetadataCorrupt);
  }
  const completion = parseCompletionMetadata(record.metadata, record.lsn);
  const turtle = pageLog.openHandle(TURTLE_PAGE_TABLE_ID).get(TURTLE_PAGE_ID, completion.metadataLsn)[0];
  if (!turtle || turtle.lsn !== completion.metadataLsn) {
    throw new PageLogError('checkpoint metadata corruption: the turtle page named by the completion record is missing', {
      tableId: TURTLE_PAGE_TABLE_ID, pageId: TURTLE_PAGE_ID, lsn: completion.metadataLsn,
    }, ErrorCode.CheckpointMetadataCorrupt);
  }
  checkTurtlePageChecksum(turtle.image, completion.metadataChecksum, turtle.lsn);
  return { page: parseTurtlePage(turtle.image, turtle.lsn), lsn: turtle.lsn, completionLsn: record.lsn, databaseSize: completion.databaseSize };
}
