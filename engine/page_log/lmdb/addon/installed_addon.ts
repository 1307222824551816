/**
 * Where the page log's build of LMDB's addon is installed, and the check that the lmdb package
 * a process loads runs it.
 *
 * The build (`build_addon.ts`) writes the addon where lmdb's own finder looks first, the
 * package's `build/Release/lmdb.node`, and a stamp beside it naming what it was built from:
 * the package's version, Node's ABI, the system and the fixes (`source_fixes.ts`).
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ErrorCode, PageLogError } from '../../../errors.js';
import { LMDB_SOURCE_FIXES } from './source_fixes.js';

export const ADDON_FILE = join('build', 'Release', 'lmdb.node');
export const ADDON_STAMP_FILE = join('build', 'page-log-fixes.json');

/**
 * The lmdb package a module in `fromDirectory` loads: the first `node_modules/lmdb` up from
 * there (its `package.json` is not among the package's exports, so it cannot be resolved).
 */
export function lmdbPackageDirectory(fromDirectory: string): string {
  const searched = createRequire(join(fromDirectory, 'index.js')).resolve.paths('lmdb') ?? [];
  const found = searched.map((directory) => join(directory, 'lmdb')).find((directory) => existsSync(join(directory, 'package.json')));
  if (found === undefined) throw new PageLogError(`no lmdb package installed for ${fromDirectory}`, { file: fromDirectory }, ErrorCode.PageLog);
  return realpathSync(found);
}

export interface AddonStamp {
  lmdb: string;
  abi: string;
  platform: string;
  arch: string;
  fixes: string[];
}

/** The stamp a build for this process and the package at `packageDirectory` carries. */
export function expectedAddonStamp(packageDirectory: string): AddonStamp {
  const { version } = JSON.parse(readFileSync(join(packageDirectory, 'package.json'), 'utf8')) as { version: string };
  return { lmdb: version, abi: process.versions.modules, platform: process.platform, arch: process.arch, fixes: LMDB_SOURCE_FIXES.map((fix) => fix.name) };
}

/** The stamp installed in the package at `packageDirectory`, or undefined when there is none readable. */
export function installedAddonStamp(packageDirectory: string): AddonStamp | undefined {
  try {
    return JSON.parse(readFileSync(join(packageDirectory, ADDON_STAMP_FILE), 'utf8')) as AddonStamp;
  } catch {
    return undefined;
  }
}

export function sameStamp(a: AddonStamp | undefined, b: AddonStamp): boolean {
  return a !== undefined && JSON.stringify(a) === JSON.stringify(b);
}

const checked = new Set<string>();

/**
 * Throws `PAGE_LOG` unless the lmdb package at `packageDirectory` has the page log's build of
 * its addon installed for this Node: without it, processes sharing a store can lose commits.
 */
export function checkFixedAddon(packageDirectory: string): void {
  if (checked.has(packageDirectory)) return;
  const expected = expectedAddonStamp(packageDirectory);
  const installed = existsSync(join(packageDirectory, ADDON_FILE)) ? installedAddonStamp(packageDirectory) : undefined;
  if (!sameStamp(installed, expected)) {
    const found = installed === undefined ? `none, or no ${ADDON_FILE}` : JSON.stringify(installed);
    throw new PageLogError(
      `lmdb's addon in ${packageDirectory} is not the page log's build for this Node (its stamp ${ADDON_STAMP_FILE}: ${found}; expected ${JSON.stringify(expected)}); run npm run build (engine/page_log/lmdb/addon/README.md)`,
      { file: join(packageDirectory, ADDON_STAMP_FILE) },
      ErrorCode.PageLog,
    );
  }
  checked.add(packageDirectory);
}
