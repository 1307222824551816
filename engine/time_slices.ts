/**
 * Returns a function to call between steps of long synchronous work (a tree copy, a page log's
 * prune): once `sliceMillis` have passed since the last yield it returns a promise to await,
 * which yields to other work (other clients' requests); otherwise undefined, so that a loop of
 * many short steps awaits nothing between them.
 *
 * The clock is `process.uptime()` (monotonic, as `performance.now()`): the global
 * `performance` loads Node's `perf_hooks` on first use, a millisecond of a server's start-up,
 * which prunes its page log in its first checkpoints.
 */
export function yieldEvery(sliceMillis = 10): () => Promise<void> | undefined {
  let sliceStart = nowMillis();
  return () => {
    if (nowMillis() - sliceStart < sliceMillis) return undefined;
    return new Promise((resolve) => {
      setImmediate(() => {
        sliceStart = nowMillis();
        resolve();
      });
    });
  };
}

function nowMillis(): number {
  return process.uptime() * 1000;
}
