import { expect } from 'chai';
import type { Db } from 'mongodb';
import { shimsPerTest } from '../libs/index.js';

/**
 * `serverStatus.wiredTiger.cache` under WiredTiger's statistic names, with the engine cache's own
 * counters, while the data outgrows a 1 MB cache; and the page log's memory-mapped file shown
 * apart from the heap.
 */

const MB = 1024 * 1024;

type CacheSection = Record<string, number>;

async function cacheStatus(admin: Db): Promise<CacheSection> {
  const status = await admin.command({ serverStatus: 1 }, { promoteLongs: true });
  return status.wiredTiger.cache as CacheSection;
}

describe('mongod-shim: serverStatus.wiredTiger.cache', function () {
  this.timeout(120_000);
  const shims = shimsPerTest();

  it('counts the bytes, dirty bytes, pages read and written and the clean and dirty evictions as 8 MB of documents pass through a 1 MB cache', async () => {
    const shim = await shims.launch({ replSet: 'rs0', args: ['--cacheSizeMB', '1'], setParameters: { checkpointIntervalSecs: 0 } });
    const client = await shim.client();
    const admin = client.db('admin');
    const collection = client.db('app').collection<{ _id: number; pad: string }>('c');
    const before = await cacheStatus(admin);
    expect(Object.keys(before)).to.include.members([
      'maximum bytes configured', 'bytes currently in the cache', 'tracked dirty bytes in the cache', 'pages currently held in the cache',
      'unmodified pages evicted', 'modified pages evicted', 'pages read into cache', 'bytes read into cache',
      'pages written from cache', 'bytes written from cache',
    ]);
    expect(before['maximum bytes configured']).to.equal(MB);

    for (let round = 0; round < 8; round++) {
      await collection.insertMany(Array.from({ length: 100 }, (_, i) => ({ _id: round * 100 + i, pad: 'x'.repeat(10_000) })));
    }
    const loaded = await cacheStatus(admin);
    expect(loaded['modified pages evicted'], 'dirty leaves written and evicted while loading').to.be.greaterThan(before['modified pages evicted']!);
    expect(loaded['pages written from cache']).to.be.greaterThan(before['pages written from cache']!);
    expect(loaded['bytes written from cache']).to.be.greaterThan(MB);
    // One leaf may be read or split past the trigger before eviction runs.
    expect(loaded['bytes currently in the cache']).to.be.at.most(2 * MB);
    expect(loaded['tracked dirty bytes in the cache']).to.be.greaterThan(0);
    expect(loaded['tracked dirty bytes in the cache']).to.be.at.most(loaded['bytes currently in the cache']!);

    await admin.command({ fsync: 1 });
    const checkpointed = await cacheStatus(admin);
    expect(checkpointed['tracked dirty bytes in the cache'], 'a checkpoint at the last write leaves nothing dirty').to.equal(0);
    expect(checkpointed['pages written from cache']).to.be.greaterThan(loaded['pages written from cache']!);

    // Reading every document reads the evicted pages back, evicting clean ones to make room.
    expect(await collection.find({}).toArray()).to.have.length(800);
    const read = await cacheStatus(admin);
    expect(read['pages read into cache']).to.be.greaterThan(checkpointed['pages read into cache']!);
    expect(read['bytes read into cache']).to.be.greaterThan(checkpointed['bytes read into cache']!);
    expect(read['unmodified pages evicted']).to.be.greaterThan(checkpointed['unmodified pages evicted']!);
    expect(read['modified pages evicted'], 'nothing was dirty to evict').to.equal(checkpointed['modified pages evicted']);
    expect(read['bytes currently in the cache']).to.be.at.most(2 * MB);

    // The page log's data file holds the 8,000,000 bytes of documents and is memory-mapped: it is reported apart from the heap.
    const status = await admin.command({ serverStatus: 1 }, { promoteLongs: true });
    expect(status.disagg.pageLog.store).to.equal('lmdb');
    expect(status.disagg.pageLog.mappedBytes, "8,000,000 bytes of documents").to.be.greaterThan(7 * MB);
    expect(status.disagg.pageLog.usedBytes).to.be.at.most(status.disagg.pageLog.mappedBytes);
    expect(status.disagg.pageLog.mapSizeBytes).to.be.at.least(status.disagg.pageLog.usedBytes);
    expect(status.mem.heapUsed).to.be.a('number').and.at.most(status.mem.heapTotal);
    expect(status.mem.resident).to.be.at.least(status.mem.heapUsed);
  });

  it('reports no page log in local mode', async () => {
    const shim = await shims.launch({ storage: 'local' });
    const status = await (await shim.client()).db('admin').command({ serverStatus: 1 });
    expect(status.disagg.pageLog).to.equal(null);
    expect(status.wiredTiger.cache['maximum bytes configured']).to.be.greaterThan(0);
  });
});
