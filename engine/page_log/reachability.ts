/**
 * Which records of one page a read at a kept checkpoint can still return; `prune` removes the
 * others.
 *
 * A read at LSN K returns the newest base or discard at or below K ("reset") and the deltas
 * after it up to K. So a record at LSN r (base, delta or discard) is returned by, or shapes,
 * the read at K exactly when r <= K < the page's next reset after r. A record newer than the
 * newest kept checkpoint belongs to work in progress and is always kept. A discard only matters
 * while an older record of the page is kept: without one, reads return [] anyway.
 */

/** One record of a page, as far as reachability is concerned. */
export interface ChainRecord {
  lsn: number;
  /** True for a base image or a discard: it hides every older record of the page. */
  resetsChain: boolean;
  /** True for a discard. */
  isDiscard: boolean;
}

/**
 * The LSNs of `records` (one page, ascending LSN) that no read at any of `keptCheckpoints`
 * (ascending LSNs, at least one) or later can reach.
 */
export function unreachableRecords(records: readonly ChainRecord[], keptCheckpoints: readonly number[]): number[] {
  const newestKept = keptCheckpoints[keptCheckpoints.length - 1];
  if (newestKept === undefined) return [];
  const removable = new Array<boolean>(records.length).fill(false);
  let nextReset = Number.POSITIVE_INFINITY;
  // Walk newest to oldest so each record knows the next reset above it.
  for (let index = records.length - 1; index >= 0; index -= 1) {
    const record = records[index]!;
    if (record.lsn <= newestKept) {
      const firstReadAbove = firstAtOrAbove(keptCheckpoints, record.lsn);
      removable[index] = firstReadAbove === undefined || firstReadAbove >= nextReset;
    }
    if (record.resetsChain) nextReset = record.lsn;
  }
  const unreachable: number[] = [];
  // Whether a page record is kept that no kept discard already hides.
  let olderRecordKept = false;
  for (let index = 0; index < records.length; index += 1) {
    const record = records[index]!;
    if (record.isDiscard && !olderRecordKept && record.lsn <= newestKept) removable[index] = true;
    if (removable[index]) unreachable.push(record.lsn);
    else olderRecordKept = !record.isDiscard;
  }
  return unreachable;
}

/** The smallest value of `sorted` that is >= `lsn`. */
function firstAtOrAbove(sorted: readonly number[], lsn: number): number | undefined {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle]! < lsn) low = middle + 1;
    else high = middle;
  }
  return sorted[low];
}
