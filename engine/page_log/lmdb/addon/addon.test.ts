import { expect } from 'chai';
import { execa } from 'execa';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { open } from 'lmdb';
import { withDir } from 'tmp-promise';
import { EngineError, ErrorCode } from '../../../errors.js';
import { ADDON_FILE, ADDON_STAMP_FILE, checkFixedAddon, expectedAddonStamp, lmdbPackageDirectory } from './installed_addon.js';
import { applySourceFixes, LMDB_SOURCE_FIXES } from './source_fixes.js';

const here = dirname(fileURLToPath(import.meta.url));
const sharedStoreProcess = join(here, 'shared_store_process.js');
const installedPackage = lmdbPackageDirectory(here);
const fixedAddon = join(installedPackage, ADDON_FILE);

describe('page log: the build of LMDB\'s addon with the page log\'s fixes', () => {
  it('loses no commit while other processes open and close the store, and no opener fails', async function () {
    this.timeout(60_000);
    await withDir(async ({ path }) => {
      const store = join(path, 'store');
      const created = open({ path: store, overlappingSync: false });
      await created.close();
      const run = (role: string) => execa(process.execPath, [sharedStoreProcess, role, store, '2500'], { reject: false, all: true });
      // The writer starts first: the openers then never open the store alone.
      const writer = run('writer');
      await new Promise((resolve) => setTimeout(resolve, 200));
      const [written, ...opened] = await Promise.all([writer, run('opener'), run('opener')]);
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
        expect(fixed.split(fix.replace).length - 1, fix.name).to.equal(1);
        expect(fixed.includes(fix.find), fix.name).to.equal(false);
      }
      // Fixed already: the pieces are gone.
      expect(() => applySourceFixes(path)).to.throw(/open-keeps-shared-txnid is found 0 times/);
      // A piece found twice: which of the two to change is not known.
      copyFileSync(join(installedPackage, file), join(path, file));
      writeFileSync(join(path, file), readFileSync(join(path, file), 'utf8') + LMDB_SOURCE_FIXES[1]!.find);
      expect(() => applySourceFixes(path)).to.throw(/close-keeps-shared-mutexes is found 2 times/);
    }, { unsafeCleanup: true });
  });

  it('is required before a page log opens: a package without the build\'s stamp, or with another, is refused', async () => {
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
      writeFileSync(join(packageDirectory, ADDON_STAMP_FILE), JSON.stringify(stamp));
      checkFixedAddon(packageDirectory);
    }, { unsafeCleanup: true });
  });

  it('is installed, stamped for this Node, in the lmdb package the project loads', () => {
    expect(existsSync(fixedAddon)).to.equal(true);
    expect(JSON.parse(readFileSync(join(installedPackage, ADDON_STAMP_FILE), 'utf8'))).to.deep.equal(expectedAddonStamp(installedPackage));
    checkFixedAddon(installedPackage);
  });
});
