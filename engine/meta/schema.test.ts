import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Connection, StorageMode } from '../api.js';
import { ConfigError, EngineError, ErrorCode, SchemaError } from '../errors.js';
import type { ConnectionImpl } from '../connection/index.js';
import { STORAGE_MODES, testHomes } from '../testing/homes.js';

function expectError(fn: () => unknown, type: new (...args: never[]) => EngineError, code: string): EngineError {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(type);
    expect((error as EngineError).code).to.equal(code);
    return error as EngineError;
  }
  return expect.fail(`expected ${type.name} ${code}`);
}

for (const storage of STORAGE_MODES) {
  describe(`schema (${storage})`, () => {
    const homes = testHomes();
    let home: string;
    let connection: Connection;

    beforeEach(async () => {
      home = await homes.directory();
      connection = await homes.open(home, { storage: storage as StorageMode });
    });

    it('raises CONFIG_UNKNOWN_KEY naming the key for an unknown createTable configuration key', () => {
      const error = expectError(() => connection.createTable('table:t', 'key_format=S,value_format=S,colour=blue'), ConfigError, ErrorCode.ConfigUnknownKey);
      expect(error.location.key).to.equal('colour');
      expect(connection.hasTable('table:t')).to.equal(false);
    });

    for (const [config, key] of [
      ['allocation_size=3000', 'allocation_size'],
      ['allocation_size=256B', 'allocation_size'],
      ['leaf_page_max=5000B', 'leafPageMax'],
      ['split_pct=10', 'split_pct'],
      ['leaf_page_max=big', 'leaf_page_max'],
    ] as const) {
      it(`raises ConfigError for ${config}`, () => {
        const error = expectError(() => connection.createTable('table:t', `key_format=S,value_format=S,${config}`), ConfigError, ErrorCode.ConfigInvalid);
        expect(error.location.key).to.equal(key);
        expect(connection.hasTable('table:t')).to.equal(false);
      });
    }

    it('keeps the columns a table is created with in its table entry, as WiredTiger does, and refuses a count that does not match the formats', async () => {
      connection.createTable('table:named', 'key_format=S,value_format=Si,columns=(name,city,count)');
      const entry = (key: string): string => (connection as ConnectionImpl).metadataEntries().find((e) => e.key === key)!.value;
      expect(entry('table:named')).to.contain('columns=(name,city,count),');
      expect(entry('file:named.wt')).to.contain(',columns=,').and.contain(',tiered_storage=(auth_token=,');
      const error = expectError(() => connection.createTable('table:t', 'key_format=S,value_format=S,columns=(a,b,c)'), ConfigError, ErrorCode.ConfigInvalid);
      expect(error.location.key).to.equal('columns');
      expectError(() => connection.createTable('table:t', 'key_format=S,value_format=S,columns=(a,a)'), ConfigError, ErrorCode.ConfigInvalid);
      await connection.close();
      connection = await homes.open(home, { storage: storage as StorageMode });
      expect(entry('table:named')).to.contain('columns=(name,city,count),');
    });

    it('raises ConfigError for a key or value format it cannot pack', () => {
      expectError(() => connection.createTable('table:t', 'key_format=Z,value_format=S'), ConfigError, ErrorCode.ConfigInvalid);
      expectError(() => connection.createTable('table:t', 'key_format=S,value_format=S%'), ConfigError, ErrorCode.ConfigInvalid);
      expect(connection.listTables()).to.deep.equal([]);
    });

    for (const uri of ['t', 'file:t.wt', 'table:', 'table:a/b', 'table:..', 'table:.hidden', 'table:WiredTigerHS']) {
      it(`raises INVALID_ARGUMENT for the table name "${uri}"`, () => {
        expectError(() => connection.createTable(uri, 'key_format=S,value_format=S'), SchemaError, ErrorCode.InvalidArgument);
      });
    }

    it('raises ALREADY_EXISTS for a second table of the same name and NOT_FOUND for an unknown one', () => {
      connection.createTable('table:t', 'key_format=S,value_format=S');
      expectError(() => connection.createTable('table:t', 'key_format=S,value_format=S'), SchemaError, ErrorCode.AlreadyExists);
      expectError(() => connection.getTable('table:nope'), SchemaError, ErrorCode.NotFound);
      expectError(() => connection.openSession().openCursor('table:nope'), SchemaError, ErrorCode.NotFound);
      expectError(() => connection.dropTable('table:nope'), SchemaError, ErrorCode.NotFound);
    });

    it('gives every table its own file id, never a reserved page-log id, also after drops and reopens', async () => {
      const seen = new Set<number>();
      const check = (c: Connection): void => {
        for (const table of c.listTables()) {
          expect([2, 10, 26], table.uri).to.not.include(table.id);
          expect(table.id).to.be.greaterThan(1);
        }
        const ids = c.listTables().map((t) => t.id);
        expect(new Set(ids).size).to.equal(ids.length);
      };
      for (let i = 0; i < 30; i++) connection.createTable(`table:t${i}`, 'key_format=S,value_format=S');
      for (const table of connection.listTables()) seen.add(table.id);
      check(connection);
      connection.dropTable('table:t29');
      connection.dropTable('table:t3');
      await connection.close();
      connection = await homes.open(home, { storage: storage as StorageMode });
      for (let i = 30; i < 34; i++) connection.createTable(`table:t${i}`, 'key_format=S,value_format=S');
      check(connection);
      expect(connection.listTables().length).to.equal(32);
    });

    it('drops a table with its data; a new table of the same name starts empty, also after reopen', async () => {
      connection.createTable('table:t', 'key_format=S,value_format=S');
      connection.openSession().openCursor('table:t').put('old', 'data');
      await connection.checkpoint();
      connection.dropTable('table:t');
      expect(connection.hasTable('table:t')).to.equal(false);
      connection.createTable('table:t', 'key_format=S,value_format=u');
      expect([...connection.openSession().openCursor('table:t').entries()]).to.deep.equal([]);
      connection.openSession().openCursor('table:t').put('new', Buffer.from('data'));
      await connection.close();
      connection = await homes.open(home, { storage: storage as StorageMode });
      expect(connection.getTable('table:t').valueFormat).to.equal('u');
      expect([...connection.openSession().openCursor('table:t').entries()]).to.deep.equal([['new', Buffer.from('data')]]);
    });

    it(`keeps ${storage === 'local' ? 'every table in its own .wt file' : 'shared tables in the page log and local ones in .wt files'}`, async () => {
      connection.createTable('table:shared_or_local', 'key_format=S,value_format=S');
      if (storage === 'disagg') connection.createTable('table:local_only', 'key_format=S,value_format=S', { shared: false });
      await connection.checkpoint();
      const table = connection.getTable('table:shared_or_local');
      expect(table.shared).to.equal(storage === 'disagg');
      expect(existsSync(join(home, 'shared_or_local.wt'))).to.equal(storage === 'local');
      if (storage === 'disagg') {
        expect(connection.getTable('table:local_only').shared).to.equal(false);
        expect(existsSync(join(home, 'local_only.wt'))).to.equal(true);
      } else {
        expectError(() => connection.createTable('table:x', 'key_format=S,value_format=S', { shared: true }), ConfigError, ErrorCode.ConfigInvalid);
      }
    });
  });
}

describe('schema: dropped local files', () => {
  const homes = testHomes();

  it('deletes a dropped table\'s file once a checkpoint without it is durable', async () => {
    const home = await homes.directory();
    const connection = await homes.open(home, { storage: 'local' });
    connection.createTable('table:t', 'key_format=S,value_format=S');
    await connection.checkpoint();
    connection.dropTable('table:t');
    expect(existsSync(join(home, 't.wt')), 'the last checkpoint still names it').to.equal(true);
    await connection.checkpoint();
    expect(existsSync(join(home, 't.wt'))).to.equal(false);
  });
});
