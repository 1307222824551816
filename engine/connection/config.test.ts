import { existsSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Connection, Item, StorageMode } from '../api.js';
import { ConfigError, EngineError, ErrorCode, SchemaError } from '../errors.js';
import { openConnection } from '../index.js';
import { STORAGE_MODES, testHomes } from '../testing/homes.js';
import { engineFailure } from '../testing/failures.js';

describe('connection options', () => {
  const homes = testHomes();

  it('raises CONFIG_UNKNOWN_KEY naming an unknown option, and writes nothing', async () => {
    const home = await homes.directory();
    const error = await engineFailure(() => openConnection(home, { storage: 'local', cacheSzie: 1 } as never));
    expect(error).to.be.instanceOf(ConfigError);
    expect(error.code).to.equal(ErrorCode.ConfigUnknownKey);
    expect(error.location.key).to.equal('cacheSzie');
  });

  for (const [label, options, key] of [
    ['a cache under 1 MB', { cacheSize: 1000 }, 'cacheSize'],
    ['a cache size that is not a number', { cacheSize: '8MB' }, 'cacheSize'],
    ['an unknown storage mode', { storage: 'cloud' }, 'storage'],
  ] as const) {
    it(`raises ConfigError naming the option for ${label}`, async () => {
      const error = await engineFailure(() => openConnection(nowhere(), options as never));
      expect(error).to.be.instanceOf(ConfigError);
      expect(error.code).to.equal(ErrorCode.ConfigInvalid);
      expect(error.location.key).to.equal(key);
    });
  }

  /** Option checks come first: the home is never touched. */
  function nowhere(): string {
    return '/nonexistent/never-created';
  }
});

for (const storage of STORAGE_MODES) {
  describe(`value types (${storage})`, () => {
    const homes = testHomes();
    let connection: Connection;

    beforeEach(async () => {
      connection = await homes.open(await homes.directory(), { storage: storage as StorageMode });
    });

    const cases: Array<[string, string, Item, Item]> = [
      ['key_format=S,value_format=S', 'a number key in an S table', 42, 'v'],
      ['key_format=S,value_format=S', 'a Buffer value in an S table', 'k', Buffer.from('v')],
      ['key_format=S,value_format=u', 'a string value in a u table', 'k', 'v'],
      ['key_format=q,value_format=S', 'a string key in a q table', 'k', 'v'],
      ['key_format=q,value_format=S', 'a fractional key in a q table', 1.5, 'v'],
      ['key_format=q,value_format=S', 'a key above the q range', 2n ** 63n, 'v'],
      ['key_format=Q,value_format=S', 'a negative key in a Q table', -1n, 'v'],
      ['key_format=S,value_format=i', 'a value above the i range', 'k', 2 ** 31],
      ['key_format=S,value_format=SS', 'one item for a two-column value', 'k', 'v'],
      ['key_format=S,value_format=Su', 'a two-column value with a wrong column', 'k', ['v', 'not a buffer']],
    ];
    for (const [format, label, key, value] of cases) {
      it(`raises TYPE_MISMATCH for ${label}, and stores nothing`, () => {
        connection.createTable('table:t', format);
        const cursor = connection.openSession().openCursor('table:t');
        for (const write of [() => cursor.put(key, value), () => cursor.insert(key, value)]) {
          try {
            write();
            expect.fail('expected TYPE_MISMATCH');
          } catch (error) {
            expect(error).to.be.instanceOf(SchemaError);
            expect((error as EngineError).code).to.equal(ErrorCode.TypeMismatch);
          }
        }
        expect([...cursor.entries()]).to.deep.equal([]);
      });
    }

    it('raises TYPE_MISMATCH for a read with a key of the wrong type', () => {
      connection.createTable('table:t', 'key_format=q,value_format=S');
      const cursor = connection.openSession().openCursor('table:t');
      expect(() => cursor.get('1')).to.throw(SchemaError).with.property('code', ErrorCode.TypeMismatch);
      expect(() => [...cursor.entries({ gte: 'a' })]).to.throw(SchemaError).with.property('code', ErrorCode.TypeMismatch);
      expect(() => cursor.searchNear(Buffer.from('x'))).to.throw(SchemaError).with.property('code', ErrorCode.TypeMismatch);
    });

    it('raises INVALID_ARGUMENT for an S item holding NUL', () => {
      connection.createTable('table:t', 'key_format=S,value_format=S');
      expect(() => connection.openSession().openCursor('table:t').put('a\0b', 'v')).to.throw(SchemaError).with.property('code', ErrorCode.InvalidArgument);
    });

    it('round-trips every supported format through a checkpoint and reopen', async () => {
      connection.createTable('table:t', 'key_format=qS,value_format=biHQuS');
      const cursor = connection.openSession().openCursor('table:t');
      const rows: Array<[Item, Item]> = [
        [[-5n, 'neg'], [-128, -(2 ** 31), 65535, 2n ** 64n - 1n, Buffer.from([0, 1, 2]), 'last']],
        [[0n, ''], [0, 0, 0, 0n, Buffer.alloc(0), '']],
        [[7n, 'x'], [127, 2 ** 31 - 1, 1, 1n, Buffer.from('bytes'), 'ünïcode']],
      ];
      for (const [k, v] of rows) cursor.put(k, v);
      const home = connection.home;
      await connection.close();
      const again = await homes.open(home, { storage: storage as StorageMode });
      expect([...again.openSession().openCursor('table:t').entries()]).to.deep.equal(rows);
    });
  });
}

describe('storage mode of an existing home', () => {
  const homes = testHomes();

  it('refuses to open a home with shared tables as local, rather than show it without them', async () => {
    const home = await homes.directory();
    const connection = await openConnection(home, { storage: 'disagg' });
    connection.createTable('table:t', 'key_format=S,value_format=S');
    connection.openSession().openCursor('table:t').put('k', 'v');
    await connection.close();
    const error = await engineFailure(() => openConnection(home, { storage: 'local' }));
    expect(error).to.be.instanceOf(ConfigError);
    expect(error.location.key).to.equal('storage');
    const again = await homes.open(home, { storage: 'disagg' });
    expect(again.openSession().openCursor('table:t').get('k')).to.equal('v');
  });
});

describe('connections sharing a home', () => {
  const homes = testHomes();

  for (const storage of STORAGE_MODES) {
    it(`refuses a second writable connection on an open home with BUSY, and allows read-only ones (${storage})`, async () => {
      const home = await homes.directory();
      const first = await homes.open(home, { storage });
      first.createTable('table:t', 'key_format=S,value_format=S');
      first.openSession().openCursor('table:t').put('a', '1');
      await first.checkpoint();
      const error = await engineFailure(() => openConnection(home, { storage }));
      expect(error.code).to.equal(ErrorCode.Busy);
      const reader = await openConnection(home, { storage, readOnly: true });
      expect(reader.openSession().openCursor('table:t').get('a')).to.equal('1');
      await reader.close();
      await first.close();
      // Once the first is closed, the home opens for writing again.
      const again = await homes.open(home, { storage });
      expect(again.openSession().openCursor('table:t').get('a')).to.equal('1');
    });
  }
});

describe('a failed open', () => {
  const homes = testHomes();
  const openFiles = (): number => readdirSync(existsSync('/proc/self/fd') ? '/proc/self/fd' : '/dev/fd').length;

  for (const storage of STORAGE_MODES) {
    it(`releases every file it had opened (${storage})`, async () => {
      const home = await homes.directory();
      const connection = await openConnection(home, { storage });
      connection.createTable('table:t', 'key_format=S,value_format=S', storage === 'disagg' ? { shared: false } : {});
      connection.createTable('table:s', 'key_format=S,value_format=S');
      await connection.close();
      renameSync(join(home, 't.wt'), join(home, 't.wt.moved'));
      const before = openFiles();
      for (let i = 0; i < 5; i++) {
        const error = await engineFailure(() => openConnection(home, { storage }));
        expect(error.code).to.equal(ErrorCode.MissingFile);
      }
      expect(openFiles()).to.equal(before);
      renameSync(join(home, 't.wt.moved'), join(home, 't.wt'));
      await homes.open(home, { storage });
    });
  }
});
