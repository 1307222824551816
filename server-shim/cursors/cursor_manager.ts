import { Long } from 'bson';
import { randomBytes } from '../../engine/index.js';
import { CommandError, ErrorCodes } from '../errors/index.js';
import { documentSize, type Document } from '../values/index.js';

/** mongod's cap on the bytes of one batch (the reply must fit in a 16 MB document). */
export const maximumBatchBytes = 16 * 1024 * 1024;
/** The first batch size of find and aggregate when the client names none. */
export const defaultFirstBatchSize = 101;

/** What a cursor needs to know when it is opened. */
export interface CursorOptions {
  /** `db.collection`, checked on getMore. */
  ns: string;
  /** The logical session that opened it (`lsid.id` as hex), so endSessions can kill it. */
  sessionId?: string;
  /** Exempt from the idle timeout (`noCursorTimeout`). */
  noTimeout?: boolean;
  /**
   * Stays open once its documents are all returned (later batches are empty) until it is
   * killed or times out: a `$backupCursor` holds its backup that long.
   */
  keepOpenWhenExhausted?: boolean;
  /** Called once when the cursor closes, however it closes (kill, timeout, shutdown). */
  onClose?: () => void;
}

/** A batch taken from a cursor. */
export interface Batch {
  documents: Document[];
  /** True when nothing is left (the reply's cursor id is then 0). */
  exhausted: boolean;
}

/** An open server-side cursor: a lazy document stream positioned between batches. */
export class ServerCursor {
  readonly id: Long;
  readonly options: CursorOptions;
  lastUsed = Date.now();
  private readonly iterator: Iterator<Document>;
  private lookahead: Document | undefined;
  private done = false;
  private closed = false;

  constructor(id: Long, source: Iterable<Document>, options: CursorOptions) {
    this.id = id;
    this.iterator = source[Symbol.iterator]();
    this.options = options;
  }

  private next(): Document | undefined {
    if (this.lookahead !== undefined) {
      const document = this.lookahead;
      this.lookahead = undefined;
      return document;
    }
    if (this.done) return undefined;
    const step = this.iterator.next();
    if (step.done) {
      this.done = true;
      return undefined;
    }
    return step.value;
  }

  /**
   * Takes up to `size` documents (no count limit when undefined) and at most 16 MB, then looks
   * one document ahead so that the reply can say whether the cursor is exhausted.
   */
  takeBatch(size: number | undefined): Batch {
    this.lastUsed = Date.now();
    const documents: Document[] = [];
    let bytes = 0;
    while (size === undefined || documents.length < size) {
      const document = this.next();
      if (document === undefined) break;
      const length = documentSize(document);
      if (documents.length > 0 && bytes + length > maximumBatchBytes) {
        this.lookahead = document;
        break;
      }
      documents.push(document);
      bytes += length;
    }
    if (this.lookahead === undefined && !this.done) {
      const peeked = this.next();
      if (peeked !== undefined) this.lookahead = peeked;
    }
    const exhausted = this.lookahead === undefined && this.done;
    return { documents, exhausted: exhausted && !this.options.keepOpenWhenExhausted };
  }

  /** Releases the stream (runs the generator's cleanup) and whatever the cursor holds. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.done = true;
    try {
      this.iterator.return?.();
    } finally {
      this.options.onClose?.();
    }
  }
}

/**
 * The server's open cursors. Cursors belong to the server, not to a connection: drivers pool
 * connections, so a getMore may arrive on another connection than the find.
 */
export class CursorManager {
  private readonly cursors = new Map<string, ServerCursor>();

  /** Opens a cursor over `source`. */
  open(source: Iterable<Document>, options: CursorOptions): ServerCursor {
    let id: Long;
    do {
      // A random positive 63-bit id, like mongod's, so ids are not guessable or reused soon.
      id = Long.fromBigInt(randomBytes(8).readBigUInt64BE() & 0x7fffffffffffffffn);
    } while (id.isZero() || this.cursors.has(id.toString()));
    const cursor = new ServerCursor(id, source, options);
    this.cursors.set(id.toString(), cursor);
    return cursor;
  }

  /**
   * The cursor `id` for a getMore on `ns`; CursorNotFound (43) when there is none, Unauthorized
   * (13) when it belongs to another namespace, as mongod answers.
   */
  get(id: unknown, ns: string): ServerCursor {
    const key = cursorIdString(id);
    const cursor = this.cursors.get(key);
    if (cursor === undefined) throw new CommandError(ErrorCodes.CursorNotFound, `cursor id ${key} not found`);
    if (cursor.options.ns !== ns) {
      throw new CommandError(ErrorCodes.Unauthorized, `Requested getMore on namespace '${ns}', but cursor belongs to a different namespace ${cursor.options.ns}`);
    }
    return cursor;
  }

  /** Closes and forgets a cursor; false when it did not exist. */
  kill(id: unknown): boolean {
    const key = cursorIdString(id);
    const cursor = this.cursors.get(key);
    if (cursor === undefined) return false;
    this.cursors.delete(key);
    cursor.close();
    return true;
  }

  /** True when the cursor exists. */
  has(id: unknown): boolean {
    return this.cursors.has(cursorIdString(id));
  }

  /** Kills the cursors opened by these sessions (endSessions, killSessions). */
  killSessions(sessionIds: Set<string>): number {
    let killed = 0;
    for (const cursor of [...this.cursors.values()]) {
      if (cursor.options.sessionId !== undefined && sessionIds.has(cursor.options.sessionId)) {
        this.kill(cursor.id);
        killed += 1;
      }
    }
    return killed;
  }

  /** Closes cursors idle for longer than `timeoutMillis`; returns their ids. */
  sweep(timeoutMillis: number, now = Date.now()): string[] {
    const expired: string[] = [];
    for (const [key, cursor] of this.cursors) {
      if (!cursor.options.noTimeout && now - cursor.lastUsed > timeoutMillis) expired.push(key);
    }
    for (const key of expired) this.kill(key);
    return expired;
  }

  /** Closes every cursor (shutdown). */
  closeAll(): void {
    for (const key of [...this.cursors.keys()]) this.kill(key);
  }

  get size(): number {
    return this.cursors.size;
  }
}

/** A cursor id (Long, number, bigint or string) as a decimal string. */
export function cursorIdString(id: unknown): string {
  if (id instanceof Long) return id.toString();
  if (typeof id === 'bigint' || typeof id === 'number' || typeof id === 'string') return String(id);
  const value = (id as { valueOf?: () => unknown })?.valueOf?.();
  return String(value);
}
