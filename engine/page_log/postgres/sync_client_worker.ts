import pg from 'pg';
import { workerData, parentPort, type MessagePort } from 'node:worker_threads';

/**
 * The thread of `SyncPostgresClient`: one `pg` connection; each request's answer is posted on
 * the answer port, then the shared flag is raised so the waiting engine thread wakes.
 */
const { url, flag, requests, answers, connectTimeoutMs } = workerData as {
  url: string; flag: Int32Array; requests: MessagePort; answers: MessagePort; connectTimeoutMs: number;
};

// Bytes as Buffers and 64-bit integers as text (callers convert), never as lossy numbers.
const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: connectTimeoutMs });
/** Set once the connection broke (the server went away): every later request fails with it. */
const state: { broken?: { message: string; code?: string } } = {};
client.on('error', (error: Error & { code?: string }) => {
  state.broken = { message: error.message, code: error.code ?? '08006' };
});

/** Read afresh: the connection may break while a statement runs. */
function brokenCode(): string | undefined {
  return state.broken?.code;
}

function answer(message: unknown): void {
  answers.postMessage(message);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
}

try {
  await client.connect();
  parentPort!.postMessage({ ok: true });
} catch (error) {
  const failure = error as Error & { code?: string };
  parentPort!.postMessage({ ok: false, message: failure.message, code: failure.code });
  process.exit(0);
}

requests.on('message', async (request: { id: number; sql: string; params: unknown[] }) => {
  if (state.broken !== undefined) {
    answer({ id: request.id, error: state.broken });
    return;
  }
  try {
    const result = await client.query({ text: request.sql, values: request.params, rowMode: 'array' });
    answer({ id: request.id, rows: result.rows, rowCount: result.rowCount ?? 0 });
  } catch (error) {
    const failure = error as Error & { code?: string };
    answer({ id: request.id, error: { message: failure.message, code: failure.code ?? brokenCode() } });
  }
});
