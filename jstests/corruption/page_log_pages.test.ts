import { expect } from 'chai';
import { cp, mkdtemp, open, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runReadPath, ShimProcess } from '../libs/index.js';
import { buildSampleHome, type SampleHome } from './sample_homes.js';

/**
 * LMDB keeps no checksums and trusts every page its trees point to; the page log's build of it
 * (`engine/page_log/lmdb/addon/`, fix `damaged-pages-are-errors`) reports a page that is not the
 * one its tree asked for as MDB_CORRUPTED instead of aborting the process, and the page log
 * reports it as corruption. A disaggregated home whose page log lost its tree pages is reported
 * by every read-path command (exit 2) and refused by the server (exit 6, a corruption), none
 * dying by a signal.
 */

/** LMDB's page size on the machines the project runs on, and its two meta pages. */
const LMDB_PAGE_BYTES = 4096;
const META_PAGES = 2;

describe('page log: damaged LMDB pages are reported, never an abort', function () {
  this.timeout(180_000);
  let home: SampleHome;
  let work: string;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'jstest-lmdb-pages-'));
    home = await buildSampleHome('disagg');
  });

  after(async () => {
    await home?.cleanup();
    await rm(work, { recursive: true, force: true });
  });

  /** A copy of the sample home with `[from, to)` of its page log's data file zeroed. */
  async function copyWithZeroedBytes(name: string, range: (fileBytes: number) => { from: number; to: number }): Promise<string> {
    const copy = join(work, name);
    await cp(home.dbpath, copy, { recursive: true });
    const dataFile = join(copy, 'pagelog', 'data.mdb');
    const { from, to } = range((await stat(dataFile)).size);
    const handle = await open(dataFile, 'r+');
    try {
      await handle.write(Buffer.alloc(to - from), 0, to - from, from);
    } finally {
      await handle.close();
    }
    return copy;
  }

  async function expectReportedAndRefused(dbpath: string): Promise<void> {
    const verify = await runReadPath(['verify', dbpath]);
    expect(verify.signal).to.equal(undefined);
    expect(verify.exitCode, verify.stderr).to.equal(2);
    expect(verify.stdout + verify.stderr).to.match(/PAGE_LOG_(RECORD_INVALID|UNREADABLE)/);
    for (const command of [['list', '-v'], ['dump', 'table:app.c'], ['stat']]) {
      const result = await runReadPath([command[0]!, dbpath, ...command.slice(1)]);
      expect(result.signal, command.join(' ')).to.equal(undefined);
      expect(result.exitCode, `${command.join(' ')}: ${result.stderr}`).to.equal(2);
      expect(result.stderr, command.join(' ')).to.not.contain('Assertion');
    }
    const shim = new ShimProcess({ ...home.shimOptions, dbpath });
    try {
      await shim.start().then(() => expect.fail('the server served a page log whose trees are damaged'), () => undefined);
      expect(shim.exit?.signal).to.equal(undefined);
      expect(shim.exit?.exitCode).to.equal(6);
      const fatal = shim.logLines().find((line) => line.s === 'F');
      expect(fatal?.attr?.errorClass, fatal?.msg).to.equal('corruption');
    } finally {
      await shim.cleanup();
    }
  }

  it('every page after the meta pages zeroed: the tool exits 2 and the server 6, no process aborts', async () => {
    await expectReportedAndRefused(await copyWithZeroedBytes('all-zeroed', (fileBytes) => ({ from: META_PAGES * LMDB_PAGE_BYTES, to: fileBytes })));
  });

  it('two tree pages zeroed where a damage campaign found an abort: the tool exits 2 and the server 6, no process aborts', async () => {
    // Bytes 13567 to 17590 of the campaign's copy: the end of page 3 and most of page 4. The
    // sample home is built alike each time; a layout in which page 4 is not a page a tree
    // reaches would test nothing, so it is checked first (the page header of the LMDB lmdb-js
    // builds: its number and the transaction that wrote it, 8 bytes each; 2 bytes of padding;
    // its flags, P_BRANCH 1, P_LEAF 2 or P_OVERFLOW 4 for the first page of a large value).
    const data = await readFile(join(home.dbpath, 'pagelog', 'data.mdb'));
    const page = data.subarray(4 * LMDB_PAGE_BYTES);
    expect(Number(page.readBigUInt64LE(0)), 'page 4 of the sample page log carries its number').to.equal(4);
    expect(page.readUInt16LE(18) & 0x7, 'page 4 of the sample page log is a tree page').to.not.equal(0);
    await expectReportedAndRefused(await copyWithZeroedBytes('pages-3-4', () => ({ from: 13_567, to: 17_591 })));
  });
});
