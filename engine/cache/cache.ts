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
  evictions = 0;

  constructor(readonly maxBytes: number) {}

  get bytes(): number {
    return this.bytesInUse;
  }

  get pages(): number {
    return this.lru.size;
  }

  add(leaf: LeafPage, tree: EvictionTarget): void {
    if (this.lru.has(leaf)) return;
    this.lru.set(leaf, tree);
    this.bytesInUse += leaf.memoryBytes;
  }

  /** Marks a leaf as just used. */
  touch(leaf: LeafPage): void {
    const tree = this.lru.get(leaf);
    if (tree === undefined) return;
    this.lru.delete(leaf);
    this.lru.set(leaf, tree);
  }

  adjust(leaf: LeafPage, delta: number): void {
    if (this.lru.has(leaf)) this.bytesInUse += delta;
  }

  /** A leaf split in two: the right half joins the cache with its share of the bytes. */
  splitAccount(left: LeafPage, right: LeafPage, tree: EvictionTarget): void {
    this.lru.set(right, tree);
    void left;
  }

  remove(leaf: LeafPage): void {
    if (this.lru.delete(leaf)) this.bytesInUse -= leaf.memoryBytes;
  }

  /** Evicts least recently used leaves while the cache is over its trigger. */
  evictIfNeeded(): void {
    if (this.bytesInUse <= this.maxBytes * TRIGGER || this.evicting) return;
    this.evicting = true;
    try {
      const goal = this.maxBytes * TARGET;
      const kept: Array<[LeafPage, EvictionTarget]> = [];
      for (const [leaf, tree] of this.lru) {
        if (this.bytesInUse <= goal) break;
        this.lru.delete(leaf);
        if (tree.evict(leaf)) {
          this.bytesInUse -= leaf.memoryBytes;
          this.evictions++;
        } else kept.push([leaf, tree]);
      }
      for (const [leaf, tree] of kept) this.lru.set(leaf, tree);
    } finally {
      this.evicting = false;
    }
  }
}
