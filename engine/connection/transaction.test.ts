import { expect } from 'chai';
import type { Connection, StorageMode } from '../api.js';
import { EngineError, ErrorCode } from '../errors.js';
import { STORAGE_MODES, testHomes } from '../testing/homes.js';

function expectCode(fn: () => unknown, code: string): EngineError {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(EngineError);
    expect((error as EngineError).code).to.equal(code);
    return error as EngineError;
  }
  return expect.fail(`expected an error with code ${code}`);
}

for (const storage of STORAGE_MODES) {
  describe(`transactions (${storage})`, () => {
    const homes = testHomes();
    let connection: Connection;

    beforeEach(async () => {
      connection = await homes.open(await homes.directory(), { storage: storage as StorageMode });
      connection.createTable('table:a', 'key_format=S,value_format=S');
      connection.createTable('table:b', 'key_format=q,value_format=u');
    });

    it('applies every write of a committed transaction, across tables', () => {
      const session = connection.openSession();
      const a = session.openCursor('table:a');
      const b = session.openCursor('table:b');
      a.put('gone', 'soon');
      session.beginTransaction();
      a.put('x', '1');
      a.put('y', '2');
      a.remove('gone');
      b.put(7n, Buffer.from('seven'));
      session.commitTransaction();
      const other = connection.openSession();
      expect([...other.openCursor('table:a').entries()]).to.deep.equal([['x', '1'], ['y', '2']]);
      expect(other.openCursor('table:b').get(7n)).to.deep.equal(Buffer.from('seven'));
    });

    it('applies nothing of a rolled-back transaction', () => {
      const session = connection.openSession();
      const a = session.openCursor('table:a');
      a.put('kept', 'yes');
      session.beginTransaction();
      a.put('x', '1');
      a.update('kept', 'changed');
      a.remove('kept');
      session.openCursor('table:b').put(1n, Buffer.from('one'));
      session.rollbackTransaction();
      expect(session.inTransaction).to.equal(false);
      expect([...a.entries()]).to.deep.equal([['kept', 'yes']]);
      expect([...session.openCursor('table:b').entries()]).to.deep.equal([]);
    });

    it('shows a transaction its own writes through get, scans, next and searchNear, and hides them from others', () => {
      const session = connection.openSession();
      const a = session.openCursor('table:a');
      for (const k of ['b', 'd', 'f']) a.put(k, k.toUpperCase());
      const observer = connection.openSession().openCursor('table:a');
      session.beginTransaction();
      a.put('c', 'C');
      a.put('d', 'D2');
      a.remove('f');
      expect(a.get('c')).to.equal('C');
      expect(a.get('f')).to.equal(undefined);
      expect([...a.entries()]).to.deep.equal([['b', 'B'], ['c', 'C'], ['d', 'D2']]);
      expect([...a.entries({ reverse: true, lt: 'd' })]).to.deep.equal([['c', 'C'], ['b', 'B']]);
      expect(a.searchNear('e')).to.deep.equal({ key: 'd', value: 'D2', exact: -1 });
      expect(a.searchNear('bb')).to.deep.equal({ key: 'c', value: 'C', exact: 1 });
      const walked: string[] = [];
      while (a.next()) walked.push(`${a.key}=${a.value}`);
      expect(walked).to.deep.equal(['b=B', 'c=C', 'd=D2']);
      expect([...observer.entries()]).to.deep.equal([['b', 'B'], ['d', 'D'], ['f', 'F']]);
      expect(observer.get('c')).to.equal(undefined);
      session.commitTransaction();
      expect([...observer.entries()]).to.deep.equal([['b', 'B'], ['c', 'C'], ['d', 'D2']]);
    });

    it('raises ALREADY_EXISTS for an insert of an existing key, also one the transaction wrote', () => {
      const session = connection.openSession();
      const a = session.openCursor('table:a');
      a.insert('k', 'v');
      expectCode(() => a.insert('k', 'again'), ErrorCode.AlreadyExists);
      expect(a.get('k')).to.equal('v');
      session.beginTransaction();
      a.insert('n', '1');
      expectCode(() => a.insert('n', '2'), ErrorCode.AlreadyExists);
      expectCode(() => a.insert('k', '2'), ErrorCode.AlreadyExists);
      a.remove('k');
      a.insert('k', 'reinserted');
      session.commitTransaction();
      expect([...a.entries()]).to.deep.equal([['k', 'reinserted'], ['n', '1']]);
    });

    it('keeps a transaction\'s writes whether their keys come in ascending order or not: each key once, newest value, found by get and scans, duplicates refused', () => {
      const session = connection.openSession();
      const b = session.openCursor('table:b');
      b.put(50n, Buffer.from('stored'));
      const key = (n: number): bigint => BigInt(n);
      // Ascending keys first (the writes are kept in key order), then keys before them and
      // rewrites of earlier ones (the writes move to a map), in both orders of the switch.
      for (const [round, order] of [[0, [10, 20, 30, 20, 30, 40, 45, 5, 20, 25, 10, 60]], [1, [3, 1, 2, 7, 7, 9, 8]]] as const) {
        const expected = new Map<bigint, string>(round === 0 ? [[50n, 'stored']] : [...b.entries()].map(([k, v]) => [k as bigint, (v as Buffer).toString()]));
        session.beginTransaction();
        order.forEach((n, index) => {
          const value = `r${round}-${index}`;
          if (expected.has(key(n))) {
            expectCode(() => b.insert(key(n), Buffer.from('duplicate')), ErrorCode.AlreadyExists);
            b.put(key(n), Buffer.from(value));
          } else {
            b.insert(key(n), Buffer.from(value));
          }
          expected.set(key(n), value);
          for (const [k, v] of expected) expect((b.get(k) as Buffer).toString(), `get ${k} after write ${index}`).to.equal(v);
          expect([...b.entries()].map(([k, v]) => [k, (v as Buffer).toString()]), `scan after write ${index}`)
            .to.deep.equal([...expected].sort((x, y) => Number(x[0] - y[0])));
          expect([...b.entries({ reverse: true, lt: 45n })].map(([k]) => k)).to.deep.equal([...expected.keys()].filter((k) => k < 45n).sort((x, y) => Number(y - x)));
        });
        expect(b.remove(key(order[0]!))).to.equal(true);
        expected.delete(key(order[0]!));
        session.commitTransaction();
        const reader = connection.openSession().openCursor('table:b');
        expect([...reader.entries()].map(([k, v]) => [k, (v as Buffer).toString()])).to.deep.equal([...expected].sort((x, y) => Number(x[0] - y[0])));
      }
    });

    it('fails the commit with ALREADY_EXISTS and applies nothing when another session inserted the key first', () => {
      const first = connection.openSession();
      const second = connection.openSession();
      first.beginTransaction();
      first.openCursor('table:a').insert('race', 'first');
      first.openCursor('table:a').put('other', 'first');
      second.openCursor('table:a').insert('race', 'second');
      expectCode(() => first.commitTransaction(), ErrorCode.AlreadyExists);
      expect(first.inTransaction).to.equal(false);
      const reader = connection.openSession().openCursor('table:a');
      expect([...reader.entries()]).to.deep.equal([['race', 'second']]);
    });

    it('raises NOT_FOUND for an update of a missing key and returns false for a remove of one', () => {
      const a = connection.openSession().openCursor('table:a');
      expectCode(() => a.update('missing', 'v'), ErrorCode.NotFound);
      expect(a.remove('missing')).to.equal(false);
      expect([...a.entries()]).to.deep.equal([]);
    });

    it('rejects a nested begin and a commit or rollback without a transaction', () => {
      const session = connection.openSession();
      session.beginTransaction();
      expect(() => session.beginTransaction()).to.throw(EngineError);
      session.rollbackTransaction();
      expect(() => session.commitTransaction()).to.throw(EngineError);
      expect(() => session.rollbackTransaction()).to.throw(EngineError);
    });

    it('rejects a commit timestamp at or below the stable timestamp and applies nothing', () => {
      connection.setTimestamps({ stable: 100n });
      const session = connection.openSession();
      session.beginTransaction();
      session.openCursor('table:a').put('late', 'x');
      expectCode(() => session.commitTransaction({ commitTimestamp: 100n }), ErrorCode.InvalidArgument);
      expect(connection.openSession().openCursor('table:a').get('late')).to.equal(undefined);
    });

    it('forgets closed cursors, so a long-lived session opening a cursor per request does not grow', () => {
      const session = connection.openSession();
      for (let i = 0; i < 1_000; i++) {
        const cursor = session.openCursor('table:a');
        cursor.put(`k${i}`, 'v');
        cursor.close();
      }
      const open = session.openCursor('table:a');
      expect((session as unknown as { cursors: Set<unknown> }).cursors.size).to.equal(1);
      session.close();
      expect(() => open.get('k1')).to.throw(EngineError).with.property('code', ErrorCode.Closed);
    });

    it('drops the uncommitted writes of a closed session', async () => {
      const session = connection.openSession();
      session.beginTransaction();
      session.openCursor('table:a').put('never', 'committed');
      session.close();
      expect(connection.openSession().openCursor('table:a').get('never')).to.equal(undefined);
    });

    it('keeps uncommitted writes out of a checkpoint and out of the home after reopen', async () => {
      const home = connection.home;
      const session = connection.openSession();
      session.openCursor('table:a').put('durable', 'yes');
      session.beginTransaction();
      session.openCursor('table:a').put('pending', 'no');
      await connection.checkpoint();
      session.rollbackTransaction();
      await connection.close();
      const again = await homes.open(home, { storage: storage as StorageMode });
      expect([...again.openSession().openCursor('table:a').entries()]).to.deep.equal([['durable', 'yes']]);
    });
  });
}
