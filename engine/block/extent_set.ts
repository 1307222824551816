import type { Extent } from '../format/index.js';

/**
 * A set of byte ranges kept as sorted, merged, non-overlapping extents: the block layer's
 * in-use, available and pending-free lists.
 */
export class ExtentSet {
  private offsets: number[] = [];
  private sizes: number[] = [];

  /** Index of the last extent starting at or before `offset`, or -1. */
  private floor(offset: number): number {
    let lo = 0;
    let hi = this.offsets.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.offsets[mid]! <= offset) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  add(offset: number, size: number): void {
    if (size <= 0) return;
    let start = offset;
    let end = offset + size;
    let i = this.floor(offset);
    if (i >= 0 && this.offsets[i]! + this.sizes[i]! >= start) {
      start = this.offsets[i]!;
      end = Math.max(end, this.offsets[i]! + this.sizes[i]!);
    } else i++;
    let j = i;
    while (j < this.offsets.length && this.offsets[j]! <= end) {
      end = Math.max(end, this.offsets[j]! + this.sizes[j]!);
      j++;
    }
    this.offsets.splice(i, j - i, start);
    this.sizes.splice(i, j - i, end - start);
  }

  remove(offset: number, size: number): void {
    if (size <= 0) return;
    const end = offset + size;
    let i = this.floor(offset);
    if (i < 0) i = 0;
    while (i < this.offsets.length && this.offsets[i]! < end) {
      const s = this.offsets[i]!;
      const e = s + this.sizes[i]!;
      if (e <= offset) {
        i++;
        continue;
      }
      const pieces: Array<[number, number]> = [];
      if (s < offset) pieces.push([s, offset - s]);
      if (e > end) pieces.push([end, e - end]);
      this.offsets.splice(i, 1, ...pieces.map((p) => p[0]));
      this.sizes.splice(i, 1, ...pieces.map((p) => p[1]));
      i += pieces.length;
    }
  }

  /** True when every byte of the range is in the set. */
  contains(offset: number, size: number): boolean {
    const i = this.floor(offset);
    return i >= 0 && this.offsets[i]! + this.sizes[i]! >= offset + size;
  }

  /** True when any byte of the range is in the set. */
  overlaps(offset: number, size: number): boolean {
    const i = this.floor(offset + size - 1);
    return i >= 0 && this.offsets[i]! + this.sizes[i]! > offset;
  }

  /** Removes and returns the offset of the first extent with room for `size` bytes. */
  takeFirstFit(size: number): number | undefined {
    for (let i = 0; i < this.offsets.length; i++) {
      if (this.sizes[i]! >= size) {
        const offset = this.offsets[i]!;
        if (this.sizes[i] === size) {
          this.offsets.splice(i, 1);
          this.sizes.splice(i, 1);
        } else {
          this.offsets[i] = offset + size;
          this.sizes[i] = this.sizes[i]! - size;
        }
        return offset;
      }
    }
    return undefined;
  }

  extents(): Extent[] {
    return this.offsets.map((offset, i) => ({ offset, size: this.sizes[i]! }));
  }

  get totalBytes(): number {
    return this.sizes.reduce((a, b) => a + b, 0);
  }

  clear(): void {
    this.offsets = [];
    this.sizes = [];
  }
}
