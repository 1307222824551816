/**
 * Where the page log's build of LMDB's addon is installed, and the checks that a process runs
 * it.
 *
 * The build (`build_addon.ts`) writes the addon where lmdb's own finder looks first, the
 * package's `build/Release/lmdb.node`, and a stamp beside it naming what it was built from:
 * the package's version, Node's ABI, the system, and the fixes (`source_fixes.ts`) by name and
 * by a digest of their text.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ErrorCode, PageLogError } from '../../../errors.js';
import { LMDB_SOURCE_FIXES } from './source_fixes.js';

export const ADDON_FILE = join('build', 'Release', 'lmdb.node');
export const ADDON_STAMP_FILE = join('build', 'page-log-fixes.json');

/** The settings with which lmdb's finder passes over a local build (`node-gyp-build-optional-packages`). */
const FINDER_SETTINGS = ['PREBUILDS_ONLY', 'LMDB_PREBUILD'];

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
  /** FNV-1a of every fix's name, file, piece and replacement: an edited fix is a new build. */
  fixesDigest: string;
}

/** 32-bit FNV-1a of `text`'s UTF-16 code units, in hex: a fingerprint, not a checksum of data. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index += 1) hash = Math.imul(hash ^ text.charCodeAt(index), 0x01000193);
  return (hash >>> 0).toString(16).padStart(8, '0');
}

/** The stamp a build for this process and the package at `packageDirectory` carries. */
export function expectedAddonStamp(packageDirectory: string): AddonStamp {
  const { version } = JSON.parse(readFileSync(join(packageDirectory, 'package.json'), 'utf8')) as { version: string };
  return {
    lmdb: version,
    abi: process.versions.modules,
    platform: process.platform,
    arch: process.arch,
    fixes: LMDB_SOURCE_FIXES.map((fix) => fix.name),
    fixesDigest: fnv1a(JSON.stringify(LMDB_SOURCE_FIXES)),
  };
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

const installedChecked = new Set<string>();

/**
 * Throws `PAGE_LOG` unless the lmdb package at `packageDirectory` has the page log's build of
 * its addon installed for this Node: without it, processes sharing a store can lose commits.
 */
export function checkFixedAddon(packageDirectory: string): void {
  if (installedChecked.has(packageDirectory)) return;
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
  installedChecked.add(packageDirectory);
}

/** The native addons process `pid` has mapped, from Linux's `/proc/PID/maps`; undefined where there is none. */
export function nativeAddonsMapped(pid: number | 'self' = 'self'): string[] | undefined {
  let maps: string;
  try {
    maps = readFileSync(`/proc/${pid}/maps`, 'latin1');
  } catch {
    return undefined;
  }
  const files = maps.split('\n').map((line) => line.split(/\s+/).slice(5).join(' '));
  return [...new Set(files.filter((file) => file.endsWith('.node')))];
}

let loadedChecked = false;

/**
 * Throws `PAGE_LOG` unless the lmdb addon this process has loaded is the page log's build in
 * the package at `packageDirectory`: lmdb's finder passes over it when told to
 * (`PREBUILDS_ONLY`, `LMDB_PREBUILD`). Read from the process's mapped files where Linux lists
 * them; elsewhere, those settings are refused.
 */
export function checkLoadedAddon(packageDirectory: string): void {
  if (loadedChecked) return;
  const fixed = join(packageDirectory, ADDON_FILE);
  const mapped = nativeAddonsMapped()?.filter((file) => file.includes('lmdb'));
  const wrong = mapped === undefined
    ? FINDER_SETTINGS.filter((name) => process.env[name] !== undefined).map((name) => `the one ${name} asks lmdb's finder for`)
    : mapped.length === 1 && mapped[0] === fixed ? [] : [mapped.join(', ') || 'no lmdb addon'];
  if (wrong.length > 0) {
    throw new PageLogError(
      `lmdb runs ${wrong.join(', ')} instead of the page log's build ${fixed} (engine/page_log/lmdb/addon/README.md; ${FINDER_SETTINGS.join(' and ')} make lmdb's finder pass over it)`,
      { file: fixed },
      ErrorCode.PageLog,
    );
  }
  loadedChecked = true;
}
