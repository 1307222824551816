/**
 * Records queued for LMDB but not yet committed, so that reads see the log's own writes.
 *
 * lmdb-js commits asynchronous puts in a background transaction; until it commits, its reads do
 * not see them. The engine reads a page back right after putting it, so the page log keeps each
 * queued record here and drops it (and its image) as soon as the transaction holding it has
 * committed. Records arrive and commit in LSN order, so both views are kept in LSN order.
 */
import type { LogEntryFields } from './record_format.js';

/** A queued record and, for a page, the image lmdb-js is writing from. */
export interface PendingRecord {
  readonly entry: LogEntryFields;
  /** The bytes being written; never handed out (callers get copies). Empty for a discard. */
  readonly image: Buffer;
}

function pageKey(tableId: number, pageId: number): string {
  return `${tableId}:${pageId}`;
}

/** The uncommitted records of one log, by LSN and by page. */
export class PendingWrites {
  /** All records in LSN order; slots before `head` are released and cleared so images can be freed. */
  private queue: (PendingRecord | undefined)[] = [];
  private head = 0;
  private readonly byPage = new Map<string, PendingRecord[]>();

  /** Adds a record whose LSN is above every record added before. */
  add(record: PendingRecord): void {
    this.queue.push(record);
    const key = pageKey(record.entry.tableId, record.entry.pageId);
    const chain = this.byPage.get(key);
    if (chain === undefined) this.byPage.set(key, [record]);
    else chain.push(record);
  }

  /** Forgets every record with LSN <= `lsn`: LMDB has committed them and its reads see them. */
  releaseThrough(lsn: number): void {
    while (this.head < this.queue.length && this.queue[this.head]!.entry.lsn <= lsn) {
      const record = this.queue[this.head]!;
      this.queue[this.head] = undefined;
      this.head += 1;
      const key = pageKey(record.entry.tableId, record.entry.pageId);
      const chain = this.byPage.get(key)!;
      // The page's oldest queued record is this one: both lists are in LSN order.
      chain.shift();
      if (chain.length === 0) this.byPage.delete(key);
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  /** The queued records of one page, in LSN order (do not modify). */
  forPage(tableId: number, pageId: number): readonly PendingRecord[] {
    return this.byPage.get(pageKey(tableId, pageId)) ?? [];
  }

  /** The queued record with exactly `lsn`, if it is still queued. */
  find(tableId: number, pageId: number, lsn: number): PendingRecord | undefined {
    return this.forPage(tableId, pageId).find((record) => record.entry.lsn === lsn);
  }

  /** A snapshot of the queued records with `from <= lsn <= to`, in LSN order. */
  between(from: number, to: number): PendingRecord[] {
    const result: PendingRecord[] = [];
    for (let index = this.head; index < this.queue.length; index += 1) {
      const record = this.queue[index]!;
      if (record.entry.lsn > to) break;
      if (record.entry.lsn >= from) result.push(record);
    }
    return result;
  }

  /** The largest queued LSN; 0 when nothing is queued. */
  newestLsn(): number {
    return this.head < this.queue.length ? this.queue[this.queue.length - 1]!.entry.lsn : 0;
  }

  get size(): number {
    return this.queue.length - this.head;
  }
}
