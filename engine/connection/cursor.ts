import type { Cursor, Item, Range, SearchNearResult } from '../api.js';
import { ErrorCode, SchemaError, StateError } from '../errors.js';
import type { TableHandle } from './table.js';
import type { TransactionView } from '../txn/index.js';

/**
 * A cursor over one table: typed keys and values packed with the table's formats, reads that
 * see the session's own uncommitted writes, and ordered iteration in batches.
 */
export class CursorImpl implements Cursor {
  private closed = false;
  private position: { key: Buffer; value: Buffer } | undefined;
  private iterator: Iterator<[Buffer, Buffer]> | undefined;
  private direction: 'next' | 'prev' | undefined;

  constructor(
    private readonly table: TableHandle,
    private readonly view: TransactionView,
    /** Tells the session the cursor is closed, so it stops holding it. */
    private readonly onClose: (cursor: CursorImpl) => void = () => {},
  ) {}

  get uri(): string {
    return this.table.uri;
  }

  private packKey(key: Item): Buffer {
    return this.table.keyFormat.pack(key);
  }

  private check(): void {
    if (this.closed) throw new StateError(ErrorCode.Closed, 'cursor is closed', { uri: this.table.uri });
  }

  get(key: Item): Item | undefined {
    this.check();
    const value = this.view.read(this.table, this.packKey(key));
    return value === undefined ? undefined : this.table.valueFormat.unpack(value);
  }

  put(key: Item, value: Item): void {
    this.check();
    this.view.write(this.table, this.packKey(key), this.table.valueFormat.pack(value), 'put');
  }

  insert(key: Item, value: Item): void {
    this.check();
    this.view.insert(this.table, this.packKey(key), this.table.valueFormat.pack(value));
  }

  update(key: Item, value: Item): void {
    this.check();
    const packed = this.packKey(key);
    if (this.view.read(this.table, packed) === undefined) {
      throw new SchemaError(ErrorCode.NotFound, 'key does not exist', { uri: this.table.uri });
    }
    this.view.write(this.table, packed, this.table.valueFormat.pack(value), 'put');
  }

  remove(key: Item): boolean {
    this.check();
    const packed = this.packKey(key);
    if (this.view.read(this.table, packed) === undefined) return false;
    this.view.write(this.table, packed, null, 'remove');
    return true;
  }

  searchNear(key: Item): SearchNearResult | undefined {
    this.check();
    const packed = this.packKey(key);
    const exact = this.view.read(this.table, packed);
    if (exact !== undefined) return { key: this.table.keyFormat.unpack(packed), value: this.table.valueFormat.unpack(exact), exact: 0 };
    const after = this.view.scan(this.table, packed, false, false).next();
    if (!after.done) return this.result(after.value, 1);
    const before = this.view.scan(this.table, packed, false, true).next();
    if (!before.done) return this.result(before.value, -1);
    return undefined;
  }

  private result([key, value]: [Buffer, Buffer], exact: -1 | 1): SearchNearResult {
    return { key: this.table.keyFormat.unpack(key), value: this.table.valueFormat.unpack(value), exact };
  }

  *entries(range: Range = {}): IterableIterator<[Item, Item]> {
    this.check();
    const reverse = !!range.reverse;
    const lower = range.gte !== undefined ? { key: this.packKey(range.gte), inclusive: true }
      : range.gt !== undefined ? { key: this.packKey(range.gt), inclusive: false } : undefined;
    const upper = range.lte !== undefined ? { key: this.packKey(range.lte), inclusive: true }
      : range.lt !== undefined ? { key: this.packKey(range.lt), inclusive: false } : undefined;
    const start = reverse ? upper : lower;
    const stop = reverse ? lower : upper;
    for (const [key, value] of this.view.scan(this.table, start?.key, start?.inclusive ?? true, reverse)) {
      if (stop) {
        const c = Buffer.compare(key, stop.key);
        if (reverse ? c < 0 || (c === 0 && !stop.inclusive) : c > 0 || (c === 0 && !stop.inclusive)) return;
      }
      yield [this.table.keyFormat.unpack(key), this.table.valueFormat.unpack(value)];
    }
  }

  next(): boolean {
    return this.step('next');
  }

  prev(): boolean {
    return this.step('prev');
  }

  private step(direction: 'next' | 'prev'): boolean {
    this.check();
    if (this.direction !== direction || !this.iterator) {
      this.iterator = this.view.scan(this.table, this.position?.key, this.position === undefined, direction === 'prev');
      this.direction = direction;
    }
    const result = this.iterator.next();
    if (result.done) {
      this.reset();
      return false;
    }
    this.position = { key: result.value[0], value: result.value[1] };
    return true;
  }

  reset(): void {
    this.position = undefined;
    this.iterator = undefined;
    this.direction = undefined;
  }

  get key(): Item {
    if (!this.position) throw new StateError(ErrorCode.InvalidArgument, 'cursor is not positioned', { uri: this.table.uri });
    return this.table.keyFormat.unpack(this.position.key);
  }

  get value(): Item {
    if (!this.position) throw new StateError(ErrorCode.InvalidArgument, 'cursor is not positioned', { uri: this.table.uri });
    return this.table.valueFormat.unpack(this.position.value);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.reset();
    this.onClose(this);
  }
}
