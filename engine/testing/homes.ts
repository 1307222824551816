import { dir, type DirectoryResult } from 'tmp-promise';
import type { StorageMode } from '../api.js';

/** Both storage modes, for suites that run the same checks in each. */
export const STORAGE_MODES: readonly StorageMode[] = ['local', 'disagg'];

/**
 * Temporary directories for one mocha suite: call inside `describe`; the returned function
 * makes a new directory. After each test the directories are removed when it passed and kept
 * (their paths printed) when it failed, so a failure can be examined.
 */
export function temporaryDirectories(prefix = 'engine-test-'): () => Promise<string> {
  let made: DirectoryResult[] = [];
  afterEach(async function () {
    const passed = this.currentTest?.state === 'passed';
    for (const directory of made) {
      if (passed) await directory.cleanup();
      else console.error(`    kept ${directory.path} for examination`);
    }
    made = [];
  });
  return async () => {
    const directory = await dir({ unsafeCleanup: true, prefix });
    made.push(directory);
    return directory.path;
  };
}
