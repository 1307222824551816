import { existsSync } from 'node:fs';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { ErrorCode, PageLogError } from '../../errors.js';
import { postgresError, sqlState } from './errors.js';
import { maskedUrl } from './masked_url.js';

export { maskedUrl };

/**
 * A PostgreSQL connection the engine can query synchronously: the engine's page reads are
 * synchronous (a cursor step is), while every PostgreSQL client for Node is asynchronous. The
 * client runs in a worker thread; `query` posts the statement to it and waits on a shared flag
 * (`Atomics.wait`) until the worker has posted the answer, which it then takes from the port
 * without returning to the event loop (`receiveMessageOnPort`). A statement that gets no answer
 * within `timeoutMs` fails with `STORE_UNAVAILABLE` and the connection is closed: a late
 * answer can never be taken for the next statement's.
 *
 * The URL's password never appears in an error: messages name the URL with it masked.
 */

/** What a statement returns: its rows, as arrays of column values in select order. */
export interface QueryResult {
  rows: unknown[][];
  rowCount: number;
}

/** How long a statement may take unless the caller says otherwise. */
const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * The worker's file: beside this module when compiled file by file; when bundled (the server
 * and the read-path tool), this module sits in a chunk and the bundle's worker entry one
 * directory up.
 */
function workerFile(): URL {
  const candidates = ['./sync_client_worker.js', '../sync_client_worker.js'].map((name) => new URL(name, import.meta.url));
  return candidates.find((candidate) => existsSync(candidate)) ?? candidates[0]!;
}

interface WorkerAnswer {
  id: number;
  rows?: unknown[][];
  rowCount?: number;
  error?: { message: string; code?: string };
}

/** A synchronous PostgreSQL connection; see the module comment. */
export class SyncPostgresClient {
  private nextId = 1;
  private closed = false;

  private constructor(
    private readonly worker: Worker,
    private readonly requests: MessagePort,
    private readonly answers: MessagePort,
    private readonly flag: Int32Array,
    private readonly url: string,
    private readonly timeoutMs: number,
  ) {}

  /** Connects; rejects with `STORE_UNAVAILABLE` when the server cannot be reached or refuses. */
  static async connect(url: string, options: { timeoutMs?: number } = {}): Promise<SyncPostgresClient> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const flag = new Int32Array(new SharedArrayBuffer(4));
    const requests = new MessageChannel();
    const answers = new MessageChannel();
    const worker = new Worker(workerFile(), {
      workerData: { url, flag, requests: requests.port2, answers: answers.port1, connectTimeoutMs: timeoutMs },
      transferList: [requests.port2, answers.port1],
    });
    worker.unref();
    const ready = await new Promise<{ ok: true } | { ok: false; message: string; code?: string }>((resolve) => {
      worker.once('message', (message: { ok: true } | { ok: false; message: string; code?: string }) => resolve(message));
      worker.once('error', (error) => resolve({ ok: false, message: error.message }));
      worker.once('exit', (code) => resolve({ ok: false, message: `the client thread exited with code ${code}` }));
    });
    if (!ready.ok) {
      await worker.terminate();
      throw new PageLogError(`cannot connect to the page log's PostgreSQL store: ${ready.message}${sqlState(ready.code)}`, {
        uri: maskedUrl(url),
      }, ErrorCode.StoreUnavailable);
    }
    return new SyncPostgresClient(worker, requests.port1, answers.port2, flag, url, timeoutMs);
  }

  /** Runs one statement and returns its rows; throws `STORE_UNAVAILABLE` or the server's error. */
  query(sql: string, params: readonly unknown[] = []): QueryResult {
    if (this.closed) throw new PageLogError('the connection to the PostgreSQL store is closed', { uri: maskedUrl(this.url) }, ErrorCode.Closed);
    const id = this.nextId++;
    Atomics.store(this.flag, 0, 0);
    this.requests.postMessage({ id, sql, params });
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const answer = receiveMessageOnPort(this.answers)?.message as WorkerAnswer | undefined;
      if (answer !== undefined) {
        if (answer.id !== id) continue;
        if (answer.error !== undefined) throw this.failure(answer.error);
        return { rows: answer.rows ?? [], rowCount: answer.rowCount ?? 0 };
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0 || Atomics.wait(this.flag, 0, 0, remaining) === 'timed-out') {
        // The connection may still answer later: the thread drops it (the next statement gets
        // a new one), and an answer with this id is never taken for another statement's.
        this.requests.postMessage({ id, reset: true });
        throw new PageLogError(`the PostgreSQL store did not answer within ${this.timeoutMs} ms`, { uri: maskedUrl(this.url) }, ErrorCode.StoreUnavailable);
      }
      Atomics.store(this.flag, 0, 0);
    }
  }

  /** Ends the connection and the thread. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.requests.close();
    this.answers.close();
    await this.worker.terminate();
  }

  private failure(error: { message: string; code?: string }): PageLogError {
    return postgresError(error, this.url);
  }

}
