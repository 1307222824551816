import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { execa } from 'execa';
import type { StorageMode } from '../api.js';
import { LeafPage } from '../btree/index.js';
import { ConnectionImpl } from '../connection/index.js';
import type { CacheWorkloadResult } from '../testing/cache_workload.js';
import { STORAGE_MODES, testHomes } from '../testing/homes.js';
import { Cache, type EvictionTarget } from './index.js';

const workloadScript = join(dirname(fileURLToPath(import.meta.url)), '..', 'testing', 'cache_workload.js');

const MB = 1024 * 1024;
const keyOf = (i: number): string => `key${String(i).padStart(10, '0')}`;

function leafOf(bytes: number): LeafPage {
  const leaf = new LeafPage([], [], undefined);
  leaf.memoryBytes = bytes;
  return leaf;
}

describe('Cache', () => {
  it('evicts the least recently used leaves down to its target once past its trigger', () => {
    const cache = new Cache(10 * MB);
    const evicted: LeafPage[] = [];
    const tree: EvictionTarget = { evict: (leaf) => (evicted.push(leaf), true) };
    const leaves = Array.from({ length: 9 }, () => leafOf(MB));
    for (const leaf of leaves) cache.add(leaf, tree);
    cache.touch(leaves[0]!);
    cache.evictIfNeeded();
    expect(evicted).to.deep.equal([]);
    cache.add(leafOf(MB), tree);
    cache.add(leafOf(MB), tree);
    cache.evictIfNeeded();
    // 11 MB is past the trigger; eviction stops at or below 80%: three leaves go, oldest first.
    expect(evicted).to.deep.equal([leaves[1], leaves[2], leaves[3]]);
    expect(cache.bytes).to.equal(8 * MB);
    expect(cache.evictions).to.equal(3);
  });

  it('skips leaves their tree must keep and tries them again later', () => {
    const cache = new Cache(4 * MB);
    let pinned = true;
    const evicted: LeafPage[] = [];
    const leaves = Array.from({ length: 5 }, () => leafOf(MB));
    const tree: EvictionTarget = { evict: (leaf) => (leaf === leaves[0] && pinned ? false : (evicted.push(leaf), true)) };
    for (const leaf of leaves) cache.add(leaf, tree);
    cache.evictIfNeeded();
    expect(evicted).to.deep.equal([leaves[1], leaves[2]]);
    // The kept leaf went back to the most recently used end: the others go before it.
    pinned = false;
    for (let i = 0; i < 3; i++) cache.add(leafOf(MB), tree);
    cache.evictIfNeeded();
    expect(evicted.slice(2)).to.deep.equal([leaves[3], leaves[4], leaves[0]]);
  });

  it('examines a bounded number of leaves per call when its tree must keep them all', () => {
    const cache = new Cache(4 * MB);
    let attempts = 0;
    const tree: EvictionTarget = { evict: () => (attempts++, false) };
    for (let i = 0; i < 1_000; i++) cache.add(leafOf(8 * 1024), tree);
    cache.evictIfNeeded();
    expect(attempts).to.be.greaterThan(0).and.at.most(64);
    // Nothing could go: the next writes do not pay for another pass until the cache grows.
    const afterFirstPass = attempts;
    for (let i = 0; i < 10; i++) cache.evictIfNeeded();
    expect(attempts).to.equal(afterFirstPass);
    for (let i = 0; i < 20; i++) cache.add(leafOf(8 * 1024), tree);
    cache.evictIfNeeded();
    expect(attempts).to.be.greaterThan(afterFirstPass);
    expect(cache.pages).to.equal(1_020);
  });

  it('counts clean and dirty evictions apart, and the bytes of dirty leaves', () => {
    const cache = new Cache(4 * MB);
    const tree: EvictionTarget = { evict: (leaf) => ((leaf.dirty = false), true) };
    const leaves = Array.from({ length: 5 }, (_, i) => {
      const leaf = leafOf(MB);
      leaf.dirty = i % 2 === 0;
      return leaf;
    });
    for (const leaf of leaves) cache.add(leaf, tree);
    expect(cache.dirtyBytes).to.equal(3 * MB);
    cache.evictIfNeeded();
    // Leaves 0 (dirty) and 1 (clean) go, down to 80% of 4 MB.
    expect(cache.stats()).to.deep.include({ dirtyEvictions: 1, cleanEvictions: 1, bytes: 3 * MB, dirtyBytes: 2 * MB, pages: 3 });
    expect(cache.evictions).to.equal(2);
  });

  it('counts a removed leaf out', () => {
    const cache = new Cache(4 * MB);
    const leaf = leafOf(MB);
    cache.add(leaf, { evict: () => true });
    expect(cache.bytes).to.equal(MB);
    cache.remove(leaf);
    expect(cache.bytes).to.equal(0);
    expect(cache.pages).to.equal(0);
  });
});

for (const storage of STORAGE_MODES) {
  describe(`cache bound (${storage})`, function () {
    this.timeout(120_000);
    const homes = testHomes();
    const cacheSize = 8 * MB;
    const value = Buffer.alloc(1000, 0x61);
    const count = 100_000; // about 100 MB of records, twelve times the cache

    it('keeps the cache within its size and memory bounded while loading, scanning and reading twelve times more data', async () => {
      // In a process of its own, so the memory measured is the workload's only.
      const home = await homes.directory();
      const result = await execa(process.execPath, ['--expose-gc', workloadScript, home, storage, String(count), String(cacheSize)], { stdin: 'ignore' });
      const figures = JSON.parse(result.stdout.trim().split('\n').pop()!) as CacheWorkloadResult;
      expect(figures.scanned).to.equal(count);
      expect(figures.loadEvictions, 'evictions while loading').to.be.greaterThan(0);
      expect(figures.readEvictions, 'evictions while reading').to.be.greaterThan(0);
      // One leaf may be read or split past the trigger before eviction runs.
      expect(figures.peakCacheBytes).to.be.at.most(cacheSize + MB);
      // The data is ~100 MB; memory in use must stay a small multiple of the 8 MB cache.
      const afterLoad = figures.afterLoadBytes - figures.baselineBytes;
      const afterReads = figures.afterReadsBytes - figures.baselineBytes;
      expect(afterLoad, `memory after load ${(afterLoad / MB).toFixed(1)} MB`).to.be.below(40 * MB);
      expect(afterReads, `memory after reads ${(afterReads / MB).toFixed(1)} MB`).to.be.below(40 * MB);
    });

    it('keeps the versions a reader at the oldest timestamp may need when it evicts after a checkpoint', async () => {
      const home = await homes.directory();
      const connection = await homes.open(home, { storage: storage as StorageMode, cacheSize: 2 * MB });
      connection.createTable('table:t', 'key_format=S,value_format=S');
      connection.createTable('table:other', 'key_format=S,value_format=S');
      const session = connection.openSession();
      const cursor = session.openCursor('table:t');
      for (const [ts, text] of [[10n, 'old'], [20n, 'new']] as const) {
        session.beginTransaction();
        for (let i = 0; i < 1_000; i++) cursor.put(keyOf(i), text.padEnd(100, '.'));
        session.commitTransaction({ commitTimestamp: ts });
      }
      connection.setTimestamps({ stable: 20n, oldest: 5n });
      await connection.checkpoint();
      // Other data pushes the checkpointed (clean) leaves of table:t out of the cache if it can.
      const other = session.openCursor('table:other');
      for (let i = 0; i < 12_000; i++) other.put(keyOf(i), 'x'.repeat(200));
      expect((connection as ConnectionImpl).cache.evictions).to.be.greaterThan(0);
      const reader = connection.openSession();
      reader.beginTransaction({ readTimestamp: 15n });
      const atFifteen = reader.openCursor('table:t');
      for (let i = 0; i < 1_000; i += 37) expect(atFifteen.get(keyOf(i)), `key ${i} read at 15`).to.equal('old'.padEnd(100, '.'));
      reader.rollbackTransaction();
      // Once the oldest timestamp passes 20 the history is not needed and the leaves may go.
      connection.setTimestamps({ oldest: 20n });
      for (let i = 0; i < 12_000; i++) other.put(keyOf(i), 'z'.repeat(200));
      expect((connection as ConnectionImpl).cache.bytes).to.be.at.most(3 * MB);
    });

    it('reports its size, contents, reads, writes and evictions as they change while the data outgrows it', async () => {
      const home = await homes.directory();
      let connection = await homes.open(home, { storage: storage as StorageMode, cacheSize: 2 * MB });
      connection.createTable('table:t', 'key_format=S,value_format=u');
      const empty = connection.cacheStats();
      expect(empty).to.deep.include({ maxBytes: 2 * MB, dirtyEvictions: 0, cleanEvictions: 0 });
      const session = connection.openSession();
      const cursor = session.openCursor('table:t');
      for (let i = 0; i < 10_000; i++) cursor.put(keyOf(i), value);
      const loaded = connection.cacheStats();
      // 10 MB of records through a 2 MB cache: dirty leaves were written and evicted.
      expect(loaded.dirtyEvictions).to.be.greaterThan(0);
      expect(loaded.pagesWritten).to.be.at.least(loaded.dirtyEvictions);
      expect(loaded.bytesWritten).to.be.greaterThan(loaded.pagesWritten * 1000);
      expect(loaded.bytes).to.be.at.most(2 * MB + MB);
      expect(loaded.dirtyBytes).to.be.greaterThan(0);
      expect(loaded.dirtyBytes).to.be.at.most(loaded.bytes);
      await connection.checkpoint();
      const checkpointed = connection.cacheStats();
      expect(checkpointed.dirtyBytes).to.equal(0);
      expect(checkpointed.pagesWritten).to.be.greaterThan(loaded.pagesWritten);
      // Reading everything back reads evicted pages in and evicts clean ones to make room.
      for (let i = 0; i < 10_000; i += 1) cursor.get(keyOf(i));
      const read = connection.cacheStats();
      expect(read.pagesRead).to.be.greaterThan(checkpointed.pagesRead);
      expect(read.bytesRead).to.be.greaterThan(checkpointed.bytesRead);
      expect(read.cleanEvictions).to.be.greaterThan(checkpointed.cleanEvictions);
      expect(read.dirtyEvictions).to.equal(checkpointed.dirtyEvictions);
      expect(read.pagesWritten).to.equal(checkpointed.pagesWritten);
      session.close();
      await connection.close();
      // A reopened connection counts from zero; it has read the metadata it opened.
      connection = await homes.open(home, { storage: storage as StorageMode, cacheSize: 2 * MB });
      expect(connection.cacheStats()).to.deep.include({ dirtyBytes: 0, cleanEvictions: 0, dirtyEvictions: 0, pagesWritten: 0 });
      expect(connection.cacheStats().pagesRead).to.be.greaterThan(0);
      if (storage === 'disagg') {
        const pageLog = connection.pageLogStats()!;
        expect(pageLog.fileBytes).to.be.greaterThan(8 * MB);
        expect(pageLog.usedBytes).to.be.at.most(pageLog.fileBytes!);
        expect(pageLog.mapSizeBytes).to.be.at.least(pageLog.usedBytes!);
        expect(pageLog).to.include({ store: 'lmdb', location: join(home, 'pagelog') });
      } else {
        expect(connection.pageLogStats()).to.equal(undefined);
      }
    });

    it('stays bounded under timestamped commits while the oldest timestamp follows the stable one', async () => {
      const home = await homes.directory();
      const connection = await homes.open(home, { storage: storage as StorageMode, cacheSize });
      const cache = (connection as ConnectionImpl).cache;
      connection.createTable('table:t', 'key_format=S,value_format=u');
      const session = connection.openSession();
      const cursor = session.openCursor('table:t');
      let peakCache = 0;
      for (let batch = 0; batch < 60; batch++) {
        session.beginTransaction();
        for (let i = 0; i < 1_000; i++) cursor.put(keyOf(batch * 1_000 + i), value);
        const ts = BigInt(batch + 1) * 10n;
        session.commitTransaction({ commitTimestamp: ts });
        connection.setTimestamps({ stable: ts, oldest: ts });
        peakCache = Math.max(peakCache, cache.bytes);
      }
      expect(cache.evictions).to.be.greaterThan(0);
      // A whole transaction (1 MB) may be resident before its pages can be evicted.
      expect(peakCache).to.be.at.most(cacheSize + 2 * MB);
    });
  });
}
