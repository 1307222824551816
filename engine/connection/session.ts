import type { CheckpointViewHold, Cursor, Session } from '../api.js';
import { ErrorCode, StateError } from '../errors.js';
import type { ConnectionImpl } from './connection.js';
import { CursorImpl } from './cursor.js';
import { TransactionView } from '../txn/index.js';

/** A session: a transaction context and the cursors opened in it. */
export class SessionImpl implements Session {
  private readonly view: TransactionView;
  private readonly cursors = new Set<CursorImpl>();
  private closed = false;

  constructor(private readonly connection: ConnectionImpl, private readonly onClose: () => void) {
    this.view = new TransactionView(connection);
  }

  get inTransaction(): boolean {
    return this.view.active;
  }

  /** True when a transaction holds uncommitted writes (point-in-time writes wait for these). */
  get hasPendingWrites(): boolean {
    return this.view.hasWrites;
  }

  private check(): void {
    if (this.closed) throw new StateError(ErrorCode.Closed, 'session is closed');
  }

  beginTransaction(options: { readTimestamp?: bigint } = {}): void {
    this.check();
    this.view.begin(options.readTimestamp);
  }

  commitTransaction(options: { commitTimestamp?: bigint } = {}): void {
    this.check();
    const writes = this.view.end();
    if (writes.length === 0) return;
    for (const write of writes) this.connection.assertWritable(write.table);
    TransactionView.checkInserts(this.connection, writes);
    this.connection.commit(writes, options.commitTimestamp);
  }

  rollbackTransaction(): void {
    this.check();
    this.view.end();
  }

  openCursor(uri: string, options: { view?: CheckpointViewHold } = {}): Cursor {
    this.check();
    const table = this.connection.tableHandle(uri, options.view);
    // A follower's view stays while a cursor reads it, whatever is picked up meanwhile.
    table.view?.hold();
    const cursor = new CursorImpl(table, this.view, (closed) => {
      this.cursors.delete(closed);
      table.view?.unhold();
    });
    this.cursors.add(cursor);
    return cursor;
  }

  close(): void {
    if (this.closed) return;
    if (this.view.active) this.view.end();
    for (const cursor of [...this.cursors]) cursor.close();
    this.closed = true;
    this.onClose();
  }
}
