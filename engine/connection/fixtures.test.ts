import { createHash } from 'node:crypto';
import { chmodSync, cpSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Connection, Item } from '../api.js';
import { EngineError, ErrorCode } from '../errors.js';
import { escapeForDump, ItemFormat } from '../format/index.js';
import { openConnection } from '../index.js';
import { parseDump, unescapeDump } from '../testing/dump.js';
import { testHomes } from '../testing/homes.js';
import { collectReport, verifyHome } from '../verify/index.js';

const fixturesRoot = join(process.cwd(), '..', 'shared', 'fixtures', 'wiredtiger-12.0.0');
const FIXTURES = ['small', 'multilevel', 'records'];

/** Name, size, modification time and content hash of every file: proof that nothing was written. */
function snapshot(directory: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(directory).sort()) {
    const path = join(directory, name);
    const stat = statSync(path);
    out[name] = `${stat.size} ${stat.mtimeMs} ${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
  }
  return out;
}

/** The stored bytes of an item, escaped as `wt dump` prints them. */
function printed(format: ItemFormat, item: Item): string {
  return escapeForDump(format.pack(item));
}

describe('WiredTiger-written homes (read-only)', () => {
  for (const name of FIXTURES) {
    describe(name, () => {
      const home = join(fixturesRoot, name, 'home');
      const dump = parseDump(readFileSync(join(fixturesRoot, name, 'expected', 'dump.txt'), 'utf8'));
      let connection: Connection;
      let original: Record<string, string>;

      before(async () => {
        original = snapshot(home);
        connection = await openConnection(home, { readOnly: true, storage: 'local' });
      });

      after(async () => {
        await connection?.close();
      });

      it('lists the one table the dump names, with its formats', () => {
        const tables = connection.listTables();
        expect(tables.map((t) => t.uri)).to.deep.equal([dump.uri]);
        const keyFormat = /(?:^|,)key_format=([^,]*)/.exec(dump.config)![1];
        const valueFormat = /(?:^|,)value_format=([^,]*)/.exec(dump.config)![1];
        expect(tables[0]!.keyFormat).to.equal(keyFormat);
        expect(tables[0]!.valueFormat).to.equal(valueFormat);
        expect(tables[0]!.shared).to.equal(false);
      });

      it('returns exactly the records of expected/dump.txt from a full cursor scan', () => {
        const table = connection.getTable(dump.uri);
        const keys = new ItemFormat(table.keyFormat);
        const values = new ItemFormat(table.valueFormat);
        const cursor = connection.openSession().openCursor(dump.uri);
        const scanned = [...cursor.entries()].map(([k, v]) => [printed(keys, k), printed(values, v)]);
        expect(scanned.length).to.equal(dump.records.length);
        expect(scanned).to.deep.equal(dump.records);
      });

      it('returns the same records in reverse, and with next() and prev()', () => {
        const cursor = connection.openSession().openCursor(dump.uri);
        const forward = [...cursor.entries()];
        expect([...cursor.entries({ reverse: true })]).to.deep.equal([...forward].reverse());
        const stepped: Array<[Item, Item]> = [];
        while (cursor.next()) stepped.push([cursor.key, cursor.value]);
        expect(stepped).to.deep.equal(forward);
        const back: Array<[Item, Item]> = [];
        while (cursor.prev()) back.push([cursor.key, cursor.value]);
        expect(back).to.deep.equal([...forward].reverse());
      });

      it('finds every dumped record by point lookup', () => {
        const table = connection.getTable(dump.uri);
        const keys = new ItemFormat(table.keyFormat);
        const values = new ItemFormat(table.valueFormat);
        const cursor = connection.openSession().openCursor(dump.uri);
        for (const [key, value] of dump.records) {
          const found = cursor.get(keys.unpack(unescapeDump(key)));
          expect(found, `key ${key}`).to.not.equal(undefined);
          expect(printed(values, found!), `key ${key}`).to.equal(value);
        }
      });

      it('refuses writes and checkpoints with READ_ONLY', async () => {
        const table = connection.getTable(dump.uri);
        const cursor = connection.openSession().openCursor(dump.uri);
        const [firstKey] = [...cursor.entries()][0]!;
        const anyValue = table.valueFormat === 'u' ? Buffer.from('x') : 'x';
        expect(() => cursor.put(firstKey, anyValue)).to.throw(EngineError).with.property('code', ErrorCode.ReadOnly);
        expect(() => connection.createTable('table:other', 'key_format=S,value_format=S')).to.throw(EngineError).with.property('code', ErrorCode.ReadOnly);
        let failure: unknown;
        try {
          await connection.checkpoint();
        } catch (error) {
          failure = error;
        }
        expect(failure).to.be.instanceOf(EngineError).with.property('code', ErrorCode.ReadOnly);
      });

      it('leaves every file of the home untouched, also after close', async () => {
        expect(snapshot(home)).to.deep.equal(original);
        const again = await openConnection(home, { readOnly: true, storage: 'local' });
        await again.close();
        expect(snapshot(home)).to.deep.equal(original);
      });
    });
  }

  describe('copies opened for writing', () => {
    const homes = testHomes();

    for (const name of FIXTURES) {
      it(`writes to a copy of ${name}, checkpoints and reads the changes back, overflow items and a new table included`, async () => {
        const home = await homes.directory();
        cpSync(join(fixturesRoot, name, 'home'), home, { recursive: true });
        // The fixtures are read-only files; the copy must be writable.
        chmodSync(home, 0o755);
        for (const file of readdirSync(home)) chmodSync(join(home, file), 0o644);
        const dump = parseDump(readFileSync(join(fixturesRoot, name, 'expected', 'dump.txt'), 'utf8'));
        const connection = await homes.open(home, { storage: 'local' });
        const table = connection.getTable(dump.uri);
        const keys = new ItemFormat(table.keyFormat);
        const values = new ItemFormat(table.valueFormat);
        const cursor = connection.openSession().openCursor(dump.uri);
        const expected = new Map(dump.records);
        const [firstKey] = dump.records[0]!;
        cursor.remove(keys.unpack(unescapeDump(firstKey)));
        expected.delete(firstKey);
        const newKey = table.keyFormat === 'q' ? 100_000n : 'zzz new key';
        const newValue = table.valueFormat === 'u' ? Buffer.from('new value') : 'new value';
        cursor.put(newKey, newValue);
        expected.set(printed(keys, newKey), printed(values, newValue));
        // Items above WiredTiger's inline limits: an overflow value over a record WiredTiger
        // wrote, and (for string keys) an overflow key.
        const large = (fill: string): string | Buffer => (table.valueFormat === 'u' ? Buffer.alloc(20_000, fill) : fill.repeat(20_000));
        const [secondKey] = dump.records[1]!;
        cursor.put(keys.unpack(unescapeDump(secondKey)), large('L'));
        expected.set(secondKey, printed(values, large('L')));
        if (table.keyFormat === 'S') {
          const longKey = 'k'.repeat(5_000);
          cursor.put(longKey, large('M'));
          expected.set(printed(keys, longKey), printed(values, large('M')));
        }
        connection.createTable('table:extra', 'key_format=S,value_format=S');
        connection.openSession().openCursor('table:extra').put('x', 'y');
        expect(connection.getTable('table:extra').id).to.not.equal(table.id);
        await connection.close();

        const again = await homes.open(home, { storage: 'local' });
        const scanned = [...again.openSession().openCursor(dump.uri).entries()].map(([k, v]) => [printed(keys, k), printed(values, v)]);
        expect(scanned).to.deep.equal([...expected].sort(([a], [b]) => Buffer.compare(unescapeDump(a), unescapeDump(b))));
        expect(again.openSession().openCursor('table:extra').get('x')).to.equal('y');
        await again.close();
        const report = await collectReport(verifyHome(home));
        expect(report.findings.filter((f) => f.severity === 'error')).to.deep.equal([]);
      });
    }
  });

  it('returns record ids of the key_format=q table as bigint, with record 7 removed and record 8 overwritten', async () => {
    const connection = await openConnection(join(fixturesRoot, 'records', 'home'), { readOnly: true, storage: 'local' });
    try {
      const cursor = connection.openSession().openCursor('table:records');
      const keys = [...cursor.entries()].map(([k]) => k);
      expect(keys.every((k) => typeof k === 'bigint')).to.equal(true);
      expect(keys.length).to.equal(499);
      expect(keys[0]).to.equal(1n);
      expect(keys[keys.length - 1]).to.equal(500n);
      expect(cursor.get(7n)).to.equal(undefined);
      expect(cursor.get(8n)).to.deep.equal(Buffer.from('overwritten'));
      // Record 9: 8 + (9 % 40) bytes, byte j = (9*31 + j*7) & 0xff.
      const nine = Buffer.from(Array.from({ length: 17 }, (_, j) => (9 * 31 + j * 7) & 0xff));
      expect(cursor.get(9n)).to.deep.equal(nine);
      expect(cursor.searchNear(7n)).to.deep.include({ exact: 1, key: 8n });
    } finally {
      await connection.close();
    }
  });

  it('reads the 20,000 records of the multilevel home in key order across its leaves', async () => {
    const connection = await openConnection(join(fixturesRoot, 'multilevel', 'home'), { readOnly: true, storage: 'local' });
    try {
      const cursor = connection.openSession().openCursor('table:strings');
      let i = 0;
      for (const [key, value] of cursor.entries()) {
        expect(key).to.equal(`key${String(i).padStart(6, '0')}`);
        const letters = Array.from({ length: 100 }, (_, j) => String.fromCharCode(97 + ((i + j) % 26))).join('');
        expect(value).to.equal(letters);
        i++;
      }
      expect(i).to.equal(20_000);
      expect([...cursor.entries({ gte: 'key012345', lt: 'key012348' })].map(([k]) => k)).to.deep.equal(['key012345', 'key012346', 'key012347']);
    } finally {
      await connection.close();
    }
  });
});
