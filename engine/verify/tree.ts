import {
  CellType, decodeTimeWindow, isStopped, PageFlags, PageType, TS_MAX, TXN_MAX, unpackCell, type Cell,
} from '../format/index.js';
import { errorMessage, FindingCode, type FindingLocation, type FindingSink } from './findings.js';
import type { PageImage, PageSource } from './sources.js';

/**
 * Walking one checkpoint tree: every page reachable from the root, in key order, with the
 * checks WiredTiger's verify runs on pages (`bt_vrfy_dsk.c`) and between pages (`bt_vrfy.c`).
 * The walk yields the records it finds, so dumps read through the same checks; verification
 * simply drains it. A page that fails a check is reported and skipped, never trusted.
 */

/** A record as stored: key and value bytes (a missing value cell is an empty value). */
export interface StoredRecord {
  key: Buffer;
  value: Buffer;
}

/** What a walk found, beside its records. */
export interface TreeWalkSummary {
  internalPages: number;
  leafPages: number;
  overflowPages: number;
  records: number;
  /** Bytes of the pages read. */
  bytes: number;
  /** Levels below the root, the root included. */
  depth: number;
  /** The largest write generation of a tree page. */
  maxWriteGen: bigint;
  /** File ranges of every block read and sound (file sources only), for extent-list checks. */
  blocks: Array<{ offset: number; size: number; what: string }>;
  /**
   * File ranges of every block the tree references, sound or not: space the tree claims,
   * so a damaged page is reported once, not again as unreached or as damaged free space.
   */
  referenced: Array<{ offset: number; size: number }>;
}

/** Deeper than any real tree; a walk that reaches it is following a corrupt reference. */
const MAX_DEPTH = 64;
const DEFINED_PAGE_FLAGS = PageFlags.Compressed | PageFlags.EmptyValueAll | PageFlags.EmptyValueNone | PageFlags.Encrypted | PageFlags.FastTruncateUpdate;

interface ChildReference {
  address: Buffer;
  /** The address cell type in the parent; undefined for the root. */
  cellType: number | undefined;
  parentWriteGen: bigint | undefined;
  /** Every key below this reference is >= lower (when set) and < upper (when set). */
  lower: Buffer | undefined;
  upper: Buffer | undefined;
  /** Where the reference is, for findings. */
  referrer: FindingLocation;
  depth: number;
}

interface PageResult {
  type: number;
  writeGen: bigint;
  hasOverflow: boolean;
}

const hexKey = (key: Buffer): string => (key.length > 32 ? `${key.subarray(0, 32).toString('hex')}...` : key.toString('hex'));

/** Walks one tree. Create one per walk. */
export class TreeWalker {
  readonly summary: TreeWalkSummary = {
    internalPages: 0, leafPages: 0, overflowPages: 0, records: 0, bytes: 0, depth: 0, maxWriteGen: 0n, blocks: [], referenced: [],
  };
  private readonly seen = new Set<string>();
  /** The last key of the leaves walked so far, for order across pages. */
  private lastKey: Buffer | undefined;

  constructor(private readonly source: PageSource, private readonly sink: FindingSink, private readonly where: FindingLocation) {}

  /** Yields every record of the tree under `root` in key order. */
  *records(root: Buffer): Generator<StoredRecord> {
    for (const leafRecords of this.leaves(root)) yield* leafRecords;
  }

  /**
   * Yields the records of each leaf under `root`, one array per leaf, in key order: the walk
   * passes a leaf's records up through every level of the tree at once, not record by record.
   */
  *leaves(root: Buffer): Generator<StoredRecord[]> {
    yield* this.visit({
      address: root, cellType: undefined, parentWriteGen: undefined, lower: undefined, upper: undefined,
      referrer: { ...this.where }, depth: 1,
    });
  }

  /** Walks the whole tree for its checks and counts. */
  run(root: Buffer): TreeWalkSummary {
    for (const leafRecords of this.leaves(root)) void leafRecords;
    return this.summary;
  }

  private at(page: PageImage, offset: number): FindingLocation {
    return { ...this.where, ...page.location, offset: page.offsetBase + offset };
  }

  /** Reads a page once; a second reference to it is corruption (a tree is not a graph). */
  private readOnce(address: Buffer, referrer: FindingLocation, what: string): PageImage | undefined {
    const range = this.source.range?.(address);
    if (range !== undefined) this.summary.referenced.push(range);
    const page = this.source.read(address, this.sink, referrer);
    if (page === undefined) return undefined;
    if (this.seen.has(page.identity)) {
      this.sink.error(FindingCode.BlockReferencedTwice, `${what} at ${page.identity} is referenced more than once`, referrer);
      return undefined;
    }
    this.seen.add(page.identity);
    this.sink.stats.pages++;
    this.sink.stats.bytes += page.image.length;
    this.summary.bytes += page.image.length;
    if (page.block) {
      this.summary.blocks.push({ ...page.block, what });
      // Tree pages are zero-padded to their block size (extent lists may carry a trailer).
      const { image, header } = page;
      for (let i = header.memSize; i < image.length; i++) {
        if (image[i] !== 0) {
          this.sink.error(FindingCode.PageTrailingBytes, `non-zero byte after the page's mem_size ${header.memSize}`, this.at(page, i));
          break;
        }
      }
    }
    return page;
  }

  private *visit(ref: ChildReference): Generator<StoredRecord[], PageResult | undefined> {
    if (ref.depth > MAX_DEPTH) {
      this.sink.error(FindingCode.TreeTooDeep, `tree is deeper than ${MAX_DEPTH} levels; the reference is not followed`, ref.referrer);
      return undefined;
    }
    const page = this.readOnce(ref.address, ref.referrer, 'page');
    if (page === undefined) return undefined;
    this.summary.depth = Math.max(this.summary.depth, ref.depth);
    const header = page.header;
    if (!this.checkTreePageHeader(page)) return undefined;
    if (header.writeGen > this.summary.maxWriteGen) this.summary.maxWriteGen = header.writeGen;
    if (ref.parentWriteGen !== undefined && header.writeGen >= ref.parentWriteGen) {
      this.sink.error(FindingCode.WriteGenOrder, `page write generation ${header.writeGen} is not below its parent's ${ref.parentWriteGen}`, this.at(page, 8));
    }
    if (ref.cellType === undefined && header.type === PageType.RowLeaf) {
      this.sink.warning(FindingCode.RootIsLeaf, 'the root page is a leaf; WiredTiger always writes an internal root', this.at(page, 24));
    }
    if (ref.cellType !== undefined) {
      const wantsInternal = ref.cellType === CellType.AddressInternal;
      if (wantsInternal !== (header.type === PageType.RowInternal)) {
        this.sink.error(FindingCode.AddressTypeMismatch, `address cell type 0x${ref.cellType.toString(16)} does not match a child of page type ${header.type}`, ref.referrer);
      }
    }
    if (header.type === PageType.RowLeaf) {
      this.summary.leafPages++;
      const hasOverflow = yield* this.leaf(page, ref);
      if (hasOverflow && ref.cellType === CellType.AddressLeafNoOverflow) {
        this.sink.error(FindingCode.AddressTypeMismatch, 'a leaf referenced as having no overflow items holds overflow items', ref.referrer);
      }
      return { type: header.type, writeGen: header.writeGen, hasOverflow };
    }
    this.summary.internalPages++;
    yield* this.internal(page, ref);
    return { type: header.type, writeGen: header.writeGen, hasOverflow: false };
  }

  /** Header checks for a tree page; false when its cells cannot be read. */
  private checkTreePageHeader(page: PageImage): boolean {
    const header = page.header;
    if (header.type !== PageType.RowInternal && header.type !== PageType.RowLeaf) {
      const why = header.type === PageType.ColumnFix || header.type === PageType.ColumnInternal || header.type === PageType.ColumnVariable
        ? 'column-store pages are not supported'
        : 'it is not a row-store page';
      this.sink.error(FindingCode.PageTypeUnexpected, `page type ${header.type} in a tree: ${why}`, this.at(page, 24));
      return false;
    }
    this.checkCommonHeader(page);
    if (header.flags & (PageFlags.Compressed | PageFlags.Encrypted)) {
      this.sink.error(FindingCode.PageHeaderInvalid, 'compressed or encrypted pages cannot be verified', this.at(page, 25));
      return false;
    }
    if (header.type === PageType.RowInternal && header.flags & (PageFlags.EmptyValueAll | PageFlags.EmptyValueNone)) {
      this.sink.error(FindingCode.PageHeaderInvalid, 'an internal page sets a leaf-only flag', this.at(page, 25));
    }
    if (header.writeGen === 0n) {
      this.sink.warning(FindingCode.PageHeaderInvalid, 'page write generation is 0', this.at(page, 8));
    }
    return true;
  }

  private checkCommonHeader(page: PageImage): void {
    const header = page.header;
    if (header.recno !== 0n) this.sink.error(FindingCode.PageHeaderInvalid, `row-store page has record number ${header.recno}`, this.at(page, 0));
    if (header.unused !== 0) this.sink.error(FindingCode.PageHeaderInvalid, 'page header unused byte is not 0', this.at(page, 26));
    if (header.version > 1) this.sink.error(FindingCode.PageHeaderInvalid, `page version ${header.version} is not 0 or 1`, this.at(page, 27));
    if ((header.flags & ~DEFINED_PAGE_FLAGS) !== 0) {
      this.sink.error(FindingCode.PageHeaderInvalid, `page flags 0x${header.flags.toString(16)} set undefined bits`, this.at(page, 25));
    }
    if ((header.flags & PageFlags.EmptyValueAll) && (header.flags & PageFlags.EmptyValueNone)) {
      this.sink.error(FindingCode.PageHeaderInvalid, 'page sets both "all values empty" and "no value empty"', this.at(page, 25));
    }
  }

  /** The cells of a page; stops at the first that does not decode, after reporting it. */
  private cells(page: PageImage): Cell[] {
    const { image, header } = page;
    const cells: Cell[] = [];
    const fastTruncate = (header.flags & PageFlags.FastTruncateUpdate) !== 0;
    let p = page.payloadOffset;
    for (let i = 0; i < header.entries; i++) {
      try {
        const cell = unpackCell(image, p, header.memSize, fastTruncate);
        cells.push(cell);
        p += cell.size;
      } catch (error) {
        this.sink.error(FindingCode.CellInvalid, `cell ${i} of ${header.entries} does not decode: ${errorMessage(error)}`, this.at(page, p));
        return cells;
      }
    }
    if (p !== header.memSize) {
      this.sink.error(FindingCode.CellsSizeMismatch, `the page's ${header.entries} cells end at ${p}, not at its mem_size ${header.memSize}`, this.at(page, p));
    }
    return cells;
  }

  private readOverflow(page: PageImage, cell: Cell): Buffer | undefined {
    const referrer = this.at(page, cell.offset);
    const overflow = this.readOnce(cell.data, referrer, 'overflow page');
    if (overflow === undefined) return undefined;
    this.summary.overflowPages++;
    const overflowHeader = overflow.header;
    if (overflowHeader.type !== PageType.Overflow) {
      this.sink.error(FindingCode.PageTypeUnexpected, `overflow reference points at a page of type ${overflowHeader.type}`, referrer);
      return undefined;
    }
    this.checkCommonHeader(overflow);
    const end = overflow.payloadOffset + overflowHeader.entries;
    if (end !== overflowHeader.memSize) {
      this.sink.error(FindingCode.PageHeaderInvalid, `overflow data length ${overflowHeader.entries} does not match mem_size ${overflowHeader.memSize}`, this.at(overflow, 20));
      return undefined;
    }
    return Buffer.from(overflow.image.subarray(overflow.payloadOffset, end));
  }

  private checkTimeWindow(page: PageImage, cell: Cell): void {
    if (cell.time === undefined) return;
    const window = decodeTimeWindow(cell.time);
    if (window.stopTs !== TS_MAX && window.startTs > window.stopTs) {
      this.sink.error(FindingCode.TimeWindowInvalid, `value start timestamp ${window.startTs} is after its stop timestamp ${window.stopTs}`, this.at(page, cell.offset));
    }
    if (window.stopTxn !== TXN_MAX && window.startTxn > window.stopTxn) {
      this.sink.error(FindingCode.TimeWindowInvalid, `value start transaction ${window.startTxn} is after its stop transaction ${window.stopTxn}`, this.at(page, cell.offset));
    }
  }

  /** Checks `key` against the order constraints; `what` says which key it is. */
  private checkKeyOrder(page: PageImage, cell: Cell, key: Buffer, previousOnPage: Buffer | undefined, ref: ChildReference): void {
    // The location is built only for a finding: this runs for every key of every page.
    const at = (): FindingLocation => this.at(page, cell.offset);
    if (previousOnPage !== undefined) {
      if (Buffer.compare(key, previousOnPage) <= 0) {
        this.sink.error(FindingCode.KeyOrder, `key ${hexKey(key)} is not greater than the key before it on the page`, at());
      }
      return;
    }
    // The first key of the leaf: against the previous leaf and the parent's separator.
    if (this.lastKey !== undefined && Buffer.compare(key, this.lastKey) <= 0) {
      this.sink.error(FindingCode.KeyOrder, `first key ${hexKey(key)} is not greater than the last key of the previous leaf`, at());
    }
    if (ref.lower !== undefined && Buffer.compare(key, ref.lower) < 0) {
      this.sink.error(FindingCode.KeyOrder, `first key ${hexKey(key)} sorts before its parent's separator ${hexKey(ref.lower)}`, at());
    }
  }

  /** A leaf: yields its records; returns whether it holds overflow items. */
  private *leaf(page: PageImage, ref: ChildReference): Generator<StoredRecord[], boolean> {
    const cells = this.cells(page);
    const records: StoredRecord[] = [];
    const byOffset = new Map<number, Cell>();
    const overflowValues = new Map<number, Buffer | undefined>();
    let previousKey: Buffer | undefined;
    let prefixSource: Buffer | undefined;
    let pendingKey: Buffer | undefined;
    let keyCells = 0;
    let valueCells = 0;
    let hasOverflow = false;
    let expectingValue = false;
    const at = (cell: Cell): FindingLocation => this.at(page, cell.offset);
    for (const cell of cells) {
      byOffset.set(cell.offset, cell);
      if (cell.v !== 0n) this.sink.error(FindingCode.CellInvalid, `row-store cell has a non-zero RLE value ${cell.v}`, at(cell));
      switch (cell.type) {
        case CellType.Key:
        case CellType.KeyPrefix:
        case CellType.KeyOverflow: {
          keyCells++;
          expectingValue = true;
          let key: Buffer | undefined;
          if (cell.type === CellType.KeyOverflow) {
            hasOverflow = true;
            key = this.readOverflow(page, cell);
          } else if (cell.prefix === 0) {
            key = cell.data;
          } else if (keyCells === 1 || prefixSource === undefined) {
            this.sink.error(FindingCode.CellInvalid, `the first key of a page has prefix count ${cell.prefix}`, at(cell));
          } else if (cell.prefix > prefixSource.length) {
            this.sink.error(FindingCode.CellInvalid, `key prefix count ${cell.prefix} is longer than the previous key`, at(cell));
          } else {
            key = Buffer.concat([prefixSource.subarray(0, cell.prefix), cell.data]);
          }
          if (pendingKey !== undefined) records.push({ key: pendingKey, value: Buffer.alloc(0) });
          pendingKey = undefined;
          if (key === undefined) break;
          if (cell.type !== CellType.KeyOverflow) prefixSource = key;
          this.checkKeyOrder(page, cell, key, previousKey, ref);
          previousKey = key;
          pendingKey = key;
          break;
        }
        case CellType.Value:
        case CellType.ValueCopy:
        case CellType.ValueOverflow: {
          valueCells++;
          if (!expectingValue) {
            this.sink.error(FindingCode.CellInvalid, 'value cell is not preceded by a key cell', at(cell));
            break;
          }
          expectingValue = false;
          this.checkTimeWindow(page, cell);
          let source = cell;
          if (cell.type === CellType.ValueCopy) {
            const target = byOffset.get(cell.offset - (cell.copyOffset ?? 0));
            if (target === undefined || (target.type !== CellType.Value && target.type !== CellType.ValueOverflow) || cell.copyOffset === 0) {
              this.sink.error(FindingCode.CellInvalid, 'value copy cell does not point back at a value cell on the page', at(cell));
              pendingKey = undefined;
              break;
            }
            source = target;
          }
          let value: Buffer | undefined = source.data;
          if (source.type === CellType.ValueOverflow) {
            hasOverflow = true;
            // A value copy may name an overflow value read already: one block, read once.
            value = overflowValues.has(source.offset) ? overflowValues.get(source.offset) : this.readOverflow(page, source);
            overflowValues.set(source.offset, value);
          }
          const window = decodeTimeWindow(cell.time ?? source.time);
          if (pendingKey !== undefined && value !== undefined && !isStopped(window)) records.push({ key: pendingKey, value });
          pendingKey = undefined;
          break;
        }
        default:
          this.sink.error(FindingCode.CellInvalid, `cell type 0x${cell.type.toString(16)} is not allowed on a leaf page`, at(cell));
      }
    }
    if (pendingKey !== undefined) records.push({ key: pendingKey, value: Buffer.alloc(0) });
    const header = page.header;
    if (cells.length === header.entries) {
      if (header.flags & PageFlags.EmptyValueAll && valueCells !== 0) {
        this.sink.error(FindingCode.PageHeaderInvalid, `page says every value is empty but holds ${valueCells} value cells`, this.at(page, 25));
      }
      if (header.flags & PageFlags.EmptyValueNone && valueCells !== keyCells) {
        this.sink.error(FindingCode.PageHeaderInvalid, `page says no value is empty but has ${keyCells} keys and ${valueCells} values`, this.at(page, 25));
      }
    }
    if (previousKey !== undefined) {
      if (ref.upper !== undefined && Buffer.compare(previousKey, ref.upper) >= 0) {
        this.sink.error(FindingCode.KeyOrder, `last key ${hexKey(previousKey)} is not below the next separator ${hexKey(ref.upper)} in its parent`, this.at(page, page.payloadOffset));
      }
      this.lastKey = previousKey;
    }
    this.summary.records += records.length;
    this.sink.stats.records += records.length;
    if (records.length > 0) yield records;
    return hasOverflow;
  }

  private *internal(page: PageImage, ref: ChildReference): Generator<StoredRecord[]> {
    const cells = this.cells(page);
    const header = page.header;
    if (header.entries % 2 !== 0) {
      this.sink.error(FindingCode.CellInvalid, `internal page has ${header.entries} cells: a key without an address`, this.at(page, 20));
    }
    const children: Array<{ key: Buffer; address: Cell }> = [];
    for (let i = 0; i + 1 < cells.length; i += 2) {
      const keyCell = cells[i]!;
      const addressCell = cells[i + 1]!;
      if (keyCell.type !== CellType.Key && keyCell.type !== CellType.KeyOverflow) {
        this.sink.error(FindingCode.CellInvalid, `internal page expects a key cell, found type 0x${keyCell.type.toString(16)}`, this.at(page, keyCell.offset));
        return;
      }
      if (keyCell.prefix !== 0) {
        this.sink.error(FindingCode.CellInvalid, 'internal page key uses prefix compression', this.at(page, keyCell.offset));
      }
      const addressType = addressCell.type;
      if (addressType !== CellType.AddressInternal && addressType !== CellType.AddressLeaf && addressType !== CellType.AddressLeafNoOverflow && addressType !== CellType.AddressDeleted) {
        this.sink.error(FindingCode.CellInvalid, `internal page expects an address cell, found type 0x${addressType.toString(16)}`, this.at(page, addressCell.offset));
        return;
      }
      const key = keyCell.type === CellType.KeyOverflow ? this.readOverflow(page, keyCell) : keyCell.data;
      if (key === undefined) return;
      children.push({ key, address: addressCell });
    }
    if (children.length === 0) {
      // An empty root is an empty tree (the engine writes one for a new shared table);
      // below the root, an internal page without children is damage.
      if (ref.cellType !== undefined || header.entries !== 0) {
        this.sink.error(FindingCode.CellInvalid, 'internal page has no children', this.at(page, page.payloadOffset));
      }
      return;
    }
    for (let i = 1; i < children.length; i++) {
      const key = children[i]!.key;
      const at = (): FindingLocation => this.at(page, cells[2 * i]!.offset);
      if (i > 1 && Buffer.compare(key, children[i - 1]!.key) <= 0) {
        this.sink.error(FindingCode.KeyOrder, `separator ${hexKey(key)} is not greater than the separator before it`, at());
      }
      if (ref.lower !== undefined && Buffer.compare(key, ref.lower) < 0) {
        this.sink.error(FindingCode.KeyOrder, `separator ${hexKey(key)} sorts before its parent's separator ${hexKey(ref.lower)}`, at());
      }
      if (ref.upper !== undefined && Buffer.compare(key, ref.upper) >= 0) {
        this.sink.error(FindingCode.KeyOrder, `separator ${hexKey(key)} is not below the next separator ${hexKey(ref.upper)} in its parent`, at());
      }
    }
    for (let i = 0; i < children.length; i++) {
      const child = children[i]!;
      if (child.address.type === CellType.AddressDeleted) continue; // a fast-truncated child holds nothing to read
      yield* this.visit({
        address: Buffer.from(child.address.data),
        cellType: child.address.type,
        parentWriteGen: header.writeGen,
        lower: i === 0 ? ref.lower : child.key,
        upper: i + 1 < children.length ? children[i + 1]!.key : ref.upper,
        referrer: this.at(page, child.address.offset),
        depth: ref.depth + 1,
      });
    }
  }
}
