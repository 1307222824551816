import pg from 'pg';
import { workerData, parentPort, type MessagePort } from 'node:worker_threads';

/**
 * The thread of `SyncPostgresClient`: one `pg` connection at a time; each request's answer is
 * posted on the answer port, then the shared flag is raised so the waiting engine thread wakes.
 * A connection that broke (the server went away, a statement timed out) is replaced by a new
 * one at the next request, so a store that comes back is used again.
 */
const { url, flag, requests, answers, connectTimeoutMs } = workerData as {
  url: string; flag: Int32Array; requests: MessagePort; answers: MessagePort; connectTimeoutMs: number;
};

interface Failure { message: string; code?: string }

/** The connection and, once it broke, why. */
let current: { client: pg.Client; broken?: Failure } | undefined;

async function connect(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: connectTimeoutMs });
  const state: { client: pg.Client; broken?: Failure } = { client };
  client.on('error', (error: Error & { code?: string }) => {
    state.broken = { message: error.message, code: error.code ?? '08006' };
  });
  try {
    await client.connect();
  } catch (error) {
    void client.end().catch(() => undefined);
    throw error;
  }
  current = state;
  return client;
}

/** The connection to use: the current one, or a new one when it broke. */
async function connection(): Promise<pg.Client> {
  if (current !== undefined && current.broken === undefined) return current.client;
  drop();
  return connect();
}

function drop(): void {
  if (current === undefined) return;
  const { client } = current;
  current = undefined;
  void client.end().catch(() => undefined);
}

function answer(message: unknown): void {
  answers.postMessage(message);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
}

try {
  await connect();
  parentPort!.postMessage({ ok: true });
} catch (error) {
  const failure = error as Error & { code?: string };
  parentPort!.postMessage({ ok: false, message: failure.message, code: failure.code });
  process.exit(0);
}

requests.on('message', async (request: { id: number; sql?: string; params?: unknown[]; reset?: boolean }) => {
  if (request.reset === true) {
    // The engine gave up waiting: the statement's late answer must never be taken for another's.
    drop();
    return;
  }
  let client: pg.Client;
  try {
    client = await connection();
  } catch (error) {
    const failure = error as Error & { code?: string };
    answer({ id: request.id, error: { message: failure.message, code: failure.code ?? '08001' } });
    return;
  }
  try {
    const result = await client.query({ text: request.sql!, values: request.params ?? [], rowMode: 'array' });
    answer({ id: request.id, rows: result.rows, rowCount: result.rowCount ?? 0 });
  } catch (error) {
    const failure = error as Error & { code?: string };
    const broken = current?.client === client ? current.broken : undefined;
    answer({ id: request.id, error: { message: failure.message, code: failure.code ?? broken?.code } });
  }
});
