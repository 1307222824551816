import type { CacheStats } from '../api.js';
import type { LeafPage } from '../btree/page.js';

/** What the cache needs from a tree to evict one of its leaves. */
export interface EvictionTarget {
  /** Writes (if dirty) and drops the leaf; false when it must stay in memory for now. */
  evict(leaf: LeafPage): boolean;
}

/** Eviction starts above this share of the cache and stops below `TARGET`. */
const TRIGGER = 0.95;
const TARGET = 0.8;
/**
 * Leaves one eviction call examines at most. Leaves their tree must keep (history a reader at
 * the oldest timestamp may still need) go back to the recently used end, so successive calls
 * walk on through the cache instead of re-examining the same pinned leaves on every write.
 */
const CANDIDATES_PER_CALL = 64;
/** After a call that could evict nothing, wait until the cache grows this share before trying again. */
const RETRY_GROWTH = 1 / 32;

/**
 * The connection's page cache: it counts the bytes of resident leaf pages of every tree and
 * evicts the least recently used ones when the total passes the configured size, so memory
 * stays bounded by the cache size whatever the data size. Internal pages stay resident; they
 * are about one percent of the leaves.
 */
export class Cache {
  private bytesInUse = 0;
  /** Resident leaves in least-recently-used order (a Map keeps insertion order). */
  private readonly lru = new Map<LeafPage, EvictionTarget>();
  private evicting = false;
  /** The leaf touched last (already at the recently used end). */
  private newest: LeafPage | undefined;
  /** The leaf touched before `newest` (next to it at the recently used end). */
  private previous: LeafPage | undefined;
  /** Eviction found nothing to evict: do not try again below this many bytes. */
  private retryAbove = 0;
  /** Leaves evicted, clean and dirty (`cleanEvictions + dirtyEvictions`). */
  evictions = 0;
  /** Leaves evicted that needed no write (WiredTiger's "unmodified pages evicted"). */
  cleanEvictions = 0;
  /** Leaves written by eviction, then evicted ("modified pages evicted"). */
  dirtyEvictions = 0;
  /** Page images read into memory, leaves and internal pages ("pages read into cache"), and their bytes. */
  pagesRead = 0;
  bytesRead = 0;
  /** Page images written by checkpoints and eviction ("pages written from cache"), and their bytes. */
  pagesWritten = 0;
  bytesWritten = 0;
  /**
   * Set while the connection's files are frozen (a backup fence): eviction then drops clean
   * leaves only and keeps dirty ones in memory, since writing them would change a file.
   */
  writesFrozen = false;

  constructor(readonly maxBytes: number) {}

  get bytes(): number {
    return this.bytesInUse;
  }

  get pages(): number {
    return this.lru.size;
  }

  /** Bytes of the resident leaves holding changes no write has taken yet ("tracked dirty bytes in the cache"). */
  get dirtyBytes(): number {
    let bytes = 0;
    for (const leaf of this.lru.keys()) if (leaf.dirty) bytes += leaf.memoryBytes;
    return bytes;
  }

  /** A tree read a page image of `imageBytes` into memory. */
  recordRead(imageBytes: number): void {
    this.pagesRead++;
    this.bytesRead += imageBytes;
  }

  /** A tree wrote a page image of `imageBytes` (reconciliation or eviction). */
  recordWrite(imageBytes: number): void {
    this.pagesWritten++;
    this.bytesWritten += imageBytes;
  }

  /** Every counter at once, for statistics. */
  stats(): CacheStats {
    return {
      maxBytes: this.maxBytes, bytes: this.bytesInUse, dirtyBytes: this.dirtyBytes, pages: this.lru.size,
      cleanEvictions: this.cleanEvictions, dirtyEvictions: this.dirtyEvictions,
      pagesRead: this.pagesRead, bytesRead: this.bytesRead, pagesWritten: this.pagesWritten, bytesWritten: this.bytesWritten,
    };
  }

  add(leaf: LeafPage, tree: EvictionTarget): void {
    if (this.lru.has(leaf)) return;
    this.lru.set(leaf, tree);
    this.previous = this.newest;
    this.newest = leaf;
    this.bytesInUse += leaf.memoryBytes;
  }

  /** Marks a leaf as just used. */
  touch(leaf: LeafPage): void {
    // Loads and scans touch the same leaf many times in a row: nothing to move then.
    if (leaf === this.newest) return;
    // Writes alternating between two tables (a collection and its oplog) touch the same two
    // leaves in turn: both already sit at the recently used end, so neither moves (their order
    // between themselves matters only once eviction has gone through every other leaf).
    if (leaf === this.previous) {
      this.previous = this.newest;
      this.newest = leaf;
      return;
    }
    const tree = this.lru.get(leaf);
    if (tree === undefined) return;
    this.previous = this.newest;
    this.newest = leaf;
    this.lru.delete(leaf);
    this.lru.set(leaf, tree);
  }

  adjust(leaf: LeafPage, delta: number): void {
    if (this.lru.has(leaf)) this.bytesInUse += delta;
  }

  /** A leaf split in two: the right half joins the cache with its share of the bytes. */
  splitAccount(left: LeafPage, right: LeafPage, tree: EvictionTarget): void {
    this.lru.set(right, tree);
    this.previous = this.newest;
    this.newest = right;
    void left;
  }

  remove(leaf: LeafPage): void {
    if (leaf === this.newest) this.newest = undefined;
    if (leaf === this.previous) this.previous = undefined;
    if (this.lru.delete(leaf)) this.bytesInUse -= leaf.memoryBytes;
  }

  /** Evicts least recently used leaves while the cache is over its trigger. */
  evictIfNeeded(): void {
    if (this.bytesInUse <= this.maxBytes * TRIGGER || this.evicting || this.bytesInUse < this.retryAbove) return;
    this.evicting = true;
    try {
      const goal = this.maxBytes * TARGET;
      const kept: Array<[LeafPage, EvictionTarget]> = [];
      let examined = 0;
      let evicted = 0;
      for (const [leaf, tree] of this.lru) {
        if (this.bytesInUse <= goal || examined >= CANDIDATES_PER_CALL) break;
        examined++;
        this.lru.delete(leaf);
        const dirty = leaf.dirty;
        if (tree.evict(leaf)) {
          this.bytesInUse -= leaf.memoryBytes;
          this.evictions++;
          if (dirty) this.dirtyEvictions++;
          else this.cleanEvictions++;
          evicted++;
        } else kept.push([leaf, tree]);
      }
      for (const [leaf, tree] of kept) this.lru.set(leaf, tree);
      this.newest = undefined;
      this.previous = undefined;
      this.retryAbove = evicted > 0 ? 0 : this.bytesInUse + this.maxBytes * RETRY_GROWTH;
    } finally {
      this.evicting = false;
    }
  }
}
