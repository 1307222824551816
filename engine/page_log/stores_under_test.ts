/**
 * The stores the page log's contract tests run against: LMDB in a temp directory, and
 * PostgreSQL on a real server started for the suite (a database per test).
 */
import { join } from 'node:path';
import { open } from 'lmdb';
import pg from 'pg';
import { dir, type DirectoryResult } from 'tmp-promise';
import { startPostgresServer, type PostgresServer } from '../testing/postgres_server.js';
import { SyncPostgresClient } from './postgres/sync_client.js';
import { encodePageKey } from './record_format.js';

/**
 * A store the contract runs against: a new, empty location for each test, and a way to damage
 * a stored image behind the page log's back.
 */
export interface StoreUnderTest {
  name: string;
  setUp(): Promise<void>;
  tearDown(): Promise<void>;
  freshLocation(): Promise<string>;
  damageImage(location: string, tableId: number, pageId: number, lsn: number, bytes: Buffer): Promise<void>;
}

function lmdbStore(): StoreUnderTest {
  let directory: DirectoryResult | undefined;
  let count = 0;
  return {
    name: 'LMDB',
    setUp: async () => {
      directory = await dir({ unsafeCleanup: true });
    },
    tearDown: async () => directory?.cleanup(),
    freshLocation: async () => join(directory!.path, `pagelog-${++count}`),
    damageImage: async (location, tableId, pageId, lsn, bytes) => {
      const store = open({ path: location, maxDbs: 4 });
      const pagesStore = store.openDB({ name: 'pages', keyEncoding: 'binary', encoding: 'binary' });
      await pagesStore.put(encodePageKey(tableId, pageId, lsn), bytes);
      await store.close();
    },
  };
}

function postgresStore(): StoreUnderTest {
  let server: PostgresServer | undefined;
  let count = 0;
  return {
    name: 'PostgreSQL',
    setUp: async () => {
      server = await startPostgresServer();
      await server.createDatabase('contract');
    },
    tearDown: async () => server?.destroy(),
    // A schema per test in one database (creating a database takes a third of a second; a
    // schema, a millisecond): the URL's search_path puts the store's tables in it.
    freshLocation: async () => {
      const schema = `test_${++count}`;
      const client = new pg.Client({ connectionString: server!.url('contract') });
      await client.connect();
      try {
        await client.query(`CREATE SCHEMA ${schema}`);
      } finally {
        await client.end();
      }
      return `${server!.url('contract')}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    },
    damageImage: async (location, tableId, pageId, lsn, bytes) => {
      const client = await SyncPostgresClient.connect(location);
      try {
        client.query('UPDATE page_log_records SET image = $1 WHERE table_id = $2 AND page_id = $3 AND lsn = $4', [bytes, tableId, pageId, lsn]);
      } finally {
        await client.close();
      }
    },
  };
}

/** Every store, each set up once per suite that uses it. */
export function storesUnderTest(): StoreUnderTest[] {
  return [lmdbStore(), postgresStore()];
}
