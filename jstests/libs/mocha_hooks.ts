import type { Context } from 'mocha';
import { recordKeptArtifact } from './kept_artifacts.cjs';
import { ShimProcess, type ShimOptions } from './shim_process.js';

/** Servers launched through a fixture, with the cleanup that keeps failures for inspection. */
export interface ShimFixture {
  /** A new (not started) server; the fixture cleans it up. */
  create(options?: ShimOptions): ShimProcess;
  /** A new server, started. */
  launch(options?: ShimOptions): Promise<ShimProcess>;
}

async function release(shims: ShimProcess[], failedTitle: string | undefined): Promise<void> {
  // A server that reported an uncaught exception or unhandled rejection fails the test (as a
  // failed hook), whatever the test itself checked; its files are kept.
  const uncaught = shims.flatMap((shim) => shim.uncaughtErrors());
  if (uncaught.length > 0) failedTitle ??= 'a server reported an uncaught error';
  for (const shim of shims.splice(0)) {
    const kept = await shim.cleanup({ keep: failedTitle !== undefined });
    if (kept !== undefined && failedTitle !== undefined) {
      recordKeptArtifact(failedTitle, { runDirectory: kept, dbpath: shim.dbpath, logPath: shim.logPath });
      // Printed for whoever reads the test output: where to look.
      console.error(`  kept the dbpath and logs of failed test "${failedTitle}" in ${kept} (dbpath ${shim.dbpath}, log ${shim.logPath})`);
    }
  }
  if (uncaught.length > 0) {
    throw new Error(`mongod-shim reported ${uncaught.length} uncaught exception(s) or unhandled rejection(s):\n${uncaught.join('\n')}`);
  }
}

/**
 * Servers that live for one test: an `afterEach` hook kills whatever still runs and deletes
 * each run directory, except when the test failed: then the dbpath and logs stay and their
 * location is printed. Call inside a `describe`.
 */
export function shimsPerTest(): ShimFixture {
  const shims: ShimProcess[] = [];
  afterEach(async function (this: Context) {
    const test = this.currentTest;
    await release(shims, test?.state === 'failed' ? test.fullTitle() : undefined);
  });
  return fixture(shims);
}

/**
 * Servers that live for the whole `describe`: started by the suite's `before`, cleaned up by its
 * `after`, and kept (with the location printed) when any test of the suite failed.
 */
export function shimsPerSuite(): ShimFixture {
  const shims: ShimProcess[] = [];
  let failed: string | undefined;
  afterEach(function (this: Context) {
    if (this.currentTest?.state === 'failed') failed ??= this.currentTest.fullTitle();
  });
  after(async () => {
    await release(shims, failed);
  });
  return fixture(shims);
}

function fixture(shims: ShimProcess[]): ShimFixture {
  return {
    create: (options) => {
      const shim = new ShimProcess(options);
      shims.push(shim);
      return shim;
    },
    launch: async (options) => {
      const shim = new ShimProcess(options);
      shims.push(shim);
      await shim.start();
      return shim;
    },
  };
}
