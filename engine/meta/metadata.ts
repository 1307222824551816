import type { Btree } from '../btree/index.js';
import { ItemFormat } from '../format/index.js';

const TEXT = new ItemFormat('S');

/**
 * A metadata table (`WiredTiger.wt`, or the shared metadata btree in the page log): string
 * keys and values in a btree, mirrored in a map because it is small and read on every schema
 * operation. Every change goes to both; the btree is what checkpoints make durable.
 */
export class MetadataStore {
  private readonly entries = new Map<string, string>();

  constructor(readonly tree: Btree) {
    for (let key: Buffer | undefined, done = false; !done;) {
      const batch = tree.batch(key, false, false);
      batch.keys.forEach((k, i) => this.entries.set(TEXT.unpack(k) as string, TEXT.unpack(batch.values[i]!) as string));
      key = batch.keys[batch.keys.length - 1];
      done = batch.done || key === undefined;
    }
  }

  get(key: string): string | undefined {
    return this.entries.get(key);
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  set(key: string, value: string): void {
    this.entries.set(key, value);
    this.tree.put(TEXT.pack(key), TEXT.pack(value), 0n);
  }

  delete(key: string): void {
    if (!this.entries.delete(key)) return;
    this.tree.put(TEXT.pack(key), null, 0n);
  }

  /** Entries in key order, optionally only those whose key starts with `prefix`. */
  list(prefix = ''): Array<[string, string]> {
    return [...this.entries].filter(([k]) => k.startsWith(prefix)).sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  }
}
