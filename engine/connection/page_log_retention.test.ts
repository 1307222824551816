import { cpSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { ConnectionConfig } from '../api.js';
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
