import { cpSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { ConnectionConfig } from '../../engine/api.js';
import { openPageLog } from '../../engine/page_log/index.js';
import { testHomes } from '../../engine/testing/homes.js';
import { writeSampleHome } from '../../engine/verify/testing.js';
import { runCli, runCliJson } from './testing.js';

/** The dump body `writeSampleHome` leaves in `table:t`. */
function expectedRecords(): string {
  let text = '';
  for (let i = 0; i < 2000; i++) {
    const value = i % 7 === 0 ? `rewritten-${i}` : `value-${i}-${'x'.repeat(i % 50)}`;
    text += `key${String(i).padStart(6, '0')}\\00\n${value}\\00\n`;
  }
  return text;
}

describe('wt-readpath on homes the engine writes', () => {
  const homes = testHomes('readpath-engine-');

  for (const [label, config] of [
    ['local', { storage: 'local' }],
    ['disaggregated', { storage: 'disagg' }],
    ['disaggregated with the example key provider', { storage: 'disagg', keyProvider: 'example' }],
  ] as Array<[string, ConnectionConfig]>) {
    it(`verifies, lists and dumps a ${label} home`, async () => {
      const home = await homes.directory();
      const connection = await writeSampleHome(homes.open, home, config);
      await connection.close();

      const verify = await runCli(['verify', home]);
      expect(verify.exitCode, verify.stdout + verify.stderr).to.equal(0);
      expect(verify.stdout).to.equal('');

      const dump = await runCli(['dump', home, 'table:t']);
      expect(dump.exitCode, dump.stderr).to.equal(0);
      const [header, body] = [dump.stdout.slice(0, dump.stdout.indexOf('Data\n') + 5), dump.stdout.slice(dump.stdout.indexOf('Data\n') + 5)];
      expect(header).to.match(/^WiredTiger Dump \(WiredTiger Version 12\.0\.0\)\nFormat=print\nHeader\ntable:t\naccess_pattern_hint=none,.*key_format=S,.*source="file:t\.wt",.*value_format=S,verbose=\[\],write_timestamp_usage=none\nData\n$/);
      expect(body === expectedRecords()).to.equal(true);

      const list = await runCliJson<Array<{ uri: string; id?: number; shared: boolean }>>(['list', home]);
      const file = list.document.find((e) => e.uri === 'file:t.wt')!;
      expect(file.shared).to.equal(config.storage === 'disagg');
      expect(file.id).to.be.a('number');
      if (config.storage === 'disagg') {
        expect(list.document.find((e) => e.uri === 'file:local.wt')).to.include({ shared: false });
        const text = await runCli(['list', home]);
        expect(text.stdout).to.equal('colgroup:local\nfile:local.wt\ntable:local\nshared metadata:\ncolgroup:t\nfile:t.wt\ntable:t\n');
        const local = await runCli(['dump', '-x', home, 'local']);
        expect(local.exitCode).to.equal(0);
        expect(local.stdout).to.contain('Data\n80\n0001\n81\n0102\n');
      }

      const stat = await runCliJson<{ storage: string; trees: Array<{ uri: string; records: number }> }>(['stat', home]);
      expect(stat.document.storage).to.equal(config.storage);
      expect(stat.document.trees.find((t) => t.uri === 'file:t.wt')!.records).to.equal(2000);
    });
  }

  it('shows the turtle pages, completion records and log of a disaggregated home', async () => {
    const home = await homes.directory();
    const connection = await writeSampleHome(homes.open, home, { storage: 'disagg', pageLogRetain: 'all' });
    await connection.close();
    const turtle = await runCliJson<{ completionRecords: Array<{ lsn: number; newest: boolean }>; turtlePage: { checksumStatus: string; lsn: number; completionLsn: number } }>(['turtle', home]);
    expect(turtle.exitCode).to.equal(0);
    const completions = turtle.document.completionRecords;
    expect(completions.length).to.be.at.least(2);
    expect(turtle.document.turtlePage.checksumStatus).to.equal('matches');
    expect(turtle.document.turtlePage.completionLsn).to.equal(completions[completions.length - 1]!.lsn);
    const older = await runCliJson<{ turtlePage: { completionLsn: number; checksumStatus: string } }>(['turtle', home, '--lsn', String(completions[0]!.lsn)]);
    expect(older.document.turtlePage).to.include({ completionLsn: completions[0]!.lsn, checksumStatus: 'matches' });
    const text = await runCli(['turtle', home]);
    expect(text.stdout).to.contain('WiredTiger.turtle:\n  WiredTiger version string: WiredTiger 12.0.0');
    expect(text.stdout).to.match(/turtle page \(LSN \d+, named by completion record \d+\):\n  checksum 0x[0-9a-f]{8} \(matches\)\n  version=1,compatible_version=1,\n  checkpoint=\(WiredTigerCheckpoint/);

    const log = await runCliJson<{ records: Array<{ kind: string; lsn: number }> }>(['log', home, '--from', '2', '--to', String(completions[0]!.lsn)]);
    expect(log.document.records[0]!.lsn).to.equal(2);
    expect(log.document.records[log.document.records.length - 1]).to.include({ kind: 'complete', lsn: completions[0]!.lsn });

    const firstPage = (await runCliJson<{ records: Array<{ kind: string; lsn: number; tableId: number; pageId: number }> }>(['log', home])).document.records
      .find((r) => r.kind === 'page' && r.tableId === 10)!;
    const page = await runCli(['page', home, '--table-id', '10', '--page-id', String(firstPage.pageId), '--lsn', String(firstPage.lsn)]);
    expect(page.exitCode, page.stderr).to.equal(0);
    expect(page.stdout).to.match(/disagg header: magic 0xdb, version 1, compatible version 1, header size 44/);
  });

  it('shows key-provider pages with their key version and never their key bytes', async () => {
    const home = await homes.directory();
    const connection = await writeSampleHome(homes.open, home, { storage: 'disagg', keyProvider: 'example', pageLogRetain: 'all' });
    connection.requestKeyRotation();
    await connection.checkpoint();
    await connection.close();
    const log = await openPageLog(`${home}/pagelog`, { readOnly: true });
    const keys: string[] = [];
    for (const entry of log.records()) {
      if (entry.kind !== 'page' || entry.record.tableId !== 26) continue;
      const page = log.openHandle(26).get(1, entry.record.lsn)[0]!.image;
      keys.push(page.subarray(24 + 16, 24 + 48).toString('hex'));
    }
    await log.close();
    expect(keys).to.have.length(2);

    const text = await runCli(['keys', home]);
    expect(text.exitCode, text.stderr).to.equal(0);
    expect(text.stdout).to.match(/key-provider page LSN \d+ \(current; named by checkpoint/);
    expect(text.stdout).to.contain('keyVersion 1').and.contain('keyVersion 2');
    expect(text.stdout).to.contain('(ok)');
    const json = await runCliJson<{ current: number; pages: Array<{ lsn: number; current: boolean; key: { keyVersion: number; module: string } }> }>(['keys', home]);
    expect(json.document.pages.map((p) => p.key.keyVersion)).to.deep.equal([1, 2]);
    expect(json.document.pages[1]).to.include({ current: true, lsn: json.document.current });
    const everything = [text.stdout, text.stderr, json.stdout, json.stderr,
      (await runCli(['page', home, '--table-id', '26', '--page-id', '1', '--lsn', String(json.document.current)])).stdout,
      (await runCli(['log', home])).stdout].join('\n');
    for (const key of keys) {
      expect(everything).not.to.contain(key);
      expect(everything).not.to.contain(Buffer.from(key, 'hex').toString('base64'));
    }
  });

  describe('which checkpoint of the page log it reads', () => {
    /** A disaggregated home whose shared table `table:t` holds `which` -> `value`, checkpointed. */
    async function homeWith(value: string): Promise<{ home: string; connection: Awaited<ReturnType<typeof homes.open>> }> {
      const home = await homes.directory();
      // Every version kept: the checkpoints after the one saved below stay in the log.
      const connection = await homes.open(home, { storage: 'disagg', pageLogRetain: 'all' });
      connection.createTable('table:t', 'key_format=S,value_format=S');
      connection.openSession().openCursor('table:t').put('which', value);
      await connection.checkpoint();
      return { home, connection };
    }

    it('reads the checkpoint the local metadata pairs with, not a newer one a crash left unpaired', async () => {
      const { home, connection } = await homeWith('first');
      // The local files as a crash between the next completion record and the turtle rename
      // leaves them: the log moves on, the local metadata still pairs with the first checkpoint.
      const saved = await homes.directory();
      for (const file of readdirSync(home)) if (file !== 'pagelog') cpSync(join(home, file), join(saved, file));
      connection.openSession().openCursor('table:t').put('which', 'second');
      await connection.checkpoint();
      await connection.close();
      for (const file of readdirSync(saved)) cpSync(join(saved, file), join(home, file));

      const dump = await runCli(['dump', home, 'table:t']);
      expect(dump.exitCode, dump.stderr).to.equal(0);
      expect(dump.stdout).to.match(/Data\nwhich\\00\nfirst\\00\n$/);
      const verify = await runCli(['verify', home]);
      expect(verify.exitCode, verify.stdout + verify.stderr).to.equal(0);
      // turtle shows the paired checkpoint's turtle page, and marks which record is which.
      const turtle = await runCliJson<{ completionRecords: Array<{ lsn: number; newest: boolean; paired: boolean }>; turtlePage: { completionLsn: number } }>(['turtle', home]);
      const records = turtle.document.completionRecords;
      const paired = records.find((r) => r.paired)!;
      expect(paired.newest).to.equal(false);
      expect(records[records.length - 1]!.newest).to.equal(true);
      expect(turtle.document.turtlePage.completionLsn).to.equal(paired.lsn);
      expect((await runCli(['turtle', home])).stdout).to.contain(`LSN ${paired.lsn}: `).and.contain('[paired with the local metadata]');
      // The engine opens the same checkpoint.
      const reopened = await homes.open(home, { storage: 'disagg', readOnly: true });
      expect(reopened.openSession().openCursor('table:t').get('which')).to.equal('first');
      await reopened.close();
    });

    it('exits 2 with PAGE_LOG_MISMATCH for another database\'s page log', async () => {
      const mine = await homeWith('mine');
      await mine.connection.close();
      const theirs = await homeWith('theirs');
      await theirs.connection.close();
      const result = await runCliJson<{ findings: Array<{ code: string; location: { file?: string; lsn?: number } }> }>(['verify', mine.home, '--page-log', join(theirs.home, 'pagelog')]);
      expect(result.exitCode, result.stderr).to.equal(2);
      expect(result.document.findings.map((f) => f.code)).to.deep.equal(['PAGE_LOG_MISMATCH']);
      expect(result.document.findings[0]!.location.lsn).to.be.a('number');
      const dump = await runCli(['dump', mine.home, 'table:t', '--page-log', join(theirs.home, 'pagelog')]);
      expect(dump.exitCode).to.equal(2);
      expect(dump.stdout).not.to.contain('theirs');
      expect(dump.stderr).to.contain('PAGE_LOG_MISMATCH');
    });
  });
});
