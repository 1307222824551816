import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeKeyProviderPage } from '../../engine/key_provider/index.js';
import { testHomes } from '../../engine/testing/homes.js';
import type { Finding } from '../../engine/verify/index.js';
import {
  appendCheckpoint, copyFixture, editNewestStoreValue, flipByte, flipInStore, writeSampleHome,
} from '../../engine/verify/testing.js';
import { runCli, runCliJson } from './testing.js';

interface VerifyDocument {
  ok: boolean;
  exitCode: number;
  findings: Finding[];
}

/** Runs `verify --json` and checks it exits 2 with a finding carrying `code` and `location`. */
async function expectCorruption(home: string, code: string, location: Partial<Finding['location']>): Promise<Finding[]> {
  const result = await runCliJson<VerifyDocument>(['verify', home]);
  expect(result.exitCode, result.stderr).to.equal(2);
  expect(result.document.ok).to.equal(false);
  const match = result.document.findings.find((f) => f.code === code && Object.entries(location).every(([k, v]) => f.location[k as keyof Finding['location']] === v));
  expect(match, `no ${code} at ${JSON.stringify(location)} in ${JSON.stringify(result.document.findings)}`).to.not.equal(undefined);
  expect(match!.severity).to.equal('error');
  // The same run in text form prints the finding with its location.
  const text = await runCli(['verify', home]);
  expect(text.exitCode).to.equal(2);
  expect(text.stdout).to.contain(`error ${code}: `);
  return result.document.findings;
}

describe('wt-readpath verify on damaged homes', () => {
  const homes = testHomes('readpath-damage-');

  describe('a WiredTiger home with one byte flipped', () => {
    // small/home: strings.wt holds leaf 4096, root 8192, alloc list 12288, avail list 16384;
    // WiredTiger.wt holds root 4096, alloc 8192, avail 12288, a leaf at 20480 and old pages.
    const cases: Array<[string, string, number, string, Partial<Finding['location']>]> = [
      ['the descriptor block', 'strings.wt', 200, 'DESCRIPTOR_CHECKSUM', { file: 'strings.wt', offset: 8 }],
      ['a page header', 'strings.wt', 4096 + 20, 'BLOCK_CHECKSUM', { file: 'strings.wt', offset: 4096 + 32 }],
      ['a block header', 'strings.wt', 4096 + 29, 'BLOCK_HEADER_INVALID', { file: 'strings.wt', offset: 4096 + 28 }],
      ['a cell', 'strings.wt', 4096 + 77, 'BLOCK_CHECKSUM', { file: 'strings.wt', offset: 4096 + 32 }],
      ['an address cookie in the root page', 'strings.wt', 8192 + 46, 'BLOCK_CHECKSUM', { file: 'strings.wt', offset: 8192 + 32 }],
      ['the alloc extent list', 'strings.wt', 12288 + 42, 'BLOCK_CHECKSUM', { file: 'strings.wt', offset: 12288 + 32, checkpoint: 'WiredTigerCheckpoint.1' }],
      ['the avail extent list', 'strings.wt', 16384 + 41, 'BLOCK_CHECKSUM', { file: 'strings.wt', offset: 16384 + 32 }],
      ['a page of WiredTiger.wt (the metadata entries)', 'WiredTiger.wt', 20480 + 300, 'BLOCK_CHECKSUM', { file: 'WiredTiger.wt', offset: 20480 + 32 }],
      ['the root of WiredTiger.wt', 'WiredTiger.wt', 4096 + 45, 'BLOCK_CHECKSUM', { file: 'WiredTiger.wt', offset: 4096 + 32 }],
      ['the history store descriptor', 'WiredTigerHS.wt', 1000, 'DESCRIPTOR_CHECKSUM', { file: 'WiredTigerHS.wt', offset: 8 }],
    ];
    for (const [what, file, offset, code, location] of cases) {
      it(`exits 2 for ${what}`, async () => {
        const home = copyFixture('small', await homes.directory());
        flipByte(join(home, file), offset);
        await expectCorruption(home, code, location);
      });
    }

    it('exits 2 for an address cookie changed in the turtle file', async () => {
      const home = copyFixture('small', await homes.directory());
      const path = join(home, 'WiredTiger.turtle');
      writeFileSync(path, readFileSync(path, 'utf8').replace('addr="018081e447396841', 'addr="018081e447396842'));
      await expectCorruption(home, 'BLOCK_CHECKSUM', { file: 'WiredTiger.wt', offset: 4096 + 32 });
    });

    it('exits 2 for a turtle file whose version does not parse', async () => {
      const home = copyFixture('small', await homes.directory());
      const path = join(home, 'WiredTiger.turtle');
      writeFileSync(path, readFileSync(path, 'utf8').replace('major=12,minor=0,patch=0', 'major=12,minor=0,patch=x'));
      await expectCorruption(home, 'TURTLE_FILE_INVALID', { file: 'WiredTiger.turtle' });
    });

    it('exits 2 for flips sampled across every block of the multilevel home', async function () {
      this.timeout(180_000);
      const home = copyFixture('multilevel', await homes.directory());
      const path = join(home, 'strings.wt');
      const original = readFileSync(path);
      let seed = 7;
      for (let round = 0; round < 6; round++) {
        seed = (seed * 48271) % 0x7fffffff;
        const offset = 4096 + (seed % (original.length - 4096));
        flipByte(path, offset);
        const result = await runCli(['verify', home]);
        expect(result.exitCode, `flip at ${offset}: ${result.stdout}`).to.equal(2);
        expect(result.stdout).to.match(/file strings\.wt/);
        writeFileSync(path, original);
      }
    });

    it('makes dump exit 2 and name the damage, and header exit 2 for a damaged descriptor', async () => {
      const home = copyFixture('records', await homes.directory());
      flipByte(join(home, 'records.wt'), 4096 + 500);
      const dump = await runCli(['dump', home, 'records']);
      expect(dump.exitCode).to.equal(2);
      expect(dump.stderr).to.contain('BLOCK_CHECKSUM').and.contain('file records.wt').and.contain('offset 4128');
      flipByte(join(home, 'records.wt'), 100);
      const header = await runCli(['header', join(home, 'records.wt')]);
      expect(header.exitCode).to.equal(2);
      expect(header.stderr).to.contain('descriptor checksum');
    });
  });

  describe('a disaggregated home', () => {
    async function disaggHome(keyProvider = false): Promise<string> {
      const home = await homes.directory();
      const connection = await writeSampleHome(homes.open, home, { storage: 'disagg', ...(keyProvider ? { keyProvider: 'example' } : {}) });
      await connection.close();
      return home;
    }

    it('exits 2 for a turtle page that fails its completion record checksum (put through the API)', async () => {
      const home = await disaggHome();
      const { turtleLsn } = await appendCheckpoint(home, { turtle: (text) => text.replace('schema_epoch=0', 'schema_epoch=1'), metadata: (m) => m.replace(/metadata_checksum=[0-9a-f]+/, 'metadata_checksum=abcdef') });
      await expectCorruption(home, 'TURTLE_PAGE_CHECKSUM', { tableId: 2, pageId: 1, lsn: turtleLsn });
      // The damaged checkpoint is not the one the home opens: turtle shows the paired one and
      // still reports the damage; asked for it, it shows the mismatch.
      const turtle = await runCli(['turtle', home]);
      expect(turtle.exitCode).to.equal(2);
      expect(turtle.stderr).to.contain('TURTLE_PAGE_CHECKSUM');
      const damaged = await runCli(['turtle', home, '--lsn', String(turtleLsn)]);
      expect(damaged.exitCode).to.equal(2);
      expect(damaged.stdout).to.contain('MISMATCH');
    });

    it('exits 2 for a turtle page changed in the store', async () => {
      const home = await disaggHome();
      expect(flipInStore(home, Buffer.from('largest_file_id='), 2)).to.be.above(0);
      await expectCorruption(home, 'PAGE_LOG_CHECKSUM', { tableId: 2, pageId: 1 });
    });

    it('exits 2 for a key-provider page with a bad checksum (put through the API)', async () => {
      const home = await disaggHome(true);
      const page = encodeKeyProviderPage({ blob: Buffer.alloc(48, 1), timestamp: 5n });
      page[26] = page[26]! ^ 0x10;
      const { keyProviderLsn } = await appendCheckpoint(home, { keyProviderPage: page });
      await expectCorruption(home, 'KEY_PROVIDER_PAGE_CHECKSUM', { tableId: 26, pageId: 1, lsn: keyProviderLsn! });
      const keys = await runCli(['keys', home]);
      expect(keys.exitCode).to.equal(2);
      expect(keys.stdout).to.contain('MISMATCH');
    });

    it('exits 2 for a key-provider page changed in the store', async () => {
      const home = await disaggHome(true);
      expect(flipInStore(home, Buffer.from('EXK1'), 1)).to.be.above(0);
      await expectCorruption(home, 'PAGE_LOG_CHECKSUM', { tableId: 26, pageId: 1 });
    });

    it('exits 2 for a completion record changed in the store', async () => {
      const home = await disaggHome();
      const key = await editNewestStoreValue(home, 'checkpoints', (value) => {
        value[40] = value[40]! ^ 0x02;
        return value;
      });
      await expectCorruption(home, 'COMPLETION_RECORD_INVALID', { lsn: Number(key.readBigUInt64BE(0)) });
    });

    it('exits 2 for a completion record naming a missing turtle page (written through the API)', async () => {
      const home = await disaggHome();
      await appendCheckpoint(home, { metadata: (m) => m.replace(/metadata_lsn=\d+/, 'metadata_lsn=1') });
      await expectCorruption(home, 'TURTLE_PAGE_MISSING', { tableId: 2, pageId: 1, lsn: 1 });
    });

    it('exits 2 for a shared btree page and a shared metadata page changed in the store', async () => {
      const home = await disaggHome();
      expect(flipInStore(home, Buffer.from('key001500\0'), 4)).to.be.above(0);
      const findings = await expectCorruption(home, 'PAGE_LOG_CHECKSUM', { uri: 'file:t.wt' });
      expect(findings.find((f) => f.code === 'PAGE_LOG_CHECKSUM')!.location.pageId).to.be.at.least(100);
      const other = await disaggHome();
      expect(flipInStore(other, Buffer.from('source="file:t.wt"'), 9)).to.be.above(0);
      await expectCorruption(other, 'PAGE_LOG_CHECKSUM', { tableId: 10 });
    });

    it('exits 2 for a local table file of a disaggregated home', async () => {
      const home = await disaggHome();
      flipByte(join(home, 'local.wt'), 4096 + 50);
      await expectCorruption(home, 'BLOCK_CHECKSUM', { file: 'local.wt', uri: 'file:local.wt' });
    });
  });
});
