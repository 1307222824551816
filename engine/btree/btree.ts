import type { BlockManager } from '../block/index.js';
import { CorruptionError } from '../errors.js';
import {
  buildInternalImage, buildLeafImage, buildOverflowImage, type ChildAddress, type LeafItemLimits, type OverflowStore,
} from './reconcile.js';
import {
  cellBytes, compareBytes, ENTRY_OVERHEAD, InternalPage, LeafPage, loadPage, ownBytes, packedMemoryBytes, packLeafImage, packRecords, Ref, UpdateChain,
  type OverflowBlock, type Page, type StoredValue,
} from './page.js';
import { BLOCK_PAYLOAD_OFFSET } from '../format/index.js';
import type { Cache } from '../cache/index.js';

/** The connection's timestamps, shared by its trees. */
export interface TimestampState {
  stable: bigint;
  oldest: bigint;
}

export interface BtreeOptions {
  block: BlockManager;
  cache: Cache;
  timestamps: TimestampState;
  /** Where errors point. */
  where: { file?: string; tableId?: number; uri?: string };
  /** The root address of the last checkpoint (undefined: empty tree). */
  rootAddress?: Buffer;
  /** The largest page write generation already on disk. */
  writeGen: bigint;
  /** Split a leaf when its cells pass this many bytes: WiredTiger's split size less the page header (`treeLimits`). */
  leafSplitBytes: number;
  /** Split an internal page when its cells pass this many bytes. */
  internalSplitBytes: number;
  /** Keys and values longer than these go to overflow pages (`leafItemLimits`). */
  leafItemLimits: LeafItemLimits;
}

/** One batch of records read from a leaf, in the order asked for. */
export interface Batch {
  keys: Buffer[];
  values: Buffer[];
  /** True when no record lies beyond this batch. */
  done: boolean;
  /**
   * True while the leaf the batch was read from is unchanged. Once false, the batch's records
   * after the last one consumed may be stale: read a new batch from that record on.
   */
  current: () => boolean;
}

const ALWAYS_CURRENT = (): boolean => true;

/** A `current` check for a batch read from `leaf`. */
function unchangedSince(leaf: LeafPage): () => boolean {
  const modCount = leaf.modCount;
  return () => leaf.modCount === modCount;
}

const EMPTY = Buffer.alloc(0);
/** Leaves left behind by append splits that wait to be packed, at most (see `packSplitLeaves`). */
const MAX_SPLIT_LEAVES_WAITING = 8;

/**
 * Bytes an overflow reference takes in a leaf, for split decisions: the cell's descriptor and
 * length bytes and an address of up to 13 bytes.
 */
const OVERFLOW_CELL_BYTES = 15;

/** Index of the child of an internal page whose subtree holds `key`. */
function childIndex(page: InternalPage, key: Buffer): number {
  let lo = 1;
  let hi = page.keys.length;
  // Appends (increasing ObjectIds, the oplog's timestamps) go to the last child: one comparison.
  if (hi > 1 && compareBytes(page.keys[hi - 1]!, key) <= 0) return hi - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareBytes(page.keys[mid]!, key) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** The shortest separator s with left < s <= right (suffix truncation). */
function shortestSeparator(left: Buffer, right: Buffer): Buffer {
  const limit = Math.min(left.length, right.length);
  let i = 0;
  while (i < limit && left[i] === right[i]) i++;
  return ownBytes(right.subarray(0, Math.min(i + 1, right.length)));
}

/**
 * A row-store B+tree over one block manager: search, insert, remove, in-memory splits,
 * ordered batches for cursors, reconciliation for checkpoints and eviction for the cache.
 */
export class Btree {
  readonly root: Ref;
  readonly block: BlockManager;
  private readonly cache: Cache;
  private readonly timestamps: TimestampState;
  readonly where: BtreeOptions['where'];
  private writeGen: bigint;
  private readonly leafSplitBytes: number;
  private readonly internalSplitBytes: number;
  private readonly limits: LeafItemLimits;
  /** Bumped when pages split, merge or leave memory, so batches know to search again. */
  structureGen = 0;
  /** Bumped by every `put`: a key found absent stays absent while this is unchanged. */
  changeCount = 0;
  private rootPage: InternalPage;
  /**
   * Leaves an append split left behind, oldest first, each with the newest commit timestamp its
   * records held then: appends go to the leaf after them, so their records stop changing and
   * are packed (`packRecords`) once the oldest timestamp passes that. Tried again only when the
   * oldest timestamp has moved since `packTriedAtOldest`.
   */
  private splitLeaves: Array<{ leaf: LeafPage; newestTs: bigint }> = [];
  private packTriedAtOldest = -1n;
  /**
   * A key at or above every key the tree holds, when known (a tree created empty knows it from
   * the start, one read from disk does not): a key above it is absent without a search, as the
   * key of every append is.
   */
  private keysAtMost: Buffer | undefined;

  constructor(options: BtreeOptions) {
    this.block = options.block;
    this.cache = options.cache;
    this.timestamps = options.timestamps;
    this.where = options.where;
    this.writeGen = options.writeGen;
    this.leafSplitBytes = options.leafSplitBytes;
    this.internalSplitBytes = options.internalSplitBytes;
    this.limits = options.leafItemLimits;
    this.root = new Ref(options.rootAddress, undefined, false);
    this.keysAtMost = options.rootAddress ? undefined : EMPTY;
    if (options.rootAddress) {
      const page = loadPage(this.root, this.decodeContext(), undefined);
      // WiredTiger always writes an internal root; wrap a leaf root so the shape holds.
      this.rootPage = page.kind === 'internal' ? page : this.wrapLeafRoot(page);
    } else {
      this.rootPage = new InternalPage([], [], undefined);
    }
    this.root.page = this.rootPage;
  }

  private decodeContext(): Parameters<typeof loadPage>[1] {
    return { block: this.block, where: this.where, onRead: (bytes) => this.cache.recordRead(bytes) };
  }

  private wrapLeafRoot(leaf: LeafPage): InternalPage {
    const root = new InternalPage([EMPTY], [new Ref(this.root.address, leaf, true, leaf.overflowBlocks.length > 0)], undefined);
    leaf.parent = root;
    this.cache.add(leaf, this);
    root.dirty = true;
    return root;
  }

  get maxWriteGen(): bigint {
    return this.writeGen;
  }

  /** Makes the next checkpoint write the root page (a new tree's first root). */
  markRootDirty(): void {
    this.rootPage.dirty = true;
  }

  /** True when the tree has changes a checkpoint has not written. */
  get dirty(): boolean {
    return this.rootPage.dirty;
  }

  private resident(ref: Ref, parent: InternalPage): Page {
    if (ref.page) {
      if (ref.page.kind === 'leaf') this.cache.touch(ref.page);
      return ref.page;
    }
    const page = loadPage(ref, this.decodeContext(), parent);
    ref.page = page;
    ref.isLeaf = page.kind === 'leaf';
    if (page.kind === 'leaf') this.cache.add(page, this);
    return page;
  }

  /** The leaf that holds (or would hold) `key`, creating the first leaf of an empty tree. */
  private findLeaf(key: Buffer, create: boolean): LeafPage | undefined {
    let page: InternalPage = this.rootPage;
    if (page.children.length === 0) {
      if (!create) return undefined;
      const leaf = new LeafPage([], [], page);
      page.keys.push(EMPTY);
      page.children.push(new Ref(undefined, leaf, true));
      this.cache.add(leaf, this);
      this.structureGen++;
    }
    for (;;) {
      const child = this.resident(page.children[childIndex(page, key)]!, page);
      if (child.kind === 'leaf') return child;
      page = child;
    }
  }

  /** The value of `key` visible at `readTs` (undefined: newest), or undefined. */
  get(key: Buffer, readTs?: bigint): Buffer | undefined {
    if (this.keysAtMost !== undefined && compareBytes(key, this.keysAtMost) > 0) return undefined;
    const leaf = this.findLeaf(key, false);
    let result: Buffer | undefined;
    if (leaf) {
      const i = leaf.search(key);
      if (leaf.keyEquals(i, key)) result = visibleValue(leaf.valueAt(i), readTs) ?? undefined;
    }
    this.cache.evictIfNeeded();
    return result;
  }

  /**
   * Writes `value` (null removes) under `key`, committed at `ts` (0n: no timestamp). Returns
   * whether the key had a visible value before.
   */
  put(key: Buffer, value: Buffer | null, ts: bigint): boolean {
    this.changeCount++;
    if (this.splitLeaves.length > 0 && this.packTriedAtOldest !== this.timestamps.oldest) this.packSplitLeaves();
    const leaf = this.findLeaf(key, value !== null)!;
    if (!leaf) return false;
    this.unpackForChange(leaf);
    const i = leaf.search(key);
    const exists = leaf.keyEquals(i, key);
    const keepHistory = ts > 0n && ts > this.timestamps.oldest;
    let existed = false;
    if (exists) {
      const current = leaf.values[i]!;
      existed = visibleValue(current, undefined) !== null;
      if (!keepHistory && value === null) {
        this.removeAt(leaf, i);
      } else if (!keepHistory) {
        this.replaceAt(leaf, i, value!);
      } else {
        this.addVersion(leaf, i, current, ts, value);
      }
    } else if (value !== null) {
      const stored: StoredValue = keepHistory ? new UpdateChain(ts, value) : value;
      if (stored instanceof UpdateChain) leaf.chains++;
      if (this.keysAtMost !== undefined && compareBytes(key, this.keysAtMost) > 0) this.keysAtMost = key;
      if (i === leaf.keys.length) {
        // An append: `splice` would also make an array of the nothing it removes.
        leaf.keys.push(key);
        leaf.values.push(stored);
      } else {
        leaf.keys.splice(i, 0, key);
        leaf.values.splice(i, 0, stored);
      }
      leaf.diskBytes += this.keyCellBytes(key.length) + this.valueCellBytes(value.length);
      this.account(leaf, key.length + value.length + ENTRY_OVERHEAD);
    } else {
      return false;
    }
    this.markDirty(leaf);
    if (leaf.diskBytes > this.leafSplitBytes && leaf.keys.length > 1) this.splitLeaf(leaf, !exists && i === leaf.keys.length - 1);
    this.cache.evictIfNeeded();
    return existed;
  }

  /** Bytes a key's cell takes in a leaf: an overflow reference above the key limit. */
  private keyCellBytes(length: number): number {
    return length > this.limits.keyMax ? OVERFLOW_CELL_BYTES : cellBytes(length);
  }

  /** Bytes a value's cell takes in a leaf (none when empty): an overflow reference above the value limit. */
  private valueCellBytes(length: number): number {
    return length > this.limits.valueMax ? OVERFLOW_CELL_BYTES : cellBytes(length);
  }

  /** A packed leaf about to change becomes arrays; the cache counts the records' objects. */
  private unpackForChange(leaf: LeafPage): void {
    const records = leaf.unpack();
    if (records > 0) this.account(leaf, records * ENTRY_OVERHEAD);
  }

  /** A leaf just written whole becomes packed again: the image holds exactly its records. */
  private repack(leaf: LeafPage, image: Buffer): void {
    const records = packLeafImage(image, BLOCK_PAYLOAD_OFFSET, this.where);
    if (!records || records.count !== leaf.count) return;
    this.account(leaf, packedMemoryBytes(records) - leaf.memoryBytes);
    leaf.repack(records);
  }

  private account(leaf: LeafPage, delta: number): void {
    leaf.memoryBytes += delta;
    this.cache.adjust(leaf, delta);
  }

  private removeAt(leaf: LeafPage, i: number): void {
    const old = leaf.values[i]!;
    if (old instanceof UpdateChain) leaf.chains--;
    const oldValue = old instanceof UpdateChain ? old.visible() ?? EMPTY : old;
    leaf.diskBytes -= this.keyCellBytes(leaf.keys[i]!.length) + this.valueCellBytes(oldValue.length);
    this.account(leaf, -(leaf.keys[i]!.length + oldValue.length + ENTRY_OVERHEAD));
    leaf.keys.splice(i, 1);
    leaf.values.splice(i, 1);
  }

  private replaceAt(leaf: LeafPage, i: number, value: Buffer): void {
    const old = leaf.values[i]!;
    if (old instanceof UpdateChain) leaf.chains--;
    const oldValue = old instanceof UpdateChain ? old.visible() ?? EMPTY : old;
    leaf.diskBytes += this.valueCellBytes(value.length) - this.valueCellBytes(oldValue.length);
    this.account(leaf, value.length - oldValue.length);
    leaf.values[i] = value;
  }

  private addVersion(leaf: LeafPage, i: number, current: StoredValue, ts: bigint, value: Buffer | null): void {
    const newValue = value ?? EMPTY;
    if (current instanceof UpdateChain) {
      const oldValue = current.visible() ?? EMPTY;
      current.add(ts, value);
      current.prune(this.timestamps.oldest);
      leaf.diskBytes += this.valueCellBytes(newValue.length) - this.valueCellBytes(oldValue.length);
      this.account(leaf, newValue.length + ENTRY_OVERHEAD);
    } else {
      leaf.values[i] = new UpdateChain(ts, value, [{ ts: 0n, value: current }]);
      leaf.chains++;
      leaf.diskBytes += this.valueCellBytes(newValue.length) - this.valueCellBytes(current.length);
      this.account(leaf, newValue.length + ENTRY_OVERHEAD);
    }
  }

  private markDirty(page: Page): void {
    if (page.kind === 'leaf') page.modCount++;
    for (let p: Page | undefined = page; p && !p.dirty; p = p.parent) p.dirty = true;
  }

  /**
   * Splits a leaf past its split size. After an insert at its end (an append, as a load in key
   * order does) only the new record moves to the new leaf, so the full leaf stays full, as
   * WiredTiger's append splits leave it; otherwise the leaf splits in two halves by bytes.
   */
  private splitLeaf(leaf: LeafPage, appended: boolean): void {
    let bytes = 0;
    let at = appended ? leaf.keys.length - 1 : 1;
    const half = leaf.diskBytes / 2;
    for (let i = 0; !appended && i < leaf.keys.length - 1; i++) {
      const v = leaf.values[i]!;
      bytes += this.keyCellBytes(leaf.keys[i]!.length) + this.valueCellBytes((v instanceof UpdateChain ? v.visible() ?? EMPTY : v).length);
      if (bytes >= half) {
        at = i + 1;
        break;
      }
    }
    const right = new LeafPage(leaf.keys.splice(at), leaf.values.splice(at), leaf.parent);
    const rightShare = right.keys.length / (right.keys.length + leaf.keys.length);
    right.diskBytes = Math.round(leaf.diskBytes * rightShare);
    leaf.diskBytes -= right.diskBytes;
    right.memoryBytes = Math.round(leaf.memoryBytes * rightShare);
    leaf.memoryBytes -= right.memoryBytes;
    right.chains = right.values.reduce<number>((n, v) => n + (v instanceof UpdateChain ? 1 : 0), 0);
    leaf.chains -= right.chains;
    leaf.modCount++;
    right.dirty = true;
    this.cache.splitAccount(leaf, right, this);
    const separator = shortestSeparator(leaf.keys[leaf.keys.length - 1]!, right.keys[0]!);
    this.insertChild(leaf.parent!, leaf, separator, new Ref(undefined, right, true));
    // A few at most wait (the oldest timestamp can lag far behind): the rest stay arrays until
    // a checkpoint writes them.
    if (appended && this.splitLeaves.length < MAX_SPLIT_LEAVES_WAITING) {
      this.splitLeaves.push({ leaf, newestTs: newestVersion(leaf) });
      this.packTriedAtOldest = -1n;
    }
  }

  /**
   * Packs the leaves append splits left behind whose versions have all collapsed (no reader at
   * or after the oldest timestamp needs an older one); the others wait for the oldest timestamp
   * to pass their newest version, the first of them stopping the walk (those after it are
   * newer). A leaf packed, emptied or holding an item too large for a leaf cell (an overflow
   * item, whose page is reused by the identity of its Buffer) leaves the list; one that leaves
   * memory left it then (`forgetSplitLeaf`).
   */
  private packSplitLeaves(): void {
    const oldest = this.timestamps.oldest;
    this.packTriedAtOldest = oldest;
    let next = 0;
    for (; next < this.splitLeaves.length; next++) {
      const waiting = this.splitLeaves[next]!;
      const leaf = waiting.leaf;
      if (leaf.isPacked || leaf.count === 0) continue;
      if (waiting.newestTs > oldest) break;
      this.collapseChains(leaf);
      if (leaf.chains > 0) {
        // Written since the split: it waits for its newest version now.
        waiting.newestTs = newestVersion(leaf);
        break;
      }
      if (this.holdsOverflowItem(leaf)) continue;
      const records = packRecords(leaf.keys, leaf.values as Buffer[]);
      this.account(leaf, packedMemoryBytes(records) - leaf.memoryBytes);
      leaf.repack(records);
    }
    this.splitLeaves = this.splitLeaves.slice(next);
  }

  private holdsOverflowItem(leaf: LeafPage): boolean {
    if (leaf.overflowBlocks.length > 0) return true;
    const keys = leaf.keys;
    const values = leaf.values;
    for (let i = 0; i < keys.length; i++) {
      if (keys[i]!.length > this.limits.keyMax || (values[i] as Buffer).length > this.limits.valueMax) return true;
    }
    return false;
  }

  /** A leaf leaving the tree or the cache leaves the list of leaves waiting to be packed. */
  private forgetSplitLeaf(leaf: LeafPage): void {
    const index = this.splitLeaves.findIndex((waiting) => waiting.leaf === leaf);
    if (index >= 0) this.splitLeaves.splice(index, 1);
  }

  private insertChild(parent: InternalPage, after: Page, separator: Buffer, ref: Ref): void {
    const index = parent.children.findIndex((c) => c.page === after);
    if (index < 0) throw new CorruptionError('split page is not a child of its parent', this.where);
    parent.keys.splice(index + 1, 0, separator);
    parent.children.splice(index + 1, 0, ref);
    parent.diskBytes += cellBytes(separator.length) + 16;
    this.structureGen++;
    this.markDirty(parent);
    if (parent.diskBytes > this.internalSplitBytes && parent.children.length > 2) this.splitInternal(parent);
  }

  private splitInternal(page: InternalPage): void {
    if (!page.parent) {
      // Splitting the root: push its contents down one level so the root stays the same object.
      const child = new InternalPage(page.keys, page.children, page);
      child.diskBytes = page.diskBytes;
      child.dirty = true;
      for (const ref of child.children) if (ref.page) ref.page.parent = child;
      page.keys = [EMPTY];
      page.children = [new Ref(undefined, child, false)];
      page.diskBytes = 16;
      this.splitInternal(child);
      return;
    }
    const at = page.children.length >> 1;
    const separator = page.keys[at]!;
    const rightKeys = page.keys.splice(at);
    rightKeys[0] = EMPTY;
    const right = new InternalPage(rightKeys, page.children.splice(at), page.parent);
    for (const ref of right.children) if (ref.page) ref.page.parent = right;
    right.diskBytes = Math.round(page.diskBytes / 2);
    page.diskBytes -= right.diskBytes;
    right.dirty = true;
    this.insertChild(page.parent, page, separator, new Ref(undefined, right, false));
  }

  /**
   * Reads one batch of visible records starting at `key` (undefined: the first or last
   * record), forward or in reverse, stopping at the end of a leaf.
   */
  batch(key: Buffer | undefined, inclusive: boolean, reverse: boolean, readTs?: bigint): Batch {
    const keys: Buffer[] = [];
    const values: Buffer[] = [];
    let page: InternalPage = this.rootPage;
    if (page.children.length === 0) return { keys, values, done: true, current: ALWAYS_CURRENT };
    // Descend, remembering the path so the walk can move to the neighbouring leaf.
    const path: Array<{ page: InternalPage; index: number }> = [];
    for (;;) {
      const index = key === undefined ? (reverse ? page.children.length - 1 : 0) : childIndex(page, key);
      path.push({ page, index });
      const child = this.resident(page.children[index]!, page);
      if (child.kind === 'leaf') {
        this.collect(child, key, inclusive, reverse, readTs, keys, values);
        if (keys.length > 0) {
          const current = unchangedSince(child);
          this.cache.evictIfNeeded();
          return { keys, values, done: false, current };
        }
        break;
      }
      page = child;
    }
    // The leaf had nothing in range: move to the next leaves until one does.
    for (;;) {
      let level = path.length - 1;
      while (level >= 0) {
        const step = path[level]!;
        const nextIndex = step.index + (reverse ? -1 : 1);
        if (nextIndex >= 0 && nextIndex < step.page.children.length) {
          step.index = nextIndex;
          break;
        }
        level--;
      }
      if (level < 0) return { keys, values, done: true, current: ALWAYS_CURRENT };
      path.length = level + 1;
      let node: Page = this.resident(path[level]!.page.children[path[level]!.index]!, path[level]!.page);
      while (node.kind === 'internal') {
        const index = reverse ? node.children.length - 1 : 0;
        path.push({ page: node, index });
        node = this.resident(node.children[index]!, node);
      }
      this.collect(node, undefined, true, reverse, readTs, keys, values);
      if (keys.length > 0) {
        const current = unchangedSince(node);
        this.cache.evictIfNeeded();
        return { keys, values, done: false, current };
      }
    }
  }

  private collect(leaf: LeafPage, key: Buffer | undefined, inclusive: boolean, reverse: boolean, readTs: bigint | undefined, keys: Buffer[], values: Buffer[]): void {
    const count = leaf.count;
    if (!reverse) {
      let i = key === undefined ? 0 : leaf.search(key);
      if (key !== undefined && !inclusive && leaf.keyEquals(i, key)) i++;
      for (; i < count; i++) {
        const v = visibleValue(leaf.valueAt(i), readTs);
        if (v !== null) {
          keys.push(leaf.keyAt(i));
          values.push(v);
        }
      }
    } else {
      let i = count - 1;
      if (key !== undefined) {
        i = leaf.search(key);
        if (!(inclusive && leaf.keyEquals(i, key))) i--;
      }
      for (; i >= 0; i--) {
        const v = visibleValue(leaf.valueAt(i), readTs);
        if (v !== null) {
          keys.push(leaf.keyAt(i));
          values.push(v);
        }
      }
    }
  }

  /** The timestamp a checkpoint reads at: the stable timestamp, or the newest data without one. */
  private checkpointReadTs(): bigint | undefined {
    return this.timestamps.stable > 0n ? this.timestamps.stable : undefined;
  }

  /**
   * Writes every dirty page (children before parents) and returns the root's address, or
   * undefined when the tree is empty. Pages still holding changes newer than the checkpoint
   * timestamp stay dirty.
   */
  reconcile(): Buffer | undefined {
    const root = this.rootPage;
    if (!root.dirty) return this.root.address;
    this.reconcileInternal(root, true);
    return this.root.address;
  }

  private nextWriteGen(): bigint {
    this.writeGen += 1n;
    return this.writeGen;
  }

  private writePage(ref: Ref, image: Buffer): void {
    ref.address = ownBytes(this.block.write(image, ref.address));
    this.cache.recordWrite(image.length);
  }

  /**
   * Writes a leaf holding `keys` and `values`: items above the limits go to overflow pages
   * first, reusing the page of an item the leaf's last image already held; the pages of that
   * image no record reuses are freed once the new image replaces it, so space follows updates
   * and removes of large items. Returns the leaf image written.
   */
  private writeLeaf(ref: Ref, leaf: LeafPage, keys: Buffer[], values: Buffer[]): Buffer {
    const previous = new Map<Buffer, OverflowBlock>();
    for (const block of leaf.overflowBlocks) if (block.item) previous.set(block.item, block);
    const reused = new Set<OverflowBlock>();
    const written: OverflowBlock[] = [];
    const overflow: OverflowStore = {
      limits: this.limits,
      store: (item) => {
        const old = previous.get(item);
        if (old) {
          // One record per page: a second record holding the same Buffer gets its own page.
          previous.delete(item);
          reused.add(old);
          return old.address;
        }
        const overflowImage = buildOverflowImage(item, this.nextWriteGen());
        const address = ownBytes(this.block.write(overflowImage));
        this.cache.recordWrite(overflowImage.length);
        written.push({ address, item });
        return address;
      },
    };
    let image: Buffer;
    try {
      image = buildLeafImage(keys, values, this.nextWriteGen(), overflow);
      this.writePage(ref, image);
    } catch (error) {
      // The leaf keeps its last image: pages written for this attempt hold nothing it references.
      for (const block of written) this.block.free(block.address);
      throw error;
    }
    for (const block of leaf.overflowBlocks) if (!reused.has(block)) this.block.free(block.address);
    leaf.overflowBlocks = [...reused, ...written];
    ref.hasOverflow = leaf.overflowBlocks.length > 0;
    return image;
  }

  private reconcileLeaf(ref: Ref, leaf: LeafPage): 'written' | 'empty' {
    const readTs = this.checkpointReadTs();
    this.collapseChains(leaf);
    const keys: Buffer[] = [];
    const values: Buffer[] = [];
    this.collect(leaf, undefined, true, false, readTs, keys, values);
    const staysDirty = leaf.chains > 0 && this.hasNewerThan(leaf, readTs);
    // A leaf that stays (it holds changes newer than the checkpoint) must still be written when
    // nothing of it is visible: its old image would bring back the records removed since.
    if (keys.length === 0 && !staysDirty) {
      leaf.dirty = false;
      return 'empty';
    }
    // Marked clean only once written: a write that throws leaves the changes to the next try.
    const image = this.writeLeaf(ref, leaf, keys, values);
    leaf.dirty = staysDirty;
    if (!leaf.dirty && leaf.chains === 0 && !leaf.isPacked) this.repack(leaf, image);
    return 'written';
  }

  private hasNewerThan(leaf: LeafPage, readTs: bigint | undefined): boolean {
    if (readTs === undefined) return false;
    return leaf.values.some((v) => v instanceof UpdateChain && v.newestTs > readTs);
  }

  /** Replaces chains no reader needs any more by their plain value (or drops the key). */
  private collapseChains(leaf: LeafPage): void {
    if (leaf.chains === 0) return;
    const oldest = this.timestamps.oldest;
    for (let i = leaf.keys.length - 1; i >= 0; i--) {
      const v = leaf.values[i]!;
      if (!(v instanceof UpdateChain)) continue;
      v.prune(oldest);
      if (v.single && v.ts <= oldest) {
        const value = v.value;
        if (value === null) this.removeAt(leaf, i);
        else {
          leaf.values[i] = value;
          leaf.chains--;
        }
      }
    }
  }

  /** Returns false when the page reconciled to nothing (the caller drops it). */
  private reconcileInternal(page: InternalPage, isRoot: boolean): boolean {
    let stillDirty = false;
    for (let i = 0; i < page.children.length; i++) {
      const ref = page.children[i]!;
      const child = ref.page;
      if (!child || !child.dirty) continue;
      const outcome = child.kind === 'leaf'
        ? this.reconcileLeaf(ref, child)
        : this.reconcileInternal(child, false) ? 'written' : 'empty';
      if (outcome === 'empty' && !child.dirty) {
        this.dropChild(page, i);
        i--;
      }
      if (child.dirty) stillDirty = true;
    }
    if (page.children.length === 0) {
      page.dirty = stillDirty;
      if (isRoot && this.block.kind === 'pagelog') {
        // A shared tree always has a root page in the page log, even when empty, so that its
        // table id and checkpoint exist there from the first checkpoint on.
        this.writePage(this.root, buildInternalImage([], this.nextWriteGen(), true));
        return true;
      }
      if (isRoot) {
        if (this.root.address) this.block.free(this.root.address);
        this.root.address = undefined;
      }
      return false;
    }
    const children: ChildAddress[] = [];
    for (let i = 0; i < page.children.length; i++) {
      const ref = page.children[i]!;
      if (!ref.address) {
        // A child never written and still dirty (changes newer than the checkpoint): write
        // what is visible so the parent can point at it.
        const child = ref.page!;
        if (child.kind === 'leaf') {
          const keys: Buffer[] = [];
          const values: Buffer[] = [];
          this.collect(child, undefined, true, false, this.checkpointReadTs(), keys, values);
          this.writeLeaf(ref, child, keys, values);
        } else {
          throw new CorruptionError('internal page child has no address after reconciliation', this.where);
        }
      }
      children.push({ key: page.keys[i]!, address: ref.address!, isLeaf: ref.isLeaf, hasOverflow: ref.hasOverflow });
    }
    const ref = isRoot ? this.root : page.parent!.children.find((c) => c.page === page)!;
    this.writePage(ref, buildInternalImage(children, this.nextWriteGen(), isRoot));
    page.dirty = stillDirty;
    return true;
  }

  private dropChild(page: InternalPage, index: number): void {
    const ref = page.children[index]!;
    if (ref.address) this.block.free(ref.address);
    if (ref.page?.kind === 'leaf') {
      for (const block of ref.page.overflowBlocks) this.block.free(block.address);
      ref.page.overflowBlocks = [];
      this.cache.remove(ref.page);
      this.forgetSplitLeaf(ref.page);
      ref.page.modCount++; // batches read from it must not outlive it
    }
    page.children.splice(index, 1);
    page.keys.splice(index, 1);
    if (index === 0 && page.keys.length > 0) page.keys[0] = EMPTY;
    this.structureGen++;
  }

  /**
   * Evicts a resident leaf: a clean one is dropped; a dirty one is written first (only when it
   * holds nothing newer than the stable timestamp). Returns false when it must stay.
   */
  evict(leaf: LeafPage): boolean {
    const parent = leaf.parent;
    if (!parent) return false;
    const ref = parent.children.find((c) => c.page === leaf);
    if (!ref) {
      this.forgetSplitLeaf(leaf);
      return true; // already detached
    }
    // Versions a reader at or after the oldest timestamp may still need live only in memory
    // (there is no history store): a leaf holding them stays, clean or dirty.
    if (leaf.chains > 0) {
      this.collapseChains(leaf);
      if (leaf.chains > 0) return false;
    }
    if (leaf.dirty) {
      if (leaf.count === 0 || this.block.canWrite?.() === false || this.cache.writesFrozen) return false;
      // No chains left (collapsed above): every value is bytes.
      const { keys, values } = leaf.records();
      this.writeLeaf(ref, leaf, keys, values as Buffer[]);
      leaf.dirty = false;
      this.markDirty(parent);
    }
    ref.page = undefined;
    this.forgetSplitLeaf(leaf);
    // Later changes go to a new copy of the page: batches read from this one are stale then.
    leaf.modCount++;
    this.structureGen++;
    return true;
  }

  /** Every resident leaf, for closing. */
  residentLeaves(): LeafPage[] {
    const out: LeafPage[] = [];
    const walk = (page: InternalPage): void => {
      for (const ref of page.children) {
        if (ref.page?.kind === 'leaf') out.push(ref.page);
        else if (ref.page) walk(ref.page);
      }
    };
    walk(this.rootPage);
    return out;
  }

  /** Drops every resident page from the cache. */
  release(): void {
    for (const leaf of this.residentLeaves()) this.cache.remove(leaf);
    this.splitLeaves = [];
  }
}

/** The newest commit timestamp of a leaf's update chains (0 when it has none). */
function newestVersion(leaf: LeafPage): bigint {
  let newest = 0n;
  if (leaf.chains === 0) return newest;
  for (const value of leaf.values) if (value instanceof UpdateChain && value.newestTs > newest) newest = value.newestTs;
  return newest;
}

function visibleValue(stored: StoredValue, readTs: bigint | undefined): Buffer | null {
  return stored instanceof UpdateChain ? stored.visible(readTs) : stored;
}
