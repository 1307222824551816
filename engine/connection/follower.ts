import type { CheckpointInfo, ConnectionConfig, KeyProviderStatus } from '../api.js';
import { PageLogBlockManager } from '../block/page_log_block_manager.js';
import { ConfigError, ErrorCode, PageLogError, StateError } from '../errors.js';
import { loadKeyProvider, type KeyProvider } from '../key_provider/index.js';
import type { MetadataStore, PairedCheckpoint } from '../meta/index.js';
import { openPageLog, SHARED_METADATA_TABLE_ID, type PageLog } from '../page_log/index.js';
import type { ConnectionContext } from './connection.js';
import {
  checkPairedIdentity, pageLogPathOf, pinCheckpoint, readKeyProviderPage, readLastCheckpoint, sharedMetadataStore, unpinCheckpoint,
  type LastCheckpoint, type Pin,
} from './shared_storage.js';
import type { TableHandle } from './table.js';

/**
 * One checkpoint a follower reads: the shared metadata and the shared tables as of its
 * completion record, read straight from the page log by the addresses it names (a page
 * version never changes, so no "as of" is needed below the roots). Held by the follower while
 * current and by every cursor and view hold opened on it; released, its trees leave the cache.
 */
export class CheckpointView {
  readonly info: CheckpointInfo;
  readonly metadata: MetadataStore;
  readonly tables = new Map<string, TableHandle>();
  readonly largestFileId: number;
  /** Holds besides being current: cursors and view holds. */
  holds = 0;
  current = true;
  private readonly pin: Pin;

  constructor(readonly pageLog: PageLog, context: ConnectionContext, readonly turtle: LastCheckpoint, private readonly owner: FollowerStorage) {
    this.metadata = sharedMetadataStore(this.blockManager(SHARED_METADATA_TABLE_ID), context, turtle);
    this.largestFileId = turtle.page.largestFileId;
    this.info = {
      id: String(turtle.completionLsn), lsn: turtle.completionLsn, metadataLsn: turtle.lsn, keyProviderPageLsn: turtle.page.keyProvider?.lsn,
      timestamp: turtle.page.timestamp, oldestTimestamp: turtle.page.oldestTimestamp, time: Date.now(),
    };
    // Should this node step up, its own pruning keeps what its cursors still read.
    this.pin = pinCheckpoint(pageLog.path, turtle.completionLsn);
  }

  /** Pages of `tableId` as this checkpoint's addresses name them; nothing is ever written through it. */
  blockManager(tableId: number): PageLogBlockManager {
    return new PageLogBlockManager(this.pageLog.openHandle(tableId), () => 0);
  }

  get inUse(): boolean {
    return this.current || this.holds > 0;
  }

  /** Takes one hold (a cursor, a view hold); `unhold` ends it. */
  hold(): void {
    this.holds += 1;
  }

  /** Ends one hold; the last one of a view no longer served lets it go. */
  unhold(): void {
    this.holds = Math.max(0, this.holds - 1);
    this.owner.releaseIfUnused(this);
  }

  release(): void {
    for (const table of this.tables.values()) table.close();
    this.tables.clear();
    this.metadata.tree.release();
    unpinCheckpoint(this.pin);
  }
}

/** Builds the table handles of a view from its metadata (the connection knows how). */
export type ViewTables = (view: CheckpointView) => void;

/**
 * The disaggregated half of a follower: the shared page log opened as a follower, the
 * checkpoint view it serves, older views still held by cursors, and the key provider holding
 * the key of the served checkpoint. Picks up checkpoints one at a time.
 */
export class FollowerStorage {
  current: CheckpointView | undefined;
  private readonly views = new Set<CheckpointView>();
  private provider: KeyProvider | undefined;
  private keyPageLsn: number | undefined;
  private pickUps: Promise<unknown> = Promise.resolve();
  /** Set when a step-up took the log over: views left then only wait for their holds to end. */
  private retired = false;
  /** Lease writes run one after another, each naming what is read when it runs. */
  private leaseUpdate: Promise<void> = Promise.resolve();
  /** The checkpoint a pick-up is taking: the lease names it before its view exists. */
  private pickingUp: number | undefined;

  private constructor(
    readonly pageLog: PageLog,
    private readonly context: ConnectionContext,
    private readonly config: ConnectionConfig,
    private readonly buildTables: ViewTables,
    provider: KeyProvider | undefined,
    keyPageLsn: number | undefined,
  ) {
    this.provider = provider;
    this.keyPageLsn = keyPageLsn;
  }

  /**
   * Opens the shared log as a follower (it must exist: a leader makes it), refuses another
   * database's log, and picks up `config.followerCheckpoint` or the newest checkpoint. With
   * none completed yet the follower waits (`current` undefined) and says so.
   */
  static async open(context: ConnectionContext, config: ConnectionConfig, paired: PairedCheckpoint | undefined, nodeId: string, buildTables: ViewTables): Promise<FollowerStorage> {
    const path = pageLogPathOf(context.home, config);
    const pageLog = await openPageLog(path, { role: 'follower', nodeId, ...(config.leaseMs === undefined ? {} : { leaseMs: config.leaseMs }) });
    let follower: FollowerStorage | undefined;
    try {
      checkPairedIdentity(pageLog, paired);
      follower = new FollowerStorage(pageLog, context, config, buildTables, undefined, undefined);
      const first = await follower.pickUp(config.followerCheckpoint);
      if (first === undefined) {
        context.log({ level: 'info', component: 'STORAGE', msg: 'Waiting for the first checkpoint of the page log', attr: { pageLog: path } });
      }
      return follower;
    } catch (error) {
      await follower?.close().catch(() => undefined);
      if (follower === undefined) await pageLog.close();
      throw error;
    }
  }

  /** A follower on a log this node already holds (a step-down), with the provider of its last key. */
  static async fromLeader(pageLog: PageLog, context: ConnectionContext, config: ConnectionConfig, buildTables: ViewTables, provider: KeyProvider | undefined, keyPageLsn: number | undefined): Promise<FollowerStorage> {
    const follower = new FollowerStorage(pageLog, context, config, buildTables, provider, keyPageLsn);
    await follower.pickUp();
    return follower;
  }

  /**
   * Picks up the checkpoint `id` (default the newest); see `Connection.pickUpCheckpoint`. One
   * pick-up at a time. The lease names the new checkpoint before its pages are read, then the
   * completion record is read again: a prune that ran between the two has removed it, and the
   * newest is tried again (an explicit id fails with `CHECKPOINT_NOT_FOUND`).
   */
  pickUp(id?: string): Promise<CheckpointInfo | undefined> {
    const requested = id === undefined ? undefined : parseCheckpointId(id);
    const run = this.pickUps.then(() => this.pickUpNow(requested));
    this.pickUps = run.catch(() => undefined);
    return run;
  }

  private async pickUpNow(requested: number | undefined): Promise<CheckpointInfo | undefined> {
    if (this.retired) throw new StateError(ErrorCode.InvalidArgument, 'this node leads the page log now: it picks up no checkpoint');
    for (let attempt = 1; ; attempt += 1) {
      const record = this.pageLog.getCompleteCheckpoint(requested);
      if (record === undefined) {
        if (requested !== undefined) throw this.checkpointNotFound(requested);
        return undefined;
      }
      if (this.current?.turtle.completionLsn === record.lsn) return this.current.info;
      let view: CheckpointView | undefined;
      this.pickingUp = record.lsn;
      try {
        await this.writeLease();
        if (this.pageLog.getCompleteCheckpoint(record.lsn) === undefined) {
          if (requested !== undefined || attempt >= 3) throw this.checkpointNotFound(record.lsn);
          continue;
        }
        const turtle = readLastCheckpoint(this.pageLog, record.lsn)!;
        await this.loadKeyOf(turtle);
        view = new CheckpointView(this.pageLog, this.context, turtle, this);
        this.buildTables(view);
      } catch (error) {
        // The served checkpoint stays; the lease goes back to what is read.
        view?.release();
        this.pickingUp = undefined;
        await this.writeLease().catch(() => undefined);
        throw error;
      } finally {
        this.pickingUp = undefined;
      }
      // Built by the try above (each way out of it without a view throws or continues).
      const served = view!;
      const previous = this.current;
      this.current = served;
      this.views.add(served);
      if (previous !== undefined) {
        previous.current = false;
        this.releaseIfUnused(previous);
      }
      this.context.log({
        level: 'info', component: 'STORAGE', msg: 'Picked up a checkpoint',
        attr: { id: served.info.id, timestamp: String(served.info.timestamp), metadataLsn: served.info.metadataLsn, keyProviderPageLsn: served.info.keyProviderPageLsn ?? null },
      });
      return served.info;
    }
  }

  private checkpointNotFound(lsn: number): PageLogError {
    const kept = this.pageLog.listCompleteCheckpoints();
    const oldest = kept[0]?.lsn;
    const newest = kept.at(-1)?.lsn;
    const why = newest === undefined
      ? 'the page log holds no completed checkpoint yet'
      : lsn < oldest! && lsn <= this.pageLog.getLastLsn()
        ? `it is older than every checkpoint the page log keeps (oldest ${oldest}, newest ${newest}): pruned, or never a checkpoint`
        : lsn > newest
          ? `no checkpoint has completed with that id (the newest is ${newest})`
          : `LSN ${lsn} is not a completion record (kept checkpoints: ${kept.map((c) => c.lsn).join(', ')})`;
    return new PageLogError(`checkpoint ${lsn} cannot be picked up: ${why}`, { file: this.pageLog.path, lsn }, ErrorCode.CheckpointNotFound);
  }

  /**
   * Hands the key-provider page `turtle` names to `loadKey` of a fresh provider when it is not
   * the page whose key is loaded (a provider loads one key in its life): a rotation on the
   * leader becomes the follower's key at its next pick-up.
   */
  private async loadKeyOf(turtle: LastCheckpoint): Promise<void> {
    const lsn = turtle.page.keyProvider?.lsn;
    if (lsn === undefined || lsn === this.keyPageLsn) return;
    const persisted = readKeyProviderPage(this.pageLog, turtle);
    if (this.config.keyProvider === undefined) {
      throw new ConfigError('this database keeps a key-provider page: open it with a keyProvider', { key: 'keyProvider', lsn });
    }
    const provider = await loadKeyProvider(this.config.keyProvider, this.config.keyProviderConfig);
    try {
      await provider.loadKey(persisted);
    } catch (error) {
      await provider.terminate().catch(() => undefined);
      throw error;
    }
    const previous = this.provider;
    this.provider = provider;
    this.keyPageLsn = lsn;
    await previous?.terminate().catch(() => undefined);
    this.context.log({ level: 'info', component: 'KEY_PROVIDER', msg: 'Loaded the key of a picked-up checkpoint', attr: { pageLsn: lsn, keyVersion: provider.status().keyVersion } });
  }

  /**
   * Writes the lease naming every view still in use and the checkpoint being picked up, as they
   * are when the write runs (writes are queued, so an older list never lands after a newer one).
   */
  private writeLease(): Promise<void> {
    const run = this.leaseUpdate.then(() => {
      if (this.retired) return undefined;
      const lsns = [...this.views].filter((view) => view.inUse).map((view) => view.turtle.completionLsn);
      if (this.pickingUp !== undefined) lsns.push(this.pickingUp);
      return this.pageLog.holdCheckpoints(lsns);
    });
    this.leaseUpdate = run.catch(() => undefined);
    return run;
  }

  /** A hold on the view served now; undefined while none is. */
  hold(): CheckpointView | undefined {
    this.current?.hold();
    return this.current;
  }

  /** Lets `view` go once nothing reads it: its trees leave the cache and the lease stops naming it. */
  releaseIfUnused(view: CheckpointView): void {
    if (view.inUse || !this.views.delete(view)) return;
    view.release();
    // Best effort: the periodic renewal writes the same list should this one fail.
    if (!this.retired) this.writeLease().catch(() => undefined);
  }

  /** Checkpoints open cursors still read besides the current one. */
  heldOlder(): CheckpointInfo[] {
    return [...this.views].filter((view) => view !== this.current).map((view) => view.info);
  }

  // A follower takes no pushed keys (it writes no checkpoint): nothing is ever pending.
  keyProviderStatus(): KeyProviderStatus | undefined {
    if (this.provider === undefined) {
      return this.config.keyProvider === undefined ? undefined : { module: this.config.keyProvider, keyVersion: 0, pageLsn: undefined, pendingKeyTimestamps: [] };
    }
    return { module: this.config.keyProvider ?? this.provider.status().module, keyVersion: this.provider.status().keyVersion, pageLsn: this.keyPageLsn, pendingKeyTimestamps: [] };
  }

  /**
   * Hands the log and the provider over to a step-up: no more pick-ups. The view served now is
   * still served until `stopServing` (once the leader half is ready); every view then stays
   * until its holds end, pinned in this process so the new leader's pruning keeps it.
   */
  async retire(): Promise<{ pageLog: PageLog; provider: KeyProvider | undefined; keyPageLsn: number | undefined }> {
    await this.pickUps;
    await this.leaseUpdate;
    this.retired = true;
    const handedOver = { pageLog: this.pageLog, provider: this.provider, keyPageLsn: this.keyPageLsn };
    this.provider = undefined;
    return handedOver;
  }

  /** Undoes `retire` after a step-up that failed: the follower serves and picks up again. */
  resume(provider: KeyProvider | undefined): void {
    this.retired = false;
    this.provider = provider;
  }

  /** After `retire`: the current view is no longer served (cursors on it go on). */
  stopServing(): void {
    const current = this.current;
    this.current = undefined;
    if (current !== undefined) {
      current.current = false;
      this.releaseIfUnused(current);
    }
  }

  /** Closes everything: views, provider and the page log (which ends this node's lease). */
  async close(): Promise<void> {
    await this.pickUps;
    await this.leaseUpdate;
    for (const view of this.views) view.release();
    this.views.clear();
    this.current = undefined;
    await this.provider?.terminate();
    this.provider = undefined;
    if (!this.retired) await this.pageLog.close();
  }
}

/** A checkpoint id as given (a decimal completion LSN). */
export function parseCheckpointId(id: string): number {
  const lsn = /^\d{1,16}$/.test(id) ? Number(id) : NaN;
  if (!Number.isSafeInteger(lsn) || lsn < 1) {
    throw new StateError(ErrorCode.InvalidArgument, `checkpoint id "${id}" is not a completion record LSN (a positive decimal integer)`);
  }
  return lsn;
}
