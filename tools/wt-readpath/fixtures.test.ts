import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURE_HOMES, FIXTURE_TABLES, FIXTURES } from '../../engine/verify/testing.js';
import { runCli, runCliJson, snapshot } from './testing.js';

/** `wt list -v` output with what WiredTiger's own run changed (it checkpoints on close) taken out. */
function normalizeList(text: string): string[] {
  const lines = text.split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('system:')) {
      out.push(line);
      i++; // the checkpoint's own bookkeeping differs from run to run
      continue;
    }
    out.push(line.replace(/checkpoint=\(WiredTigerCheckpoint\.\d+=\([^)]*\)\)/, 'checkpoint=(...)'));
  }
  return out;
}

describe('wt-readpath on homes WiredTiger wrote', () => {
  for (const name of FIXTURE_HOMES) {
    const home = join(FIXTURES, name, 'home');
    const expected = join(FIXTURES, name, 'expected');
    const table = FIXTURE_TABLES[name];

    describe(name, () => {
      it('dumps exactly what wt dump printed', async () => {
        const result = await runCli(['dump', home, table]);
        expect(result.exitCode, result.stderr).to.equal(0);
        expect(result.stdout === readFileSync(join(expected, 'dump.txt'), 'utf8')).to.equal(true);
      });

      if (name !== 'multilevel') {
        it('dumps in hex exactly what wt dump -x printed', async () => {
          const result = await runCli(['dump', '-x', home, table]);
          expect(result.exitCode, result.stderr).to.equal(0);
          expect(result.stdout === readFileSync(join(expected, 'dump-hex.txt'), 'utf8')).to.equal(true);
        });
      }

      it('dumps the same records as one JSON document with --json', async () => {
        const result = await runCliJson<{ uri: string; config: string; format: string; records: Array<{ key: string; value: string }> }>(['dump', home, table, '--json']);
        expect(result.exitCode, result.stderr).to.equal(0);
        const text = readFileSync(join(expected, 'dump.txt'), 'utf8');
        const lines = text.slice(text.indexOf('Data\n') + 5).split('\n').slice(0, -1);
        const records = [];
        for (let i = 0; i < lines.length; i += 2) records.push({ key: lines[i]!, value: lines[i + 1]! });
        expect(result.document.records).to.deep.equal(records);
        expect(result.document.format).to.equal('print');
        expect(result.document.uri).to.equal(table.includes(':') ? table : `table:${table}`);
        expect(text).to.contain(`\n${result.document.config}\n`);
      });

      it('lists the metadata as wt list -v does, but for what wt changed by checkpointing', async () => {
        const result = await runCli(['list', '-v', home]);
        expect(result.exitCode, result.stderr).to.equal(0);
        expect(normalizeList(result.stdout)).to.deep.equal(normalizeList(readFileSync(join(expected, 'list-v.txt'), 'utf8')));
      });

      it('verifies clean with nothing on stdout, as wt verify did', async () => {
        const result = await runCli(['verify', home]);
        expect(result.exitCode, result.stdout + result.stderr).to.equal(0);
        expect(result.stdout).to.equal(readFileSync(join(expected, 'verify.txt'), 'utf8'));
        expect(result.stderr).to.match(/0 error\(s\), 0 warning\(s\)/);
      });

      it('verifies one table by name', async () => {
        const { exitCode, document } = await runCliJson<{ ok: boolean; findings: unknown[]; stats: { records: number } }>(['verify', home, '--uri', table]);
        expect(exitCode).to.equal(0);
        expect(document.ok).to.equal(true);
        expect(document.findings).to.deep.equal([]);
        expect(document.stats.records).to.be.above(10);
      });
    });
  }

  it('takes HOME from -h, before or after the subcommand, and from the current directory', async () => {
    const home = join(FIXTURES, 'small', 'home');
    const expected = readFileSync(join(FIXTURES, 'small', 'expected', 'dump.txt'), 'utf8');
    for (const [args, cwd] of [[['-h', home, 'dump', 'table:strings']], [['dump', '-h', home, 'strings']], [['dump', 'table:strings'], home]] as Array<[string[], string?]>) {
      const result = await runCli(args, { cwd });
      expect(result.exitCode, `${args.join(' ')}: ${result.stderr}`).to.equal(0);
      expect(result.stdout === expected, args.join(' ')).to.equal(true);
    }
  });

  it('prints one JSON document for every subcommand', async () => {
    const home = join(FIXTURES, 'records', 'home');
    const list = await runCliJson<Array<{ uri: string; id?: number; shared: boolean; config: string }>>(['list', home]);
    expect(list.document.map((e) => e.uri)).to.include.members(['file:WiredTiger.wt', 'file:records.wt', 'table:records', 'colgroup:records']);
    expect(list.document.find((e) => e.uri === 'file:records.wt')).to.include({ id: 2, shared: false });
    const dump = await runCliJson<{ uri: string; records: Array<{ key: string; value: string }> }>(['dump', home, 'table:records']);
    expect(dump.document.records).to.have.length(499);
    expect(dump.document.records[6]).to.deep.equal({ key: '\\88', value: 'overwritten' });
    for (const args of [['turtle', home], ['keys', home], ['log', home], ['stat', home], ['header', join(home, 'records.wt')],
      ['page', home, '--file', 'records.wt', '--offset', '4096', '--size', '16384']]) {
      const result = await runCliJson(args);
      expect(result.exitCode, `${args.join(' ')}: ${result.stderr}`).to.equal(0);
    }
  });

  it('never writes to the fixture homes', async () => {
    const before = snapshot(FIXTURES);
    const home = join(FIXTURES, 'small', 'home');
    for (const args of [['verify', home], ['list', '-c', '-v', home], ['dump', home, 'strings'], ['turtle', home], ['stat', home], ['keys', home], ['log', home]]) {
      expect((await runCli(args)).exitCode, args.join(' ')).to.equal(0);
    }
    expect(snapshot(FIXTURES)).to.deep.equal(before);
  });

  it('shows the descriptor and first block headers of a .wt file', async () => {
    const result = await runCli(['header', join(FIXTURES, 'small', 'home', 'strings.wt')]);
    expect(result.exitCode).to.equal(0);
    expect(result.stdout).to.contain('descriptor: magic 120897, version 1.0, checksum 0xb72308d8 (ok)');
    expect(result.stdout).to.match(/block at 4096: type 7 \(row leaf\).*checksum 0x[0-9a-f]{8} \(ok\)/);
    expect(result.stdout).to.match(/block at 8192: type 6 \(row internal\)/);
  });

  it('lists checkpoints the way wt list -c does', async () => {
    const result = await runCli(['list', '-c', join(FIXTURES, 'small', 'home')]);
    expect(result.exitCode).to.equal(0);
    expect(result.stdout).to.contain('file:strings.wt\n\t WiredTigerCheckpoint.1: ');
    expect(result.stdout).to.contain('\t\tfile-size: 20 KB, checkpoint-size: 4 KB\n\n\t\t          offset, size, checksum\n\t\troot    : 8192, 4096, ');
  });
});
