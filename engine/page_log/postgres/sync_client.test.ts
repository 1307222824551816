import { expect } from 'chai';
import { ErrorCode, PageLogError } from '../../errors.js';
import { startPostgresServer, type PostgresServer } from '../../testing/postgres_server.js';
import { maskedUrl, SyncPostgresClient } from './sync_client.js';

function caught(action: () => unknown): PageLogError {
  try {
    action();
  } catch (error) {
    if (error instanceof PageLogError) return error;
    throw error;
  }
  throw new Error('expected a PageLogError');
}

async function rejected(action: () => Promise<unknown>): Promise<PageLogError> {
  try {
    await action();
  } catch (error) {
    if (error instanceof PageLogError) return error;
    throw error;
  }
  throw new Error('expected a PageLogError');
}

describe('page log: a synchronous PostgreSQL connection (real server)', function () {
  this.timeout(120_000);
  let server: PostgresServer;

  before(async () => {
    server = await startPostgresServer();
    await server.createDatabase('bridge');
  });

  after(async () => {
    await server?.destroy();
  });

  it('runs statements synchronously, with bytes and 64-bit integers intact', async () => {
    const client = await SyncPostgresClient.connect(server.url('bridge'));
    try {
      client.query('CREATE TABLE pages (lsn BIGINT PRIMARY KEY, image BYTEA NOT NULL)');
      const image = Buffer.from([0, 1, 2, 255, 254]);
      // Above 2^53: must not pass through a JavaScript number.
      const lsn = '9007199254740993';
      expect(client.query('INSERT INTO pages VALUES ($1, $2)', [lsn, image]).rowCount).to.equal(1);
      const { rows } = client.query('SELECT lsn, image FROM pages WHERE lsn = $1', [lsn]);
      expect(rows).to.have.length(1);
      expect(rows[0]![0]).to.equal(lsn);
      expect(Buffer.from(rows[0]![1] as Uint8Array).equals(image)).to.equal(true);
    } finally {
      await client.close();
    }
  });

  it('reports a statement error with its SQLSTATE, and the connection goes on', async () => {
    const client = await SyncPostgresClient.connect(server.url('bridge'));
    try {
      const error = caught(() => client.query('SELECT * FROM no_such_table'));
      expect(error.code).to.equal(ErrorCode.PageLog);
      expect(error.message).to.contain('42P01');
      expect(client.query('SELECT 1').rows).to.deep.equal([[1]]);
    } finally {
      await client.close();
    }
  });

  it('refuses wrong credentials and an unreachable server with STORE_UNAVAILABLE, never printing the password', async () => {
    const wrong = server.url('bridge').replace(server.password, 'not-the-password');
    const refused = await rejected(() => SyncPostgresClient.connect(wrong));
    expect(refused.code).to.equal(ErrorCode.StoreUnavailable);
    expect(refused.message).to.contain('28P01');
    expect(refused.message + JSON.stringify(refused)).to.not.contain('not-the-password');
    const unreachable = await rejected(() => SyncPostgresClient.connect('postgres://lab:secret-value@127.0.0.1:1/bridge', { timeoutMs: 5_000 }));
    expect(unreachable.code).to.equal(ErrorCode.StoreUnavailable);
    expect(unreachable.message + JSON.stringify(unreachable)).to.not.contain('secret-value');
    expect(maskedUrl('postgres://lab:secret-value@host:5432/db')).to.equal('postgres://lab:***@host:5432/db');
    expect(maskedUrl('postgres://lab@host:5432/db?password=secret-value&sslmode=disable')).to.equal('postgres://lab@host:5432/db?password=***&sslmode=disable');
    const inQuery = await rejected(() => SyncPostgresClient.connect(`postgres://lab@127.0.0.1:${server.port}/bridge?password=not-the-password`));
    expect(inQuery.code).to.equal(ErrorCode.StoreUnavailable);
    expect(inQuery.message + JSON.stringify(inQuery)).to.not.contain('not-the-password');
  });

  it('fails with STORE_UNAVAILABLE when the server stops under an open connection, and a new one works once it is back', async () => {
    const client = await SyncPostgresClient.connect(server.url('bridge'), { timeoutMs: 10_000 });
    try {
      expect(client.query('SELECT 1').rows).to.deep.equal([[1]]);
      await server.stop();
      const error = caught(() => client.query('SELECT 1'));
      expect(error.code).to.equal(ErrorCode.StoreUnavailable);
    } finally {
      await client.close();
      await server.start();
    }
    const again = await SyncPostgresClient.connect(server.url('bridge'));
    try {
      expect(again.query('SELECT 2').rows).to.deep.equal([[2]]);
    } finally {
      await again.close();
    }
  });
});
