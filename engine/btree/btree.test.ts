import { expect } from 'chai';
import type { Connection, Cursor, Item, StorageMode } from '../api.js';
import { ConnectionImpl } from '../connection/index.js';
import { expectSameEntries } from '../testing/expect_entries.js';
import { STORAGE_MODES, testHomes } from '../testing/homes.js';
import { SortedModel, compareKeys } from '../testing/model.js';
import { seededRandom, testSeed } from '../testing/random.js';

/** Small pages so a few thousand records already make a tree several levels deep. */
const SMALL_PAGES = 'allocation_size=512B,leaf_page_max=1KB,internal_page_max=512B';

const keyOf = (i: number): string => `key${String(i).padStart(8, '0')}`;

function scan(cursor: Cursor, range: Parameters<Cursor['entries']>[0] = {}): Array<[Item, Item]> {
  return [...cursor.entries(range)];
}

for (const storage of STORAGE_MODES) {
  describe(`btree (${storage})`, function () {
    this.timeout(120_000);
    const homes = testHomes();
    let home: string;
    let connection: Connection | undefined;

    const open = async (): Promise<Connection> => {
      connection = await homes.open(home, { storage: storage as StorageMode });
      return connection;
    };

    beforeEach(async () => {
      home = await homes.directory();
      connection = undefined;
    });

    async function reopen(): Promise<Connection> {
      await connection!.close();
      return open();
    }

    // Default pages: a root over a few hundred leaves. Small pages: a tree four or five levels deep.
    for (const [label, config, count] of [['default pages', '', 200_000], ['small pages', `,${SMALL_PAGES}`, 50_000]] as const) {
      it(`keeps ${count.toLocaleString('en')} records inserted in random order, with deletes, in key order forward and reverse (${label})`, async () => {
        const seed = testSeed();
        const random = seededRandom(seed);
        const c = await open();
        c.createTable('table:t', `key_format=S,value_format=S${config}`);
        const cursor = c.openSession().openCursor('table:t');
        const model = new SortedModel();
        const order = random.shuffle(Array.from({ length: count }, (_, i) => i));
        for (const i of order) {
          const value = `v${i}-${'x'.repeat(random.below(40))}`;
          cursor.insert(keyOf(i), value);
          model.set(keyOf(i), value);
        }
        for (const i of random.shuffle(order).slice(0, count / 4)) {
          expect(cursor.remove(keyOf(i)), `seed ${seed}`).to.equal(true);
          model.delete(keyOf(i));
        }
        const sorted = model.sorted();
        const check = (cur: Cursor): void => {
          expectSameEntries(scan(cur), sorted, `seed ${seed}`);
          expectSameEntries(scan(cur, { reverse: true }), [...sorted].reverse(), `seed ${seed}, reverse`);
        };
        check(cursor);
        await c.checkpoint();
        check(cursor);
        const again = await reopen();
        check(again.openSession().openCursor('table:t'));
      });
    }

    it('packs the leaves appends leave behind once no reader needs their older versions, and reads, evicts, checkpoints and reopens them unchanged', async () => {
      const value = (i: number): string => `v${i}`.padEnd(100, '.');
      const count = 20_000;
      const dataBytes = count * (keyOf(0).length + 1 + 101);
      // Each commit moves the oldest timestamp to itself, as a server moves it behind its writes.
      const load = (c: Connection, from: number, to: number, moveOldest: boolean): void => {
        const session = c.openSession();
        const cursor = session.openCursor('table:t');
        for (let i = from; i < to; i++) {
          session.beginTransaction();
          cursor.insert(keyOf(i), value(i));
          session.commitTransaction({ commitTimestamp: BigInt(i + 1) });
          c.setTimestamps(moveOldest ? { stable: BigInt(i + 1), oldest: BigInt(i + 1) } : { stable: BigInt(i + 1) });
        }
      };
      const expectAll = (c: Connection, upTo: number, label: string): void => {
        const cursor = c.openSession().openCursor('table:t');
        expectSameEntries(scan(cursor), Array.from({ length: upTo }, (_, i) => [keyOf(i), value(i)] as [Item, Item]), label);
        for (let i = 0; i < upTo; i += 997) expect(cursor.get(keyOf(i)), `${label}: get ${i}`).to.equal(value(i));
      };

      // A cache large enough for everything: packed, the records take about their own bytes.
      const roomy = await homes.open(home, { storage: storage as StorageMode, cacheSize: 256 * 1024 * 1024 });
      roomy.createTable('table:t', 'key_format=S,value_format=S');
      load(roomy, 0, count, true);
      const packedBytes = roomy.cacheStats().bytes;
      expect(packedBytes, 'bytes in the cache').to.be.below(dataBytes * 1.25);
      expectAll(roomy, count, 'packed');
      await roomy.close();

      // A reader holds the oldest timestamp back: later records keep their versions, unpacked.
      home = await homes.directory();
      const held = await homes.open(home, { storage: storage as StorageMode, cacheSize: 256 * 1024 * 1024 });
      held.createTable('table:t', 'key_format=S,value_format=S');
      load(held, 0, 1_000, true);
      load(held, 1_000, count, false);
      expect(held.cacheStats().bytes, 'bytes with versions kept').to.be.above(dataBytes * 2);
      const reader = held.openSession();
      reader.beginTransaction({ readTimestamp: 1_000n });
      expectSameEntries(scan(reader.openCursor('table:t')), Array.from({ length: 1_000 }, (_, i) => [keyOf(i), value(i)] as [Item, Item]), 'as of 1000');
      reader.rollbackTransaction();
      const heldBytes = held.cacheStats().bytes;
      held.setTimestamps({ oldest: BigInt(count) });
      load(held, count, count + 1_000, true);
      // The last leaves split while the reader held on are packed now; a checkpoint packs the rest.
      expect(held.cacheStats().bytes, 'bytes once the oldest timestamp moved').to.be.below(heldBytes);
      expectAll(held, count + 1_000, 'once the oldest timestamp moved');
      await held.checkpoint();
      expect(held.cacheStats().bytes, 'bytes after a checkpoint').to.be.below((count + 1_000) * (keyOf(0).length + 1 + 101) * 1.25);
      expectAll(held, count + 1_000, 'after a checkpoint');
      await held.close();

      // A cache a quarter of the data: packed leaves still unwritten are written by eviction.
      home = await homes.directory();
      const small = await homes.open(home, { storage: storage as StorageMode, cacheSize: 1024 * 1024 });
      small.createTable('table:t', 'key_format=S,value_format=S');
      load(small, 0, count, true);
      expect(small.cacheStats().dirtyEvictions, 'leaves written by eviction').to.be.greaterThan(0);
      expectAll(small, count, 'after eviction');
      await small.checkpoint();
      expectAll(small, count, 'after a checkpoint');
      connection = small;
      expectAll(await reopen(), count, 'after a reopen');
    });

    it('packs appended leaves once an oldest timestamp lagging behind the writes passes them, with empty values and removes, and every read agrees', async () => {
      const c = await homes.open(home, { storage: storage as StorageMode, cacheSize: 256 * 1024 * 1024 });
      connection = c;
      c.createTable('table:t', 'key_format=S,value_format=u');
      const session = c.openSession();
      const cursor = session.openCursor('table:t');
      const model = new Map<string, Buffer>();
      const count = 12_000;
      const lag = 600;
      let ts = 0n;
      let oldest = 0n;
      const commit = (write: () => void): void => {
        session.beginTransaction();
        write();
        ts += 1n;
        session.commitTransaction({ commitTimestamp: ts });
        if (ts - BigInt(lag) > oldest) oldest = ts - BigInt(lag);
        c.setTimestamps({ stable: ts, oldest });
      };
      for (let i = 0; i < count; i++) {
        const value = i % 7 === 0 ? Buffer.alloc(0) : Buffer.from(`v${i}`.padEnd(100, '.'));
        commit(() => cursor.insert(keyOf(i), value));
        model.set(keyOf(i), value);
        // Removes and rewrites of keys in leaves packed or waiting to be.
        if (i % 13 === 0 && i >= 1_000) {
          const old = keyOf(i - 900);
          commit(() => (model.has(old) ? cursor.remove(old) : cursor.insert(old, Buffer.from('back'))));
          if (model.has(old)) model.delete(old);
          else model.set(old, Buffer.from('back'));
        }
      }
      const expected = (): Array<[Item, Item]> => [...model].sort(([a], [b]) => compareKeys(a, b));
      const expectModel = (label: string, on = c): void => {
        const reader = on.openSession().openCursor('table:t');
        expectSameEntries(scan(reader), expected(), label);
        for (const [key, value] of [...model].filter((_, i) => i % 101 === 0)) expect((reader.get(key) as Buffer).equals(value), `${label}: ${key}`).to.equal(true);
      };
      expectModel('oldest lagging');
      const lagging = c.cacheStats().bytes;
      oldest = ts;
      c.setTimestamps({ oldest });
      commit(() => cursor.insert(keyOf(count), Buffer.from('last')));
      model.set(keyOf(count), Buffer.from('last'));
      expect(c.cacheStats().bytes, 'once the oldest timestamp passed the waiting leaves').to.be.below(lagging);
      expectModel('oldest caught up');
      await c.checkpoint();
      expectModel('after a checkpoint');
      expectModel('after a reopen', await reopen());
    });

    it('fills leaves when records arrive in key order (append splits), and half-fills them in random order', async () => {
      const c = await open();
      c.createTable('table:seq', 'key_format=S,value_format=S');
      c.createTable('table:rnd', 'key_format=S,value_format=S');
      const value = 'v'.repeat(100);
      const sequential = c.openSession().openCursor('table:seq');
      for (let i = 0; i < 20_000; i++) sequential.put(keyOf(i), value);
      const random = seededRandom(testSeed());
      const shuffled = c.openSession().openCursor('table:rnd');
      for (const i of random.shuffle(Array.from({ length: 20_000 }, (_, n) => n))) shuffled.put(keyOf(i), value);
      const leaves = (uri: string): number => (c as ConnectionImpl).tableHandle(uri).tree!.residentLeaves().length;
      // 20,000 records of 115 cell bytes (key and value cells) in leaves split past 29,491 bytes.
      const full = Math.ceil((20_000 * (1 + 12 + 1 + 101)) / 29_491);
      expect(leaves('table:seq')).to.be.within(full, Math.ceil(full * 1.05));
      expect(leaves('table:rnd')).to.be.within(full, full * 2);
      expectSameEntries(scan(sequential), Array.from({ length: 20_000 }, (_, i) => [keyOf(i), value]));
    });

    it('stores values from empty to larger than a leaf page, and keys up to 4 KB', async () => {
      const random = seededRandom(testSeed());
      const c = await open();
      c.createTable('table:u', `key_format=S,value_format=u,${SMALL_PAGES}`);
      const cursor = c.openSession().openCursor('table:u');
      const expected = new Map<string, Buffer>();
      for (let i = 0; i < 2_000; i++) {
        const size = random.pick([0, 1, 63, 64, 65, 500, 1_100, 3_000, 20_000]);
        const value = Buffer.alloc(size, i & 0xff);
        const key = `${keyOf(i)}${'k'.repeat(random.pick([0, 0, 0, 100, 4_000]))}`;
        cursor.put(key, value);
        expected.set(key, value);
      }
      const sorted = [...expected].sort(([a], [b]) => compareKeys(a, b));
      expect(scan(cursor)).to.deep.equal(sorted);
      await c.checkpoint();
      const again = await reopen();
      const reopened = again.openSession().openCursor('table:u');
      expect(scan(reopened)).to.deep.equal(sorted);
      for (const [key, value] of sorted.slice(0, 200)) expect(reopened.get(key)).to.deep.equal(value);
    });

    it('orders binary keys byte by byte, the empty key and keys that are prefixes of others included', async () => {
      const seed = testSeed();
      const random = seededRandom(seed);
      const c = await open();
      c.createTable('table:b', `key_format=u,value_format=u,${SMALL_PAGES}`);
      const cursor = c.openSession().openCursor('table:b');
      const expected = new Map<string, [Buffer, Buffer]>();
      const add = (key: Buffer): void => {
        const value = Buffer.from(`v${expected.size}`);
        cursor.put(key, value);
        expected.set(key.toString('hex'), [key, value]);
      };
      add(Buffer.alloc(0));
      add(Buffer.from([0]));
      add(Buffer.from([0, 0]));
      add(Buffer.from([0xff]));
      add(Buffer.from([0xff, 0xff, 0xff]));
      for (let i = 0; i < 3_000; i++) {
        // Short keys over a small alphabet: many share prefixes or are prefixes of others.
        add(Buffer.from(Array.from({ length: random.below(6) }, () => random.pick([0x00, 0x01, 0x7f, 0x80, 0xff]))));
      }
      const sorted = [...expected.values()].sort(([a], [b]) => Buffer.compare(a, b));
      expectSameEntries(scan(cursor), sorted, `seed ${seed}`);
      expect(cursor.get(Buffer.alloc(0))).to.deep.equal(expected.get('')![1]);
      await c.checkpoint();
      const again = await reopen();
      const reopened = again.openSession().openCursor('table:b');
      expectSameEntries(scan(reopened), sorted, `seed ${seed}, after reopen`);
      expectSameEntries(scan(reopened, { reverse: true }), [...sorted].reverse(), `seed ${seed}, reverse after reopen`);
      for (const [key, value] of sorted) expect(reopened.get(key), `key ${key.toString('hex')}`).to.deep.equal(value);
      expect(reopened.searchNear(Buffer.from([0, 0, 0, 0, 0, 0, 0]))!.key).to.deep.equal(
        sorted.find(([k]) => Buffer.compare(k, Buffer.from([0, 0, 0, 0, 0, 0, 0])) >= 0)![0],
      );
    });

    it('empties a multi-level tree by removes, then fills it again, across checkpoints', async () => {
      const c = await open();
      c.createTable('table:t', `key_format=S,value_format=S,${SMALL_PAGES}`);
      const cursor = c.openSession().openCursor('table:t');
      for (let i = 0; i < 5_000; i++) cursor.put(keyOf(i), `value ${i}`);
      await c.checkpoint();
      for (let i = 0; i < 5_000; i++) expect(cursor.remove(keyOf(i))).to.equal(true);
      expect(scan(cursor)).to.deep.equal([]);
      await c.checkpoint();
      let again = await reopen();
      let reopened = again.openSession().openCursor('table:t');
      expect(scan(reopened)).to.deep.equal([]);
      expect(reopened.next()).to.equal(false);
      for (let i = 0; i < 5_000; i += 7) reopened.put(keyOf(i), `again ${i}`);
      await again.checkpoint();
      again = await reopen();
      reopened = again.openSession().openCursor('table:t');
      const expected = Array.from({ length: Math.ceil(5_000 / 7) }, (_, n) => [keyOf(n * 7), `again ${n * 7}`]);
      expect(scan(reopened)).to.deep.equal(expected);
    });

    describe('searchNear', () => {
      it('returns the exact record, else the next larger one, else the next smaller one', async () => {
        const c = await open();
        c.createTable('table:t', `key_format=S,value_format=S,${SMALL_PAGES}`);
        const cursor = c.openSession().openCursor('table:t');
        expect(cursor.searchNear('anything')).to.equal(undefined);
        for (let i = 10; i < 3_000; i += 10) cursor.put(keyOf(i), `v${i}`);
        expect(cursor.searchNear(keyOf(500))).to.deep.equal({ key: keyOf(500), value: 'v500', exact: 0 });
        expect(cursor.searchNear(keyOf(505))).to.deep.equal({ key: keyOf(510), value: 'v510', exact: 1 });
        expect(cursor.searchNear('a')).to.deep.equal({ key: keyOf(10), value: 'v10', exact: 1 });
        expect(cursor.searchNear('z')).to.deep.equal({ key: keyOf(2_990), value: 'v2990', exact: -1 });
        // Between the last key of one leaf and the first of the next, after a checkpoint and reopen.
        await c.checkpoint();
        const again = await reopen();
        const reopened = again.openSession().openCursor('table:t');
        for (let i = 11; i < 2_990; i += 97) {
          const next = Math.ceil(i / 10) * 10;
          expect(reopened.searchNear(keyOf(i))).to.deep.equal({ key: keyOf(next), value: `v${next}`, exact: i % 10 === 0 ? 0 : 1 });
        }
      });

      it('does not return a removed key', async () => {
        const c = await open();
        c.createTable('table:t', 'key_format=S,value_format=S');
        const cursor = c.openSession().openCursor('table:t');
        for (const k of ['a', 'b', 'c']) cursor.put(k, k.toUpperCase());
        cursor.remove('b');
        expect(cursor.searchNear('b')).to.deep.equal({ key: 'c', value: 'C', exact: 1 });
        cursor.remove('c');
        expect(cursor.searchNear('b')).to.deep.equal({ key: 'a', value: 'A', exact: -1 });
      });
    });

    describe('ranges', () => {
      it('returns what a sorted model returns for random gt/gte/lt/lte bounds, forward and reverse', async () => {
        const seed = testSeed();
        const random = seededRandom(seed);
        const c = await open();
        c.createTable('table:t', `key_format=S,value_format=S,${SMALL_PAGES}`);
        const cursor = c.openSession().openCursor('table:t');
        const model = new SortedModel();
        for (let i = 0; i < 4_000; i++) {
          const k = keyOf(random.below(20_000));
          cursor.put(k, `v${i}`);
          model.set(k, `v${i}`);
        }
        await c.checkpoint();
        const bound = (): string => (random.next() < 0.5 ? keyOf(random.below(20_000)) : `${keyOf(random.below(20_000))}5`);
        const sorted = model.sorted();
        for (let round = 0; round < 300; round++) {
          const range: Record<string, unknown> = {};
          if (random.next() < 0.7) range[random.pick(['gt', 'gte'])] = bound();
          if (random.next() < 0.7) range[random.pick(['lt', 'lte'])] = bound();
          range['reverse'] = random.next() < 0.5;
          expectSameEntries(scan(cursor, range), model.range(range, sorted), `seed ${seed}, range ${JSON.stringify(range)}`);
        }
        // Bounds equal to stored keys, inclusive and exclusive.
        const keys = sorted.map(([k]) => k);
        const [low, high] = [keys[100]!, keys[200]!];
        expect(scan(cursor, { gte: low, lte: high }).length).to.equal(101);
        expect(scan(cursor, { gt: low, lt: high }).length).to.equal(99);
        expect(scan(cursor, { gte: low, lte: high, reverse: true }).map(([k]) => k)).to.deep.equal(keys.slice(100, 201).reverse());
        expect(scan(cursor, { gt: high, lt: low })).to.deep.equal([]);
      });
    });

    describe('cursor next and prev', () => {
      it('walks forward and back, changes direction around the current record, and restarts after the end', async () => {
        const c = await open();
        c.createTable('table:t', `key_format=S,value_format=S,${SMALL_PAGES}`);
        const cursor = c.openSession().openCursor('table:t');
        expect(cursor.next()).to.equal(false);
        expect(cursor.prev()).to.equal(false);
        for (let i = 0; i < 1_000; i++) cursor.put(keyOf(i), `v${i}`);
        await c.checkpoint();
        for (let i = 0; i < 600; i++) expect(cursor.next()).to.equal(true);
        expect(cursor.key).to.equal(keyOf(599));
        expect(cursor.prev()).to.equal(true);
        expect(cursor.key).to.equal(keyOf(598));
        expect(cursor.value).to.equal('v598');
        expect(cursor.next()).to.equal(true);
        expect(cursor.key).to.equal(keyOf(599));
        let count = 600;
        while (cursor.next()) count++;
        expect(count).to.equal(1_000);
        expect(() => cursor.key).to.throw();
        expect(cursor.next()).to.equal(true);
        expect(cursor.key).to.equal(keyOf(0));
        cursor.reset();
        expect(cursor.prev()).to.equal(true);
        expect(cursor.key).to.equal(keyOf(999));
      });

      it('visits every record once while the walk updates or removes the record it is on', async () => {
        const c = await open();
        c.createTable('table:t', `key_format=S,value_format=S,${SMALL_PAGES}`);
        const cursor = c.openSession().openCursor('table:t');
        for (let i = 0; i < 3_000; i++) cursor.put(keyOf(i), `v${i}`);
        await c.checkpoint();
        const writer = c.openSession().openCursor('table:t');
        let visited = 0;
        for (const [key, value] of cursor.entries()) {
          const i = Number((key as string).slice(3));
          expect(value).to.equal(`v${i}`);
          if (i % 3 === 0) writer.remove(key);
          else writer.put(key, `${value} and a longer value that makes the leaves split ${'x'.repeat(40)}`);
          visited++;
        }
        expect(visited).to.equal(3_000);
        expect([...cursor.entries()].length).to.equal(2_000);
        // The same with next(), in reverse.
        let back = 0;
        while (cursor.prev()) {
          writer.put(cursor.key, 'rewritten');
          back++;
        }
        expect(back).to.equal(2_000);
      });

      it('sees records inserted and removed ahead of its position while it walks', async () => {
        const c = await open();
        c.createTable('table:t', `key_format=S,value_format=S,${SMALL_PAGES}`);
        const cursor = c.openSession().openCursor('table:t');
        for (let i = 0; i < 2_000; i += 2) cursor.put(keyOf(i), `v${i}`);
        const writer = c.openSession().openCursor('table:t');
        const seen: string[] = [];
        while (cursor.next()) {
          const key = cursor.key as string;
          seen.push(key);
          const i = Number(key.slice(3));
          // Remove the record two ahead on the same or next leaf: the walk must skip it.
          if (i % 8 === 0) writer.remove(keyOf(i + 2));
        }
        const expected = Array.from({ length: 1_000 }, (_, n) => n * 2).filter((i) => !(i % 8 === 2)).map(keyOf);
        expect(seen).to.deep.equal(expected);
      });
    });
  });
}
