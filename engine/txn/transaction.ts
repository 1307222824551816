import type { Btree } from '../btree/index.js';
import { ErrorCode, SchemaError, StateError } from '../errors.js';
import type { TableHandle } from '../connection/index.js';

export type WriteKind = 'put' | 'insert' | 'remove';

interface PendingWrite {
  key: Buffer;
  value: Buffer | null;
  kind: WriteKind;
  /** The transaction's first write of the key was an insert: the key must still be absent at commit. */
  mustBeAbsent: boolean;
  /** The tree and its change count when `insert` found the key absent in it (see `checkInserts`). */
  checkedIn?: Btree;
  checkedAtChange?: number;
}

/** One write of a committed transaction, as `end` returns them. */
export interface TransactionWrite {
  table: TableHandle;
  key: Buffer;
  value: Buffer | null;
  kind: WriteKind;
  /** For an insert found absent in the newest tree: that tree and its change count then. */
  checkedIn?: Btree;
  checkedAtChange?: number;
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
  private writes: Map<TableHandle, Map<string, PendingWrite>> | undefined;
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
    for (const [table, m] of this.writes) {
      for (const w of m.values()) {
        out.push(w.checkedIn === undefined ? { table, key: w.key, value: w.value, kind: w.kind } : { table, key: w.key, value: w.value, kind: w.kind, checkedIn: w.checkedIn, checkedAtChange: w.checkedAtChange! });
      }
    }
    this.writes = undefined;
    this.readTs = undefined;
    return out;
  }

  read(table: TableHandle, key: Buffer): Buffer | undefined {
    const pending = this.writes?.get(table)?.get(key.toString('latin1'));
    if (pending) return pending.value ?? undefined;
    return this.source.treeOf(table).get(key, this.readTs);
  }

  /**
   * Inserts `key`, which must not exist: throws `ALREADY_EXISTS` when this transaction's view
   * holds it. A key found absent in the newest tree remembers that tree's change count, so the
   * commit need not search the tree for it again when nothing changed the tree meanwhile.
   */
  insert(table: TableHandle, key: Buffer, value: Buffer): void {
    const id = key.toString('latin1');
    const pending = this.writes?.get(table)?.get(id);
    let tree: Btree | undefined;
    if (pending) {
      if (pending.value !== null) throw new SchemaError(ErrorCode.AlreadyExists, 'key already exists', { uri: table.uri });
    } else {
      tree = this.source.treeOf(table);
      if (tree.get(key, this.readTs) !== undefined) throw new SchemaError(ErrorCode.AlreadyExists, 'key already exists', { uri: table.uri });
    }
    const changeCount = tree?.changeCount;
    const written = this.writeUnder(id, table, key, value, 'insert');
    // Only a first write of the key, checked against the newest data (no read timestamp).
    if (written !== undefined && !pending && tree !== undefined && this.readTs === undefined) {
      written.checkedIn = tree;
      written.checkedAtChange = changeCount!;
    }
  }

  write(table: TableHandle, key: Buffer, value: Buffer | null, kind: WriteKind): void {
    this.writeUnder(undefined, table, key, value, kind);
  }

  /** `write`, with the key's map id when the caller has it; returns the pending write (none outside a transaction). */
  private writeUnder(knownId: string | undefined, table: TableHandle, key: Buffer, value: Buffer | null, kind: WriteKind): PendingWrite | undefined {
    this.source.assertWritable(table);
    if (!this.writes) {
      this.source.apply([{ table, key, value }], 0n);
      return undefined;
    }
    let m = this.writes.get(table);
    if (!m) this.writes.set(table, (m = new Map()));
    const id = knownId ?? key.toString('latin1');
    const previous = m.get(id);
    // Only a key the transaction first inserted is re-checked at commit: an insert after its
    // own remove of a stored key replaces that key, and a put after an insert still needs the
    // key absent.
    const mustBeAbsent = previous ? previous.mustBeAbsent : kind === 'insert';
    const written: PendingWrite = { key, value, kind: value === null ? 'remove' : mustBeAbsent ? 'insert' : 'put', mustBeAbsent };
    m.set(id, written);
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
