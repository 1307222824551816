import { expect } from 'chai';
import type { Connection, Session, StorageMode } from '../api.js';
import { EngineError, ErrorCode } from '../errors.js';
import { STORAGE_MODES, testHomes } from '../testing/homes.js';

/** Commits one write at `ts` (a null value removes). */
function commitAt(session: Session, ts: bigint, key: string, value: string | null): void {
  session.beginTransaction();
  const cursor = session.openCursor('table:t');
  if (value === null) cursor.remove(key);
  else cursor.put(key, value);
  session.commitTransaction({ commitTimestamp: ts });
}

for (const storage of STORAGE_MODES) {
  describe(`timestamps (${storage})`, () => {
    const homes = testHomes();
    let home: string;
    let connection: Connection;

    const reopen = async (): Promise<Connection> => {
      await connection.close();
      connection = await homes.open(home, { storage: storage as StorageMode });
      return connection;
    };

    beforeEach(async () => {
      home = await homes.directory();
      connection = await homes.open(home, { storage: storage as StorageMode });
      connection.createTable('table:t', 'key_format=S,value_format=S');
    });

    const contents = (c: Connection): Array<[unknown, unknown]> => [...c.openSession().openCursor('table:t').entries()];

    it('checkpoints the writes committed at or below the stable timestamp and not those above it', async () => {
      const session = connection.openSession();
      commitAt(session, 10n, 'a', 'a@10');
      commitAt(session, 20n, 'b', 'b@20');
      commitAt(session, 30n, 'c', 'c@30');
      commitAt(session, 25n, 'a', 'a@25');
      connection.setTimestamps({ stable: 20n });
      const info = await connection.checkpoint();
      expect(info.timestamp).to.equal(20n);
      // The running connection still sees the newest data.
      expect(contents(connection)).to.deep.equal([['a', 'a@25'], ['b', 'b@20'], ['c', 'c@30']]);
      // A crash now: the checkpoint is what a reopen returns. Copy nothing; closing would checkpoint,
      // so read the checkpoint through a read-only connection on the same files instead.
      const readOnly = await homes.open(home, { storage: storage as StorageMode, readOnly: true });
      expect(contents(readOnly)).to.deep.equal([['a', 'a@10'], ['b', 'b@20']]);
      expect(readOnly.stableTimestamp).to.equal(20n);
      await readOnly.close();
    });

    it('returns the data as of the stable timestamp after a reopen, removes and updates included', async () => {
      const session = connection.openSession();
      commitAt(session, 5n, 'keep', 'k@5');
      commitAt(session, 5n, 'drop', 'd@5');
      commitAt(session, 5n, 'change', 'c@5');
      connection.setTimestamps({ stable: 5n });
      await connection.checkpoint();
      commitAt(session, 10n, 'drop', null);
      commitAt(session, 11n, 'change', 'c@11');
      commitAt(session, 50n, 'change', 'c@50');
      commitAt(session, 60n, 'keep', null);
      commitAt(session, 70n, 'new', 'n@70');
      connection.setTimestamps({ stable: 40n });
      // close() takes a final checkpoint at the stable timestamp (40).
      const again = await reopen();
      expect(again.stableTimestamp).to.equal(40n);
      expect(contents(again)).to.deep.equal([['change', 'c@11'], ['keep', 'k@5']]);
    });

    it('leaves no stale record in a checkpoint when every record of a leaf visible at the stable timestamp was removed', async () => {
      const session = connection.openSession();
      const cursor = session.openCursor('table:t');
      cursor.put('k1', 'old');
      cursor.put('k2', 'old');
      await connection.checkpoint();
      commitAt(session, 100n, 'k1', null);
      commitAt(session, 100n, 'k2', null);
      commitAt(session, 200n, 'k3', 'k3@200');
      connection.setTimestamps({ stable: 150n });
      const again = await reopen();
      expect(contents(again)).to.deep.equal([]);
    });

    it('reads as of a transaction read timestamp', () => {
      const session = connection.openSession();
      commitAt(session, 10n, 'x', 'x@10');
      commitAt(session, 20n, 'x', 'x@20');
      commitAt(session, 30n, 'x', null);
      commitAt(session, 15n, 'y', 'y@15');
      const reader = connection.openSession();
      const cursor = reader.openCursor('table:t');
      for (const [ts, expected] of [[5n, []], [10n, [['x', 'x@10']]], [17n, [['x', 'x@10'], ['y', 'y@15']]], [25n, [['x', 'x@20'], ['y', 'y@15']]], [35n, [['y', 'y@15']]]] as const) {
        reader.beginTransaction({ readTimestamp: ts });
        expect([...cursor.entries()], `read at ${ts}`).to.deep.equal(expected);
        reader.rollbackTransaction();
      }
    });

    it('keeps untimestamped writes in every checkpoint whatever the stable timestamp', async () => {
      connection.setTimestamps({ stable: 10n });
      connection.openSession().openCursor('table:t').put('plain', 'write');
      const again = await reopen();
      expect(contents(again)).to.deep.equal([['plain', 'write']]);
    });

    it('rejects oldest above stable and timestamps moving backwards', () => {
      connection.setTimestamps({ stable: 50n, oldest: 40n });
      expect(() => connection.setTimestamps({ oldest: 60n })).to.throw(EngineError).with.property('code', ErrorCode.InvalidArgument);
      expect(() => connection.setTimestamps({ stable: 45n })).to.throw(EngineError).with.property('code', ErrorCode.InvalidArgument);
      expect(() => connection.setTimestamps({ oldest: 30n })).to.throw(EngineError).with.property('code', ErrorCode.InvalidArgument);
      expect(connection.stableTimestamp).to.equal(50n);
      expect(connection.oldestTimestamp).to.equal(40n);
    });

    it('checkpoints many keys at a stable timestamp in the middle of their history', async () => {
      const session = connection.openSession();
      const expected = new Map<string, string>();
      for (let round = 1; round <= 6; round++) {
        session.beginTransaction();
        const cursor = session.openCursor('table:t');
        for (let i = 0; i < 3_000; i++) {
          const key = `key${String(i).padStart(5, '0')}`;
          if ((i + round) % 5 === 0) cursor.remove(key);
          else cursor.put(key, `${key}@${round}`);
          if (round <= 3) {
            if ((i + round) % 5 === 0) expected.delete(key);
            else expected.set(key, `${key}@${round}`);
          }
        }
        session.commitTransaction({ commitTimestamp: BigInt(round * 10) });
      }
      connection.setTimestamps({ stable: 30n, oldest: 10n });
      const again = await reopen();
      expect(contents(again)).to.deep.equal([...expected].sort(([a], [b]) => (a < b ? -1 : 1)));
    });
  });
}
