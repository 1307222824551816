import type { MongoClient, MongoServerError } from 'mongodb';
import { setTimeout as sleep } from 'node:timers/promises';

/** The part of the driver's client that a stuck close leaves behind (not public API). */
interface ClientInternals {
  topology?: { close(): void };
}

/**
 * Closes a driver client without waiting forever. After the server is SIGKILLed with an
 * operation in flight, the driver's `close(true)` can stay pending for good (mongodb 7.9.0: one
 * implicit session still active and one connection still checked out), before it has closed
 * its topology, whose heartbeat timers then keep the process alive. So wait at most
 * `timeoutMs`, then close the topology directly. Resolves with whether the close finished.
 */
export async function closeClientBounded(client: MongoClient, timeoutMs = 2_000): Promise<boolean> {
  const controller = new AbortController();
  const closed = client.close(true).then(
    () => true,
    () => true,
  );
  const finished = await Promise.race([closed, sleep(timeoutMs, false, { signal: controller.signal }).catch(() => false)]);
  controller.abort();
  if (!finished) {
    try {
      (client as unknown as ClientInternals).topology?.close();
    } catch {
      // Nothing more can be released.
    }
  }
  return finished;
}

/** The server error `promise` rejects with; throws when it resolves (the command was expected to fail). */
export async function serverError(promise: Promise<unknown>): Promise<MongoServerError> {
  try {
    await promise;
  } catch (error) {
    return error as MongoServerError;
  }
  throw new Error('expected the command to fail');
}
