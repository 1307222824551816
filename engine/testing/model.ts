/**
 * The reference a storage engine is checked against: a plain map from string keys to string
 * values, ordered the way the engine orders `S` keys (by their UTF-8 bytes).
 */
export class SortedModel {
  readonly map = new Map<string, string>();

  constructor(entries: Iterable<[string, string]> = []) {
    for (const [key, value] of entries) this.map.set(key, value);
  }

  get size(): number {
    return this.map.size;
  }

  get(key: string): string | undefined {
    return this.map.get(key);
  }

  has(key: string): boolean {
    return this.map.has(key);
  }

  set(key: string, value: string): void {
    this.map.set(key, value);
  }

  delete(key: string): boolean {
    return this.map.delete(key);
  }

  clone(): SortedModel {
    return new SortedModel(this.map);
  }

  /** Entries in byte order of their keys. */
  sorted(): Array<[string, string]> {
    return [...this.map].sort(([a], [b]) => compareKeys(a, b));
  }

  /** Entries whose keys fall in the range, in order (reversed when asked). */
  range(range: { gt?: string; gte?: string; lt?: string; lte?: string; reverse?: boolean }, sorted = this.sorted()): Array<[string, string]> {
    const inRange = sorted.filter(([key]) =>
      (range.gt === undefined || compareKeys(key, range.gt) > 0)
      && (range.gte === undefined || compareKeys(key, range.gte) >= 0)
      && (range.lt === undefined || compareKeys(key, range.lt) < 0)
      && (range.lte === undefined || compareKeys(key, range.lte) <= 0));
    return range.reverse ? inRange.reverse() : inRange;
  }
}

/** Byte order of two strings' UTF-8 encodings (what an `S` key sorts by). */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // UTF-16 order matches UTF-8 byte order except around surrogates: compare bytes there.
    if (x >= 0xd800 || y >= 0xd800) return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
    return x < y ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}
