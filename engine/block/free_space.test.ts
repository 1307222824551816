import { statSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Connection } from '../api.js';
import { decodeFileCheckpointCookie, latestCheckpoint } from '../format/index.js';
import { readTurtleFile } from '../meta/index.js';
import { testHomes } from '../testing/homes.js';
import { collectReport, verifyHome } from '../verify/index.js';
import { seededRandom, testSeed } from '../testing/random.js';

const keyOf = (i: number): string => `key${String(i).padStart(8, '0')}`;

describe('free space reuse (local files)', function () {
  this.timeout(60_000);
  const homes = testHomes();

  async function overwriteAcrossCheckpoints(connection: Connection, home: string, checkpoints: number, options: { count: number; valueSize: number }): Promise<number[]> {
    const random = seededRandom(testSeed());
    const cursor = connection.openSession().openCursor('table:t');
    const sizes: number[] = [];
    for (let round = 0; round < checkpoints; round++) {
      // Rewrite half of the records each round: every leaf changes, the data size stays the same.
      for (let n = 0; n < options.count / 2; n++) {
        const i = random.below(options.count);
        cursor.put(keyOf(i), `${round}`.padEnd(options.valueSize, String.fromCharCode(97 + (round % 26))));
      }
      await connection.checkpoint();
      sizes.push(statSync(join(home, 't.wt')).size);
    }
    return sizes;
  }

  it('stops growing the file under a steady overwrite workload across 40 checkpoints', async () => {
    const home = await homes.directory();
    const connection = await homes.open(home, { storage: 'local' });
    connection.createTable('table:t', 'key_format=S,value_format=S');
    const cursor = connection.openSession().openCursor('table:t');
    for (let i = 0; i < 20_000; i++) cursor.put(keyOf(i), 'initial'.padEnd(100, 'i'));
    await connection.checkpoint();
    const sizes = await overwriteAcrossCheckpoints(connection, home, 40, { count: 20_000, valueSize: 100 });
    const early = Math.max(...sizes.slice(0, 10));
    const late = Math.max(...sizes.slice(30));
    // Copy-on-write needs room for about two versions of the tree; after that, freed space
    // must be reused, so the last checkpoints need no more room than the first ones did (give
    // or take a few pages: random updates split leaves differently).
    expect(late, `sizes ${sizes.join(', ')}`).to.be.at.most(early * 1.1);
    // And the file is a small multiple of the live data (~2.5 MB of records).
    expect(late, `sizes ${sizes.join(', ')}`).to.be.below(12 * 1024 * 1024);
  });

  it('stops growing the file when eviction writes most pages between checkpoints', async () => {
    const home = await homes.directory();
    const connection = await homes.open(home, { storage: 'local', cacheSize: 1024 * 1024 });
    connection.createTable('table:t', 'key_format=S,value_format=S');
    const cursor = connection.openSession().openCursor('table:t');
    for (let i = 0; i < 10_000; i++) cursor.put(keyOf(i), 'initial'.padEnd(100, 'i'));
    await connection.checkpoint();
    const sizes = await overwriteAcrossCheckpoints(connection, home, 14, { count: 10_000, valueSize: 100 });
    expect(Math.max(...sizes.slice(9)), `sizes ${sizes.join(', ')}`).to.be.at.most(Math.max(...sizes.slice(0, 6)) * 1.1);
  });

  it('reuses the space of a table emptied by removes', async () => {
    const home = await homes.directory();
    const connection = await homes.open(home, { storage: 'local' });
    connection.createTable('table:t', 'key_format=S,value_format=S');
    const cursor = connection.openSession().openCursor('table:t');
    const sizes: number[] = [];
    for (let round = 0; round < 8; round++) {
      for (let i = 0; i < 10_000; i++) cursor.put(keyOf(i), `${round}`.padEnd(200, 'x'));
      await connection.checkpoint();
      for (let i = 0; i < 10_000; i++) cursor.remove(keyOf(i));
      await connection.checkpoint();
      sizes.push(statSync(join(home, 't.wt')).size);
    }
    expect(Math.max(...sizes.slice(4)), `sizes ${sizes.join(', ')}`).to.be.at.most(Math.max(...sizes.slice(0, 4)) * 1.1);
  });

  it('describes every free range in an avail extent list: verify accounts for every byte after churn', async () => {
    const home = await homes.directory();
    const connection = await homes.open(home, { storage: 'local' });
    connection.createTable('table:t', 'key_format=S,value_format=S');
    const random = seededRandom(testSeed());
    const cursor = connection.openSession().openCursor('table:t');
    for (let round = 0; round < 5; round++) {
      for (let n = 0; n < 6_000; n++) cursor.put(keyOf(random.below(12_000)), `${round}`.padEnd(60 + random.below(120), 'v'));
      for (let n = 0; n < 1_500; n++) cursor.remove(keyOf(random.below(12_000)));
      await connection.checkpoint();
    }
    const tableConfig = connection.getTable('table:t').config;
    await connection.close();
    const cookies: Array<[string, string]> = [['WiredTiger.wt', readTurtleFile(home, true)!.metadataConfig], ['t.wt', tableConfig]];
    for (const [file, config] of cookies) {
      const cookie = decodeFileCheckpointCookie(Buffer.from(latestCheckpoint(config)!.addr, 'hex'), 4096);
      expect(cookie.avail.size, `${file} has free space after churn, so an avail list`).to.be.greaterThan(0);
      expect(cookie.fileSize).to.equal(statSync(join(home, file)).size);
      // The metadata's size= is the tree's bytes, as WiredTiger records it: the cookie's
      // checkpoint size plus the root.
      expect(latestCheckpoint(config)!.size, `${file} checkpoint size`).to.equal(cookie.checkpointSize + cookie.root.size);
    }
    const report = await collectReport(verifyHome(home));
    expect(report.findings, 'no finding, not even a file range in no list').to.deep.equal([]);
  });
});
