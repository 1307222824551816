import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Connection, StorageMode } from '../api.js';
import { ConfigError, EngineError, ErrorCode, SchemaError } from '../errors.js';
import { latestCheckpoint, parseConfig } from '../format/index.js';
import { FIXTURES } from '../verify/testing.js';
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
      // WiredTiger repeats a table's columns in its column group and file entries.
      expect(entry('file:named.wt')).to.contain(',columns=(name,city,count),').and.contain(',tiered_storage=(auth_token=,');
      expect(entry('colgroup:named')).to.contain(',columns=(name,city,count),');
      const error = expectError(() => connection.createTable('table:t', 'key_format=S,value_format=S,columns=(a,b,c)'), ConfigError, ErrorCode.ConfigInvalid);
      expect(error.location.key).to.equal('columns');
      expectError(() => connection.createTable('table:t', 'key_format=S,value_format=S,columns=(a,a)'), ConfigError, ErrorCode.ConfigInvalid);
      await connection.close();
      connection = await homes.open(home, { storage: storage as StorageMode });
      expect(entry('table:named')).to.contain('columns=(name,city,count),');
    });

    it('records the log setting the table has: journaled local tables log=(enabled=true), shared tables false; refuses a create asking for the other', () => {
      const entry = (key: string): string => (connection as ConnectionImpl).metadataEntries().find((e) => e.key === key)!.value;
      const shared = storage === 'disagg';
      connection.createTable('table:t', 'key_format=S,value_format=S');
      expect(entry('file:t.wt')).to.contain(`,log=(enabled=${!shared}),`);
      connection.createTable('table:asked', `key_format=S,value_format=S,log=(enabled=${!shared})`);
      expect(entry('file:asked.wt')).to.contain(`,log=(enabled=${!shared}),`);
      const error = expectError(() => connection.createTable('table:other', `key_format=S,value_format=S,log=(enabled=${shared})`), ConfigError, ErrorCode.ConfigInvalid);
      expect(error.location.key).to.equal('log');
      expect(connection.hasTable('table:other')).to.equal(false);
    });

    it('records leaf_key_max and leaf_value_max as given, 0 when not configured', () => {
      const entry = (key: string): string => (connection as ConnectionImpl).metadataEntries().find((e) => e.key === key)!.value;
      connection.createTable('table:limits', 'key_format=S,value_format=S,leaf_key_max=1KB,leaf_value_max=8KB');
      connection.createTable('table:defaults', 'key_format=S,value_format=S');
      expect(entry('file:limits.wt')).to.contain(',leaf_key_max=1KB,').and.contain(',leaf_value_max=8KB,');
      expect(entry('file:defaults.wt')).to.contain(',leaf_key_max=0,').and.contain(',leaf_value_max=0,');
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

describe('schema entries beside WiredTiger\'s', () => {
  const homes = testHomes();

  /** The entries `wt list -v` printed for a fixture home, by key. */
  function fixtureEntries(name: string): Map<string, string> {
    const lines = readFileSync(join(FIXTURES, name, 'expected', 'list-v.txt'), 'utf8').split('\n');
    const entries = new Map<string, string>();
    for (let i = 0; i + 1 < lines.length; i += 2) entries.set(lines[i]!, lines[i + 1]!);
    return entries;
  }

  it('writes the file, column group and table entries of a create, and the history store\'s, with every key and value WiredTiger wrote for them', async () => {
    const home = await homes.directory();
    const connection = await homes.open(home, { storage: 'local' });
    // The fixture's create call (FIXTURES README): a table of strings with the default settings.
    connection.createTable('table:strings', 'key_format=S,value_format=S');
    connection.openSession().openCursor('table:strings').insert('key000000', 'abcdefgh');
    await connection.checkpoint();
    const ours = new Map((connection as ConnectionImpl).metadataEntries().map((e) => [e.key, e.value]));
    const theirs = fixtureEntries('small');
    for (const key of ['table:strings', 'colgroup:strings', 'file:strings.wt', 'file:WiredTigerHS.wt']) {
      const mine = parseConfig(ours.get(key)!);
      const wiredTiger = parseConfig(theirs.get(key)!);
      expect(mine.map((e) => e.key), key).to.deep.equal(wiredTiger.map((e) => e.key));
      for (const entry of wiredTiger) {
        const engine = mine.find((e) => e.key === entry.key)!.raw;
        // The file id depends on what else the home holds; the checkpoint on when it ran.
        // `version` is 1.1, which every WiredTiger build opens (standalone builds write 2.1).
        if (entry.key === 'id' || entry.key === 'checkpoint') continue;
        if (entry.key === 'version') {
          expect(engine).to.equal('(major=1,minor=1)');
          continue;
        }
        expect(engine, `${key} ${entry.key}`).to.equal(entry.raw);
      }
    }
    const ourCheckpoint = latestCheckpoint(ours.get('file:strings.wt')!)!;
    const theirCheckpoint = latestCheckpoint(theirs.get('file:strings.wt')!)!;
    // One leaf and its root, a block each: the checkpoint's size as WiredTiger counts it.
    expect(ourCheckpoint.size).to.equal(theirCheckpoint.size);
  });
});
