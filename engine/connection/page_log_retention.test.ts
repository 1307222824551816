import { cpSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import type { Connection, ConnectionConfig } from '../api.js';
import { openPageLog, type PageLogStat } from '../page_log/index.js';
import { testHomes } from '../testing/homes.js';
import { collectReport, verifyHome } from '../verify/index.js';

const keyOf = (i: number): string => `key${String(i).padStart(6, '0')}`;
const COUNT = 5_000;

describe('page log retention', function () {
  this.timeout(120_000);
  const homes = testHomes();

  /** Overwrites every record `rounds` times, a checkpoint after each; returns the log's figures. */
  async function overwrite(home: string, config: ConnectionConfig, rounds: number, firstRound = 0): Promise<PageLogStat> {
    const connection = await homes.open(home, { storage: 'disagg', ...config });
    if (firstRound === 0) connection.createTable('table:t', 'key_format=S,value_format=S');
    const cursor = connection.openSession().openCursor('table:t');
    for (let round = firstRound; round < firstRound + rounds; round++) {
      for (let i = 0; i < COUNT; i++) cursor.put(keyOf(i), `round ${round} `.padEnd(80, 'x'));
      await connection.checkpoint();
    }
    await connection.close();
    const log = await openPageLog(join(home, 'pagelog'), { readOnly: true });
    try {
      return log.stat();
    } finally {
      await log.close();
    }
  }

  it('keeps the log the size of the data, not of its history, and the data intact', async () => {
    const home = await homes.directory();
    const early = await overwrite(home, {}, 4);
    const late = await overwrite(home, {}, 16, 4);
    expect(late.checkpoints).to.equal(2);
    // Each round rewrites every page: without pruning the log would hold 5 times more.
    expect(late.records, `records after 4 rounds ${early.records}, after 20 ${late.records}`).to.be.at.most(early.records * 1.2);
    expect(late.bytes).to.be.at.most(early.bytes * 1.2);

    const connection = await homes.open(home, { storage: 'disagg', readOnly: true });
    const cursor = connection.openSession().openCursor('table:t');
    for (const i of [0, 1234, COUNT - 1]) expect(cursor.get(keyOf(i))).to.equal('round 19 '.padEnd(80, 'x'));
    await connection.close();
    const report = await collectReport(verifyHome(home));
    expect(report.findings.filter((f) => f.severity === 'error')).to.deep.equal([]);
  });

  it('keeps every version with pageLogRetain "all", and as many checkpoints as asked otherwise', async () => {
    const all = await overwrite(await homes.directory(), { pageLogRetain: 'all' }, 6);
    expect(all.checkpoints).to.be.at.least(6);
    const four = await overwrite(await homes.directory(), { pageLogRetain: 4 }, 6);
    expect(four.checkpoints).to.equal(4);
    expect(four.records).to.be.below(all.records);
  });

  it('drops checkpoints completed in the log but never paired with the local metadata, so pruning keeps what the home reads', async () => {
    const home = await homes.directory();
    let connection = await homes.open(home, { storage: 'disagg', pageLogRetain: 'all' });
    connection.createTable('table:t', 'key_format=S,value_format=S');
    let cursor = connection.openSession().openCursor('table:t');
    for (let i = 0; i < COUNT; i++) cursor.put(keyOf(i), 'first');
    await connection.checkpoint();
    // The local files as a crash before the next checkpoint's turtle rename leaves them.
    const saved = await homes.directory();
    for (const file of readdirSync(home)) if (file !== 'pagelog') cpSync(join(home, file), join(saved, file));
    // Completed in the log only: a newer version of every page.
    for (let i = 0; i < COUNT; i++) cursor.put(keyOf(i), 'unpaired');
    await connection.checkpoint();
    await connection.close();
    for (const file of readdirSync(saved)) cpSync(join(saved, file), join(home, file));

    // Reopened with pruning: one record changes, so the new checkpoints still name most pages
    // at their first versions, older than the unpaired ones.
    connection = await homes.open(home, { storage: 'disagg' });
    cursor = connection.openSession().openCursor('table:t');
    expect(cursor.get(keyOf(7))).to.equal('first');
    cursor.put(keyOf(0), 'changed');
    for (let round = 0; round < 3; round++) await connection.checkpoint();
    await connection.close();

    connection = await homes.open(home, { storage: 'disagg', readOnly: true });
    cursor = connection.openSession().openCursor('table:t');
    expect(cursor.get(keyOf(0))).to.equal('changed');
    for (const i of [1, 2500, COUNT - 1]) expect(cursor.get(keyOf(i))).to.equal('first');
    await connection.close();
    const report = await collectReport(verifyHome(home));
    expect(report.findings.filter((f) => f.severity === 'error')).to.deep.equal([]);
  });

  describe('while a checkpoint waits for its key provider', () => {
    // Between writing its trees and its completion record a checkpoint awaits `getKey`; client
    // work goes on meanwhile. The home is copied as soon as the checkpoint returns (it has
    // pruned by then): what a SIGKILL at that moment leaves.
    const slowProvider = fileURLToPath(new URL('../testing/slow_key_provider.js', import.meta.url));
    const config: ConnectionConfig = { storage: 'disagg', keyProvider: slowProvider, cacheSize: 1024 * 1024 };

    async function expectSoundCopy(home: string, check: (connection: Connection) => void): Promise<void> {
      const copy = await homes.directory();
      cpSync(home, copy, { recursive: true });
      const report = await collectReport(verifyHome(copy));
      expect(report.findings.filter((f) => f.severity === 'error')).to.deep.equal([]);
      const connection = await homes.open(copy, { ...config, readOnly: true });
      try {
        check(connection);
      } finally {
        await connection.close();
      }
    }

    it('keeps every page the checkpoint names when eviction runs during the wait', async () => {
      const home = await homes.directory();
      const connection = await homes.open(home, config);
      connection.createTable('table:t', 'key_format=S,value_format=S');
      const cursor = connection.openSession().openCursor('table:t');
      for (let i = 0; i < 20_000; i++) cursor.put(keyOf(i), 'v'.repeat(100));
      await connection.checkpoint();
      for (let i = 0; i < 20_000; i++) cursor.put(keyOf(i), 'w'.repeat(100));
      const checkpoint = connection.checkpoint();
      await new Promise((resolve) => setTimeout(resolve, 30));
      // A 1 MB cache: these writes would evict dirty leaves at once.
      for (let i = 0; i < 20_000; i++) cursor.put(keyOf(i), 'x'.repeat(100));
      await checkpoint;
      await expectSoundCopy(home, (copy) => {
        const read = copy.openSession().openCursor('table:t');
        for (const i of [0, 5, 10_000, 19_999]) expect(read.get(keyOf(i))).to.equal('w'.repeat(100));
      });
      await connection.close();
    });

    it('keeps the pages of a table dropped during the wait, which the checkpoint still holds', async () => {
      const home = await homes.directory();
      const connection = await homes.open(home, config);
      connection.createTable('table:a', 'key_format=S,value_format=S');
      connection.createTable('table:b', 'key_format=S,value_format=S');
      const session = connection.openSession();
      const [a, b] = [session.openCursor('table:a'), session.openCursor('table:b')];
      for (let i = 0; i < 2_000; i++) {
        a.put(keyOf(i), 'v'.repeat(50));
        b.put(keyOf(i), 'w'.repeat(50));
      }
      await connection.checkpoint();
      b.put('x', 'y');
      for (let i = 0; i < 2_000; i++) a.put(keyOf(i), 'z'.repeat(50));
      const checkpoint = connection.checkpoint();
      await new Promise((resolve) => setTimeout(resolve, 30));
      connection.dropTable('table:a');
      await checkpoint;
      await expectSoundCopy(home, (copy) => {
        expect(copy.openSession().openCursor('table:a').get(keyOf(5))).to.equal('z'.repeat(50));
      });
      await connection.checkpoint();
      await connection.close();
      const reopened = await homes.open(home, { ...config, readOnly: true });
      expect(reopened.hasTable('table:a')).to.equal(false);
      expect(reopened.openSession().openCursor('table:b').get('x')).to.equal('y');
      await reopened.close();
    });
  });

  it('keeps the key-provider page the checkpoints name after onKeyUpdate failed a rotation', async () => {
    const home = await homes.directory();
    // The third checkpoint offers a new key, writes its page, and then onKeyUpdate fails it.
    const config: ConnectionConfig = { storage: 'disagg', keyProvider: 'mock', keyProviderConfig: 'rotate_every=3,fail_on_key_update=2' };
    const connection = await homes.open(home, config);
    connection.createTable('table:t', 'key_format=S,value_format=S');
    const cursor = connection.openSession().openCursor('table:t');
    let failures = 0;
    for (let round = 0; round < 6; round++) {
      cursor.put(keyOf(round), `round ${round}`);
      await connection.checkpoint().catch(() => failures++);
    }
    expect(failures).to.equal(1);
    const copy = await homes.directory();
    cpSync(home, copy, { recursive: true });
    await connection.close();
    const report = await collectReport(verifyHome(copy));
    expect(report.findings.filter((f) => f.severity === 'error')).to.deep.equal([]);
    const reopened = await homes.open(copy, config);
    expect(reopened.openSession().openCursor('table:t').get(keyOf(5))).to.equal('round 5');
    await reopened.close();
  });

  it('does not prune a checkpoint a read-only connection of the same process reads', async () => {
    const home = await homes.directory();
    const writer = await homes.open(home, { storage: 'disagg' });
    writer.createTable('table:t', 'key_format=S,value_format=S');
    const cursor = writer.openSession().openCursor('table:t');
    for (let i = 0; i < COUNT; i++) cursor.put(keyOf(i), 'first');
    await writer.checkpoint();
    const reader = await homes.open(home, { storage: 'disagg', readOnly: true });
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < COUNT; i++) cursor.put(keyOf(i), `round ${round}`);
      await writer.checkpoint();
    }
    const read = reader.openSession().openCursor('table:t');
    for (const i of [0, 2500, COUNT - 1]) expect(read.get(keyOf(i))).to.equal('first');
    await reader.close();
    await writer.close();
  });

  it('refuses a pageLogRetain that is not a positive integer or "all"', async () => {
    for (const retain of [0, -1, 1.5, 'some']) {
      const error = await homes.open(await homes.directory(), { storage: 'disagg', pageLogRetain: retain as number }).then(
        () => undefined,
        (failure: unknown) => failure as { code: string; location: { key?: string } },
      );
      expect(error, String(retain)).to.deep.include({ code: 'CONFIG_INVALID' });
      expect(error!.location.key).to.equal('pageLogRetain');
    }
  });
});
