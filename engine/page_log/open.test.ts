import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect } from 'chai';
import { dir, type DirectoryResult } from 'tmp-promise';
import { ErrorCode } from '../errors.js';
import { engineFailure, engineFailureNow } from '../testing/failures.js';
import { startPostgresServer, type PostgresServer } from '../testing/postgres_server.js';
import { displayLocation, openPageLog, parseStoreLocation, probePageLog } from './index.js';
import { SyncPostgresClient } from './postgres/sync_client.js';

const here = dirname(fileURLToPath(import.meta.url));
const BASE = { backlinkLsn: 0, baseLsn: 0, flags: 0 };

describe('page log locations', () => {
  it('reads a directory or lmdb:PATH as LMDB, postgres:// and postgresql:// as PostgreSQL, and FILE.mjs#ARG as a store module', () => {
    expect(parseStoreLocation('/var/lib/pagelog')).to.deep.equal({ kind: 'lmdb', path: '/var/lib/pagelog' });
    expect(parseStoreLocation('lmdb:/var/lib/pagelog')).to.deep.equal({ kind: 'lmdb', path: '/var/lib/pagelog' });
    expect(parseStoreLocation('postgres://lab@db.example:5432/logs')).to.deep.equal({ kind: 'postgres', url: 'postgres://lab@db.example:5432/logs' });
    expect(parseStoreLocation('postgresql://lab@db.example/logs').kind).to.equal('postgres');
    expect(parseStoreLocation('/opt/stores/mine.mjs#bucket-7')).to.deep.equal({ kind: 'module', file: '/opt/stores/mine.mjs', argument: 'bucket-7' });
    expect(parseStoreLocation('/opt/stores/mine.js')).to.deep.equal({ kind: 'module', file: '/opt/stores/mine.js', argument: '' });
  });

  it('refuses an unknown scheme, an unparsable PostgreSQL URL and an empty lmdb: with STORE_INVALID, never printing a password', () => {
    for (const location of ['mysql://root:hunter2@db/logs', 'http://user:hunter2@host/x', 'postgres://user:hunter2@/', 'lmdb:']) {
      const error = engineFailureNow(() => parseStoreLocation(location));
      expect(error.code, location).to.equal(ErrorCode.StoreInvalid);
      expect(error.message, location).to.not.contain('hunter2');
      expect(JSON.stringify(error.location), location).to.not.contain('hunter2');
    }
  });

  it('masks passwords in the URL and in its query string when shown', () => {
    expect(displayLocation('postgres://lab:hunter2@db:5432/logs?password=hunter2&sslmode=require')).to.equal('postgres://lab:***@db:5432/logs?password=***&sslmode=require');
    expect(displayLocation('/var/lib/pagelog')).to.equal('/var/lib/pagelog');
  });
});

describe('page log store modules', () => {
  let directory: DirectoryResult;

  beforeEach(async () => {
    directory = await dir({ unsafeCleanup: true });
  });

  afterEach(async () => directory.cleanup());

  function writeModule(name: string, source: string): string {
    const file = join(directory.path, name);
    writeFileSync(file, source);
    return file;
  }

  it('opens a store a module returns, with its argument, and runs the core over it', async () => {
    // A module that keeps its log in LMDB under the directory its argument names.
    const lmdbStore = pathToFileURL(join(here, 'lmdb', 'store.js')).href;
    const file = writeModule('wrapped.mjs', `
      import { openLmdbStore } from ${JSON.stringify(lmdbStore)};
      export async function openPageLogStore(argument, options) {
        const store = await openLmdbStore(argument, options);
        return Object.assign(Object.create(store), { kind: 'wrapped-lmdb' });
      }
    `);
    const location = `${file}#${join(directory.path, 'log')}`;
    let log = await openPageLog(location);
    const lsn = log.openHandle(200).put(100, BASE, Buffer.from('through a module'));
    log.beginCheckpoint();
    await log.completeCheckpoint({ timestamp: 5n, oldestTimestamp: 1n, metadata: 'm' });
    await log.close();
    log = await openPageLog(location, { readOnly: true });
    try {
      expect(log.openHandle(200).get(100).map((record) => [record.lsn, record.image.toString()])).to.deep.equal([[lsn, 'through a module']]);
      expect(await probePageLog(location)).to.deep.equal({ state: 'present' });
    } finally {
      await log.close();
    }
  });

  it('refuses a missing module, one without openPageLogStore, and a store without the interface\'s methods, with STORE_INVALID', async () => {
    const cases: [string, string][] = [
      [join(directory.path, 'absent.mjs'), 'does not exist'],
      [writeModule('empty.mjs', 'export const nothing = 1;\n'), 'does not export openPageLogStore'],
      [writeModule('broken.mjs', 'export function openPageLogStore( {\n'), 'does not load'],
      [writeModule('partial.mjs', "export async function openPageLogStore() { return { kind: 'x', location: 'y', readFormat() {} }; }\n"), 'without createFormat()'],
      [writeModule('null.mjs', 'export async function openPageLogStore() { return null; }\n'), 'returned null'],
    ];
    for (const [file, words] of cases) {
      const error = await engineFailure(() => openPageLog(file));
      expect(error.code, file).to.equal(ErrorCode.StoreInvalid);
      expect(error.message, file).to.contain(words).and.contain(file);
    }
  });
});

describe('page log on PostgreSQL: bad input', function () {
  this.timeout(120_000);
  let server: PostgresServer;

  before(async () => {
    server = await startPostgresServer();
  });

  after(async () => server?.destroy());

  it('refuses an unreachable server and wrong credentials with STORE_UNAVAILABLE, never printing the password', async () => {
    await server.createDatabase('credentials');
    const wrong = server.url('credentials').replace(`:${server.password}@`, ':not-the-password@');
    for (const url of ['postgres://lab:hunter2@127.0.0.1:1/logs', wrong]) {
      const error = await engineFailure(() => openPageLog(url));
      expect(error.code, error.message).to.equal(ErrorCode.StoreUnavailable);
      expect(error.message).to.not.contain('hunter2').and.not.contain('not-the-password');
    }
  });

  it('takes the password from PGPASSWORD when the URL has none, so it need not be on a command line', async () => {
    await server.createDatabase('environment');
    const url = server.url('environment').replace(`:${server.password}@`, '@');
    expect(url).to.not.contain(server.password);
    const saved = process.env.PGPASSWORD;
    try {
      process.env.PGPASSWORD = server.password;
      const log = await openPageLog(url);
      log.openHandle(200).put(100, BASE, Buffer.from('with the password from the environment'));
      await log.close();
      delete process.env.PGPASSWORD;
      expect((await engineFailure(() => openPageLog(url, { readOnly: true }))).code, 'without it the server refuses').to.equal(ErrorCode.StoreUnavailable);
    } finally {
      if (saved === undefined) delete process.env.PGPASSWORD;
      else process.env.PGPASSWORD = saved;
    }
  });

  it('refuses a database without a page log to a follower and a reader (MISSING_FILE), and creates one for a leader', async () => {
    await server.createDatabase('fresh');
    const url = server.url('fresh');
    for (const options of [{ role: 'follower' as const }, { readOnly: true }]) {
      const error = await engineFailure(() => openPageLog(url, options));
      expect(error.code).to.equal(ErrorCode.MissingFile);
      expect(error.message).to.not.contain(server.password);
    }
    const log = await openPageLog(url);
    expect(log.identity).to.match(/^[0-9a-f-]{36}$/);
    await log.close();
  });

  it('refuses a schema of another version with STORE_SCHEMA_UNKNOWN, naming both versions', async () => {
    await server.createDatabase('newer');
    const url = server.url('newer');
    await (await openPageLog(url)).close();
    const client = await SyncPostgresClient.connect(url);
    try {
      client.query('UPDATE page_log_schema SET version = 2');
    } finally {
      await client.close();
    }
    const error = await engineFailure(() => openPageLog(url, { readOnly: true }));
    expect(error.code).to.equal(ErrorCode.StoreSchemaUnknown);
    expect(error.message).to.contain('schema version 2').and.contain('version 1');
  });

  it('gives two logs in two databases two identities, as two directories would', async () => {
    await server.createDatabase('one');
    await server.createDatabase('two');
    const one = await openPageLog(server.url('one'));
    const two = await openPageLog(server.url('two'));
    try {
      expect(one.identity).to.not.equal(two.identity);
    } finally {
      await one.close();
      await two.close();
    }
  });
});
