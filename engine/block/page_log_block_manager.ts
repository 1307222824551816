import { ErrorCode, FormatError, StateError } from '../errors.js';
import {
  checkBasePage, decodePageLogAddress, DISAGG_BASE_PAYLOAD_OFFSET, encodePageLogAddress, readPageHeader, sealBasePage,
  BLOCK_PAYLOAD_OFFSET,
} from '../format/index.js';
import { MIN_USER_PAGE_ID, type PageLogHandle } from '../page_log/index.js';
import type { BlockManager, ReadPage } from './block_manager.js';

/**
 * The stretch of a checkpoint between writing its trees and taking its completion record's
 * LSN (the key provider may be awaited there). A page version put in it, or a discard, would
 * get an LSN below the completion record's while the checkpoint names the version before it:
 * reads "as of" the checkpoint, and so the page log's pruning, would take the newer one. So
 * no page is written then (eviction waits; `write` refuses) and discards wait until it closes.
 */
export interface CheckpointWindow {
  isOpen(): boolean;
  /** Runs `work` now when the window is closed, else as soon as it closes. */
  defer(work: () => void): void;
}

/**
 * A tree's pages in the page log under one table id (WiredTiger's `block_disagg`): each page
 * keeps its page id across rewrites; every write is a new base image with the disagg block
 * header, found again by (page id, LSN). Old versions stay readable by their LSN, so the last
 * completed checkpoint is never disturbed by later writes.
 */
export class PageLogBlockManager implements BlockManager {
  readonly kind = 'pagelog' as const;
  readonly name: string;
  /** The next new page id; found on the first write of a new page (it reads every key of the table). */
  private nextPageId: number | undefined;

  constructor(
    private readonly handle: PageLogHandle,
    private readonly checkpointId: () => number,
    /** Told the size of every page written, for the database size the completion record carries. */
    private readonly onWrite: (bytes: number) => void = () => {},
    private readonly window: CheckpointWindow = { isOpen: () => false, defer: (work) => work() },
  ) {
    this.name = `table id ${handle.tableId}`;
    // Only over a store that reads ahead: the B-tree then names no pages for nothing.
    const readAhead = handle.prefetch;
    if (readAhead !== undefined) {
      this.prefetch = (addresses) => {
        const pages = pageLogPages(addresses);
        if (pages.length > 0) readAhead(pages);
      };
    }
  }

  readonly prefetch?: (addresses: readonly Uint8Array[]) => void;

  canWrite(): boolean {
    return !this.window.isOpen();
  }

  /** A page id no page of the table has now. */
  private newPageId(): number {
    if (this.nextPageId === undefined) {
      // Listing reads every key of the table: done once, and only by a tree that adds pages,
      // so opening a table and reading it stays cheap. A loop, not Math.max(...pages): a
      // large table has more pages than a call takes arguments.
      let largest = MIN_USER_PAGE_ID - 1;
      for (const pageId of this.handle.listPages()) if (pageId > largest) largest = pageId;
      this.nextPageId = largest + 1;
    }
    return this.nextPageId++;
  }

  get tableId(): number {
    return this.handle.tableId;
  }

  read(address: Uint8Array): ReadPage {
    const { pageId, lsn, size, checksum } = decodePageLogAddress(address);
    const where = { tableId: this.handle.tableId, pageId, lsn };
    if (size === 0) throw new FormatError('page-log address names no page', where);
    const records = this.handle.get(pageId, lsn);
    const base = records[0];
    if (!base || base.lsn !== lsn || records.length !== 1) {
      throw new FormatError('page-log page is missing at its LSN', where, ErrorCode.Corruption);
    }
    const image = base.image;
    if (image.length !== size) {
      throw new FormatError(`page-log page is ${image.length} bytes, its address says ${size}`, { ...where, expected: size, actual: image.length });
    }
    checkBasePage(image, checksum, where);
    const header = readPageHeader(image);
    if (header.memSize !== image.length) {
      throw new FormatError(`page mem_size ${header.memSize} does not match its ${image.length} bytes`, { ...where, offset: 16 });
    }
    return { image, payloadOffset: DISAGG_BASE_PAYLOAD_OFFSET };
  }

  write(image: Buffer, replaces?: Uint8Array): Buffer {
    if (this.window.isOpen()) {
      throw new StateError(ErrorCode.Busy, 'a checkpoint is between writing its trees and its completion record: pages cannot be written now', { tableId: this.handle.tableId });
    }
    const previous = replaces ? decodePageLogAddress(replaces) : undefined;
    const pageId = previous?.pageId ?? this.newPageId();
    const { page, checksum } = sealBasePage(image, BLOCK_PAYLOAD_OFFSET, {
      previousChecksum: previous?.checksum ?? 0,
      reconciliationId: 0,
    });
    const lsn = this.handle.put(pageId, { backlinkLsn: previous?.lsn ?? 0, baseLsn: 0, flags: 0 }, page);
    this.onWrite(page.length - (previous?.size ?? 0));
    return encodePageLogAddress({ pageId, lsn, checkpointId: this.checkpointId(), reconciliationId: 0, size: page.length, checksum });
  }

  free(address: Uint8Array): void {
    const { pageId, size } = decodePageLogAddress(address);
    // A discard inside the window would hide a version the checkpoint still names.
    if (size > 0) this.window.defer(() => this.handle.discard(pageId));
  }

  checkpoint(rootAddress: Uint8Array | undefined): string {
    return rootAddress ? Buffer.from(rootAddress).toString('hex') : '';
  }

  checkpointDurable(): void {}

  rootFromCheckpoint(addr: string): Buffer | undefined {
    return addr ? Buffer.from(addr, 'hex') : undefined;
  }

  /** The page-log page an address names. */
  pageIdOf(address: Uint8Array): number {
    return decodePageLogAddress(address).pageId;
  }

  describe(address: Uint8Array): string {
    const a = decodePageLogAddress(address);
    return `[page ${a.pageId}, lsn ${a.lsn}, ${a.size}, ${a.checksum}]`;
  }

  close(): void {}
}

/** The pages that addresses name, for read-ahead; a damaged address is reported by the read that meets it. */
function pageLogPages(addresses: readonly Uint8Array[]): { pageId: number; lsn: number }[] {
  const pages: { pageId: number; lsn: number }[] = [];
  for (const address of addresses) {
    try {
      const { pageId, lsn, size } = decodePageLogAddress(address);
      if (size > 0) pages.push({ pageId, lsn });
    } catch {
      // Skipped here.
    }
  }
  return pages;
}
