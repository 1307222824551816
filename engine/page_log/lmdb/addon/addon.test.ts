import { expect } from 'chai';
import { execa } from 'execa';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { open } from 'lmdb';
import { withDir } from 'tmp-promise';
import { EngineError, ErrorCode } from '../../../errors.js';
import { openPageLog } from '../../index.js';
import { ADDON_FILE, ADDON_STAMP_FILE, checkFixedAddon, expectedAddonStamp, lmdbPackageDirectory, nativeAddonsMapped } from './installed_addon.js';
import { applySourceFixes, LMDB_SOURCE_FIXES } from './source_fixes.js';

const here = dirname(fileURLToPath(import.meta.url));
const sharedStoreProcess = join(here, 'shared_store_process.js');
const openProbe = join(here, '..', 'open_probe.js');
const installedPackage = lmdbPackageDirectory(here);
const fixedAddon = join(installedPackage, ADDON_FILE);

describe('page log: the build of LMDB\'s addon with the page log\'s fixes', () => {
  it('loses no commit while other processes open and close the store, and no opener fails', async function () {
    this.timeout(60_000);
    await withDir(async ({ path }) => {
      const store = join(path, 'store');
      const created = open({ path: store, overlappingSync: false });
      await created.close();
      const run = (role: string, milliseconds: number) => execa(process.execPath, [sharedStoreProcess, role, store, String(milliseconds)], { reject: false, all: true });
      // While the writer runs, the openers open the store as it commits (the shared transaction
      // id). After it has closed they go on for a while, each opening while the other closes
      // (the shared mutexes): a closer alone with the store destroyed them.
      const writer = run('writer', 2000);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const [written, ...opened] = await Promise.all([writer, run('opener', 2600), run('opener', 2600)]);
      for (const child of [written, ...opened]) expect(child.exitCode, child.all).to.equal(0);
      const writes = JSON.parse(written.stdout) as { transactions: number; lost: number; addons: string[] };
      // With the addon as lmdb ships it, the writer failed with MDB_BAD_TXN or lost commits,
      // and openers failed with EINVAL, within a fraction of a second.
      expect(writes.lost).to.equal(0);
      expect(writes.transactions).to.be.above(1000);
      expect(writes.addons).to.deep.equal([fixedAddon]);
      for (const opener of opened) {
        const opens = JSON.parse(opener.stdout) as { opens: number; addons: string[] };
        expect(opens.opens).to.be.above(20);
        expect(opens.addons).to.deep.equal([fixedAddon]);
      }
    }, { unsafeCleanup: true });
  });

  it('applies each fix to the sources once, and refuses sources where a fix\'s piece is not found exactly once', async () => {
    await withDir(async ({ path }) => {
      const file = LMDB_SOURCE_FIXES[0]!.file;
      mkdirSync(dirname(join(path, file)), { recursive: true });
      copyFileSync(join(installedPackage, file), join(path, file));
      applySourceFixes(path);
      const fixed = readFileSync(join(path, file), 'utf8');
      for (const fix of LMDB_SOURCE_FIXES) {
        for (const { find, replace, count = 1 } of fix.pieces) {
          expect(fixed.split(replace).length - 1, fix.name).to.equal(count);
          // A piece that adds to its text (a definition, a check before a label) keeps it.
          if (!replace.includes(find)) expect(fixed.includes(find), fix.name).to.equal(false);
        }
      }
      // Fixed already: the pieces are gone.
      expect(() => applySourceFixes(path)).to.throw(/piece 1 of fix open-keeps-shared-txnid is found 0 times instead of once/);
      // A piece found twice: which of the two to change is not known.
      copyFileSync(join(installedPackage, file), join(path, file));
      writeFileSync(join(path, file), readFileSync(join(path, file), 'utf8') + LMDB_SOURCE_FIXES[1]!.pieces[0]!.find);
      expect(() => applySourceFixes(path)).to.throw(/piece 1 of fix close-keeps-shared-mutexes is found 2 times instead of once/);
      // A piece found fewer times than it says.
      copyFileSync(join(installedPackage, file), join(path, file));
      const leafChecks = LMDB_SOURCE_FIXES[2]!.pieces.find(({ count }) => count === 3)!.find;
      writeFileSync(join(path, file), readFileSync(join(path, file), 'utf8').replace(leafChecks, ''));
      expect(() => applySourceFixes(path)).to.throw(/of fix damaged-pages-are-errors is found 2 times instead of 3 times/);
    }, { unsafeCleanup: true });
  });

  it('refuses a package without the build\'s stamp, or with another', async () => {
    await withDir(async ({ path }) => {
      const packageDirectory = join(path, 'lmdb');
      mkdirSync(join(packageDirectory, 'build'), { recursive: true });
      cpSync(join(installedPackage, 'package.json'), join(packageDirectory, 'package.json'));
      const refused = (): EngineError => {
        try {
          checkFixedAddon(packageDirectory);
        } catch (error) {
          return error as EngineError;
        }
        throw new Error('checkFixedAddon accepted the package');
      };
      expect(refused().code).to.equal(ErrorCode.PageLog);
      expect(refused().message).to.match(/its stamp .*: none, or no .*; expected .*run npm run build/);
      const stamp = expectedAddonStamp(packageDirectory);
      // A stamp without the addon it names.
      writeFileSync(join(packageDirectory, ADDON_STAMP_FILE), JSON.stringify(stamp));
      expect(refused().code).to.equal(ErrorCode.PageLog);
      mkdirSync(dirname(join(packageDirectory, ADDON_FILE)), { recursive: true });
      writeFileSync(join(packageDirectory, ADDON_FILE), 'an addon');
      writeFileSync(join(packageDirectory, ADDON_STAMP_FILE), JSON.stringify({ ...stamp, fixes: stamp.fixes.slice(1) }));
      expect(refused().message).to.include('close-keeps-shared-mutexes');
      writeFileSync(join(packageDirectory, ADDON_STAMP_FILE), JSON.stringify({ ...stamp, abi: '1' }));
      expect(refused().code).to.equal(ErrorCode.PageLog);
      // The same fixes by name, another text.
      writeFileSync(join(packageDirectory, ADDON_STAMP_FILE), JSON.stringify({ ...stamp, fixesDigest: '00000000' }));
      expect(refused().message).to.include('"fixesDigest":"00000000"');
      writeFileSync(join(packageDirectory, ADDON_STAMP_FILE), JSON.stringify(stamp));
      checkFixedAddon(packageDirectory);
    }, { unsafeCleanup: true });
  });

  it('is checked before a page log opens: with the build but without its stamp, the store is refused', async function () {
    this.timeout(60_000);
    await withDir(async ({ path }) => {
      // A copy of the built engine beside node_modules whose lmdb has the addon and no stamp.
      const projectRoot = join(here, '..', '..', '..', '..', '..');
      cpSync(join(projectRoot, 'package.json'), join(path, 'package.json'));
      cpSync(join(projectRoot, 'dist', 'engine'), join(path, 'dist', 'engine'), { recursive: true });
      mkdirSync(join(path, 'node_modules'));
      for (const entry of readdirSync(join(projectRoot, 'node_modules'))) {
        if (entry !== 'lmdb') symlinkSync(join(projectRoot, 'node_modules', entry), join(path, 'node_modules', entry));
      }
      cpSync(installedPackage, join(path, 'node_modules', 'lmdb'), { recursive: true, filter: (source) => source !== join(installedPackage, ADDON_STAMP_FILE) });
      const store = join(path, 'pagelog');
      await (await openPageLog(store)).close();
      const copiedProbe = join(path, 'dist', 'engine', 'page_log', 'lmdb', 'open_probe.js');
      const refused = JSON.parse((await execa(process.execPath, [copiedProbe, store, 'ro'])).stdout) as { ok: boolean; code: string; message: string };
      expect(refused).to.include({ ok: false, code: ErrorCode.PageLog });
      expect(refused.message).to.include('is not the page log\'s build for this Node');
    }, { unsafeCleanup: true });
  });

  it('is what a page log runs on: one opened where lmdb\'s finder is told to pass over the build is refused', async function () {
    this.timeout(60_000);
    if (nativeAddonsMapped() === undefined) this.skip();
    await withDir(async ({ path }) => {
      const store = join(path, 'pagelog');
      await (await openPageLog(store)).close();
      const probe = (env: Record<string, string>) => execa(process.execPath, [openProbe, store, 'ro'], { env, all: true });
      expect(JSON.parse((await probe({})).stdout)).to.include({ ok: true });
      const refused = JSON.parse((await probe({ PREBUILDS_ONLY: '1' })).stdout) as { ok: boolean; code: string; message: string };
      expect(refused).to.include({ ok: false, code: ErrorCode.PageLog });
      expect(refused.message).to.include(`instead of the page log's build ${fixedAddon}`);
    }, { unsafeCleanup: true });
  });

  it('is installed, stamped for this Node, in the lmdb package the project loads', () => {
    expect(existsSync(fixedAddon)).to.equal(true);
    expect(JSON.parse(readFileSync(join(installedPackage, ADDON_STAMP_FILE), 'utf8'))).to.deep.equal(expectedAddonStamp(installedPackage));
    checkFixedAddon(installedPackage);
  });
});
