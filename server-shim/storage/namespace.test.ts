import { expect } from 'chai';
import { CommandError } from '../errors/index.js';
import { checkNamespace, parseNamespace, tableUriFor } from './namespace.js';

describe('storage: namespaces', () => {
  it('maps a namespace to its table URI', () => {
    expect(tableUriFor(checkNamespace('app', 'users.archive'))).to.equal('table:app.users.archive');
    expect(parseNamespace('local.oplog.rs')).to.deep.equal({ db: 'local', collection: 'oplog.rs' });
  });

  const invalid: [string, string, string][] = [
    ['a slash in the collection', 'db', 'a/b'],
    ['a backslash in the collection', 'db', 'a\\b'],
    ['.. in the collection', 'db', 'a..b'],
    ['a leading dot', 'db', '.hidden'],
    ['NUL in the collection', 'db', 'a\0b'],
    ['$ in the collection', 'db', 'a$b'],
    ['an empty collection', 'db', ''],
    ['a dot in the database', 'd.b', 'c'],
    ['a slash in the database', 'd/b', 'c'],
    ['an absolute path as the database', '/etc', 'passwd'],
    ['an empty database', '', 'c'],
    ['a database named like the engine files', 'WiredTigerHS', 'c'],
    ['a namespace too long for a table name', 'db', 'x'.repeat(300)],
  ];
  for (const [name, db, collection] of invalid) {
    it(`refuses ${name} with InvalidNamespace (73)`, () => {
      expect(() => checkNamespace(db, collection)).to.throw(CommandError).with.property('code', 73);
    });
  }
});
