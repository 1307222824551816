import type { Btree } from '../btree/index.js';
import { ErrorCode, SchemaError, StateError } from '../errors.js';
import type { TableHandle } from '../connection/index.js';

export type WriteKind = 'put' | 'insert' | 'remove';

/** One write of a committed transaction, as `end` returns them. */
export interface TransactionWrite {
  table: TableHandle;
  key: Buffer;
  value: Buffer | null;
  kind: WriteKind;
  /** For an insert found absent in the newest tree: that tree and its change count then. */
  checkedIn: Btree | undefined;
  checkedAtChange: number;
}

interface PendingWrite extends TransactionWrite {
  /** The transaction's first write of the key was an insert: the key must still be absent at commit. */
  mustBeAbsent: boolean;
}

/**
 * One table's pending writes, the newest per key, in the order their keys were first written.
 * While every key written comes after all those before it (an append, as inserts of ObjectId or
 * timestamp keys are), they are kept in one ascending array searched by comparison; the first
 * key that does not moves them into a map by key.
 */
class TableWrites {
  private ascending: PendingWrite[] | undefined = [];
  private byId: Map<string, PendingWrite> | undefined;
  /** The key `get` looked up last and its map id: a write follows the read of its key. */
  private lastKey: Buffer | undefined;
  private lastId = '';

  get size(): number {
    return this.ascending?.length ?? this.byId!.size;
  }

  get(key: Buffer): PendingWrite | undefined {
    const list = this.ascending;
    if (list === undefined) return this.byId!.get(this.idOf(key));
    const index = this.ascendingIndex(list, key);
    return index >= 0 ? list[index] : undefined;
  }

  /** Makes `written` the key's pending write, in the place of the key's earlier one if any. */
  set(written: PendingWrite): void {
    const list = this.ascending;
    if (list !== undefined) {
      const index = this.ascendingIndex(list, written.key);
      if (index === -1 - list.length) {
        list.push(written);
        return;
      }
      if (index >= 0) {
        list[index] = written;
        return;
      }
      this.byId = new Map(list.map((w) => [w.key.toString('latin1'), w]));
      this.ascending = undefined;
    }
    this.byId!.set(this.idOf(written.key), written);
  }

  private idOf(key: Buffer): string {
    if (key !== this.lastKey) {
      this.lastKey = key;
      this.lastId = key.toString('latin1');
    }
    return this.lastId;
  }

  values(): Iterable<PendingWrite> {
    return this.ascending ?? this.byId!.values();
  }

  /** The key's index in `list`, or `-1 - i` where `i` is where it would go. */
  private ascendingIndex(list: PendingWrite[], key: Buffer): number {
    let high = list.length - 1;
    if (high < 0) return -1;
    // The common case first: a key after every key written before.
    const last = Buffer.compare(key, list[high]!.key);
    if (last > 0) return -1 - list.length;
    if (last === 0) return high;
    let low = 0;
    high -= 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const c = Buffer.compare(key, list[middle]!.key);
      if (c === 0) return middle;
      if (c < 0) high = middle - 1;
      else low = middle + 1;
    }
    return -1 - low;
  }
}

/** What a session needs from its connection to read and write trees. */
export interface TreeSource {
  treeOf(table: TableHandle): Btree;
  /** Waits out nothing: throws when writes are blocked (read-only, or a PIT write holds the lock). */
  assertWritable(table: TableHandle): void;
  /** Applies committed writes of one transaction to the trees at `ts`. */
  apply(writes: Array<{ table: TableHandle; key: Buffer; value: Buffer | null }>, ts: bigint): void;
}

/**
 * A session's view of the data: outside a transaction every write applies at once; inside one,
 * writes collect here (visible to this session only) and apply together at commit.
 */
export class TransactionView {
  private writes: Map<TableHandle, TableWrites> | undefined;
  readTs: bigint | undefined;

  constructor(private readonly source: TreeSource) {}

  get active(): boolean {
    return this.writes !== undefined;
  }

  get hasWrites(): boolean {
    if (!this.writes) return false;
    for (const m of this.writes.values()) if (m.size > 0) return true;
    return false;
  }

  begin(readTs?: bigint): void {
    if (this.writes) throw new StateError(ErrorCode.InvalidArgument, 'a transaction is already running');
    this.writes = new Map();
    this.readTs = readTs;
  }

  /** Ends the transaction and returns its writes in order. */
  end(): TransactionWrite[] {
    if (!this.writes) throw new StateError(ErrorCode.InvalidArgument, 'no transaction is running');
    const out: TransactionWrite[] = [];
    for (const pending of this.writes.values()) for (const w of pending.values()) out.push(w);
    this.writes = undefined;
    this.readTs = undefined;
    return out;
  }

  read(table: TableHandle, key: Buffer): Buffer | undefined {
    const pending = this.writes?.get(table)?.get(key);
    if (pending) return pending.value ?? undefined;
    return this.source.treeOf(table).get(key, this.readTs);
  }

  /**
   * Inserts `key`, which must not exist: throws `ALREADY_EXISTS` when this transaction's view
   * holds it. A key found absent in the newest tree remembers that tree's change count, so the
   * commit need not search the tree for it again when nothing changed the tree meanwhile.
   */
  insert(table: TableHandle, key: Buffer, value: Buffer): void {
    const pending = this.writes?.get(table)?.get(key);
    let tree: Btree | undefined;
    if (pending) {
      if (pending.value !== null) throw new SchemaError(ErrorCode.AlreadyExists, 'key already exists', { uri: table.uri });
    } else {
      tree = this.source.treeOf(table);
      if (tree.get(key, this.readTs) !== undefined) throw new SchemaError(ErrorCode.AlreadyExists, 'key already exists', { uri: table.uri });
    }
    const changeCount = tree?.changeCount;
    const written = this.writeUnder(table, key, value, 'insert', pending);
    // Only a first write of the key, checked against the newest data (no read timestamp).
    if (written !== undefined && !pending && tree !== undefined && this.readTs === undefined) {
      written.checkedIn = tree;
      written.checkedAtChange = changeCount!;
    }
  }

  write(table: TableHandle, key: Buffer, value: Buffer | null, kind: WriteKind): void {
    this.writeUnder(table, key, value, kind, this.writes?.get(table)?.get(key));
  }

  /** `write`, given the key's pending write if any; returns the new pending write (none outside a transaction). */
  private writeUnder(table: TableHandle, key: Buffer, value: Buffer | null, kind: WriteKind, previous: PendingWrite | undefined): PendingWrite | undefined {
    this.source.assertWritable(table);
    if (!this.writes) {
      this.source.apply([{ table, key, value }], 0n);
      return undefined;
    }
    let pending = this.writes.get(table);
    if (!pending) this.writes.set(table, (pending = new TableWrites()));
    // Only a key the transaction first inserted is re-checked at commit: an insert after its
    // own remove of a stored key replaces that key, and a put after an insert still needs the
    // key absent.
    const mustBeAbsent = previous ? previous.mustBeAbsent : kind === 'insert';
    const written: PendingWrite = {
      table, key, value, kind: value === null ? 'remove' : mustBeAbsent ? 'insert' : 'put', checkedIn: undefined, checkedAtChange: 0, mustBeAbsent,
    };
    pending.set(written);
    return written;
  }

  /** Records in order from `start`, merging this transaction's pending writes. */
  *scan(table: TableHandle, start: Buffer | undefined, inclusive: boolean, reverse: boolean): Generator<[Buffer, Buffer]> {
    const pending = this.writes?.get(table);
    const overlay = pending && pending.size > 0
      ? [...pending.values()].filter((w) => {
        if (!start) return true;
        const c = Buffer.compare(w.key, start);
        return reverse ? c < 0 || (c === 0 && inclusive) : c > 0 || (c === 0 && inclusive);
      }).sort((a, b) => (reverse ? -1 : 1) * Buffer.compare(a.key, b.key))
      : [];
    let o = 0;
    const tree = (): Btree => this.source.treeOf(table);
    // Where the next batch starts: after the last record consumed.
    let key = start;
    let keyInclusive = inclusive;
    batches: for (;;) {
      const batch = tree().batch(key, keyInclusive, reverse, this.readTs);
      for (let i = 0; i < batch.keys.length; i++) {
        const k = batch.keys[i]!;
        while (o < overlay.length && (reverse ? Buffer.compare(overlay[o]!.key, k) > 0 : Buffer.compare(overlay[o]!.key, k) < 0)) {
          const w = overlay[o++]!;
          if (w.value) yield [w.key, w.value];
        }
        // The caller may have written while suspended: re-read rather than return stale records.
        if (!batch.current()) continue batches;
        key = k;
        keyInclusive = false;
        if (o < overlay.length && overlay[o]!.key.equals(k)) {
          const w = overlay[o++]!;
          if (w.value) yield [w.key, w.value];
          continue;
        }
        yield [k, batch.values[i]!];
      }
      if (batch.done || batch.keys.length === 0) break;
    }
    while (o < overlay.length) {
      const w = overlay[o++]!;
      if (w.value) yield [w.key, w.value];
    }
  }

  /** Rejects the commit when an insert's key was added by someone else meanwhile. */
  static checkInserts(source: TreeSource, writes: readonly TransactionWrite[]): void {
    for (const w of writes) {
      if (w.kind !== 'insert') continue;
      const tree = source.treeOf(w.table);
      // Found absent in this very tree, which no write has changed since: still absent.
      if (w.checkedIn === tree && w.checkedAtChange === tree.changeCount) continue;
      if (tree.get(w.key) !== undefined) {
        throw new SchemaError(ErrorCode.AlreadyExists, 'key already exists', { uri: w.table.uri });
      }
    }
  }
}
