import { dir, type DirectoryResult } from 'tmp-promise';
import type { Connection, ConnectionConfig, StorageMode } from '../api.js';
import { openConnection } from '../index.js';

/** Both storage modes, for suites that run the same checks in each. */
export const STORAGE_MODES: readonly StorageMode[] = ['local', 'disagg'];

export interface TestHomes {
  /** A new empty temporary directory. */
  directory(): Promise<string>;
  /** Opens a connection that is closed after the test (if the test left it open). */
  open(home: string, config?: ConnectionConfig): Promise<Connection>;
}

/**
 * Temporary homes for one mocha suite; call inside `describe`. After each test, connections
 * opened through `open` are closed, then the directories are removed when the test passed and
 * kept (their paths printed) when it failed, so a failure can be examined.
 */
export function testHomes(prefix = 'engine-test-'): TestHomes {
  let made: DirectoryResult[] = [];
  let connections: Connection[] = [];
  afterEach(async function () {
    const passed = this.currentTest?.state === 'passed';
    for (const connection of connections) {
      try {
        await connection.close();
      } catch (error) {
        if (passed) throw error;
      }
    }
    connections = [];
    for (const directory of made) {
      if (passed) await directory.cleanup();
      else console.error(`    kept ${directory.path} for examination`);
    }
    made = [];
  });
  return {
    async directory() {
      const directory = await dir({ unsafeCleanup: true, prefix });
      made.push(directory);
      return directory.path;
    },
    async open(home, config = {}) {
      const connection = await openConnection(home, config);
      connections.push(connection);
      return connection;
    },
  };
}
