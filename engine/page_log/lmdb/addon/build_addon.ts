/**
 * `npm run build` (after `tsc`): builds lmdb's native addon from the sources the installed lmdb
 * package ships, with the page log's fixes (`source_fixes.ts`), and installs it where lmdb's
 * finder looks first (`installed_addon.ts`). Nothing is downloaded: node-gyp builds against
 * the Node headers on the machine (npm's `nodedir`, or those beside Node itself).
 *
 * An installed build whose stamp matches is kept, so a build after the first costs a stamp
 * read. The compiler's output is shown only when the build fails.
 */
import { execa } from 'execa';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADDON_FILE, ADDON_STAMP_FILE, expectedAddonStamp, installedAddonStamp, lmdbPackageDirectory, sameStamp } from './installed_addon.js';
import { applySourceFixes } from './source_fixes.js';

/** What of the lmdb package its binding.gyp builds from. */
const BUILD_SOURCES = ['binding.gyp', 'src', 'dependencies'];

const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', '..');
const projectModules = join(projectRoot, 'node_modules');
const packageDirectory = lmdbPackageDirectory(projectRoot);

/** node-gyp: the one npm runs its scripts with, else the one bundled with the npm beside Node. */
function nodeGyp(): string {
  const candidates = [process.env.npm_config_node_gyp, join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')];
  const found = candidates.find((path): path is string => path !== undefined && existsSync(path));
  if (found === undefined) throw new Error(`no node-gyp found (looked at ${candidates.filter(Boolean).join(', ')}); it comes with npm`);
  return found;
}

/** `--nodedir` for node-gyp unless npm names one: Node's own headers, so that nothing is downloaded. */
function nodeDirectoryArguments(): string[] {
  if (process.env.npm_config_nodedir) return [];
  const prefixes = [process.config.variables.node_prefix as string | undefined, join(dirname(process.execPath), '..')];
  const prefix = prefixes.find((path) => path !== undefined && existsSync(join(path, 'include', 'node', 'node.h')));
  if (prefix === undefined) throw new Error(`no Node headers found under ${prefixes.filter(Boolean).join(', ')} and npm names no nodedir; node-gyp would download them`);
  return [`--nodedir=${prefix}`];
}

const expected = expectedAddonStamp(packageDirectory);
const target = join(packageDirectory, ADDON_FILE);
if (!(existsSync(target) && sameStamp(installedAddonStamp(packageDirectory), expected))) {
  const started = Date.now();
  const work = mkdtempSync(join(tmpdir(), 'lmdb-addon-'));
  try {
    for (const source of BUILD_SOURCES) cpSync(join(packageDirectory, source), join(work, source), { recursive: true });
    applySourceFixes(work);
    const built = await execa(process.execPath, [nodeGyp(), 'rebuild', '--jobs=max', ...nodeDirectoryArguments()], {
      cwd: work,
      all: true,
      reject: false,
      env: {
        // binding.gyp finds node-addon-api's headers by requiring it from the build directory.
        NODE_PATH: projectModules,
        // The settings binding.gyp reads, as lmdb's own Linux prebuilds have them; with
        // LMDB_DATA_V1 it would build another, unfixed, LMDB.
        LMDB_DATA_V1: 'false',
        ENABLE_V8_FUNCTIONS: 'true',
        ENABLE_FAST_API_CALLS: 'false',
      },
    });
    if (built.exitCode !== 0) {
      process.stderr.write(`${built.all ?? ''}\n`);
      throw new Error(`building lmdb's addon with the page log's fixes failed (node-gyp exit ${built.exitCode}); its output is above`);
    }
    mkdirSync(dirname(target), { recursive: true });
    // Renamed into place: a process loading the addon meanwhile gets the old file or the new.
    copyFileSync(join(work, 'build', 'Release', 'lmdb.node'), `${target}.${process.pid}`);
    renameSync(`${target}.${process.pid}`, target);
    const stamp = join(packageDirectory, ADDON_STAMP_FILE);
    writeFileSync(`${stamp}.${process.pid}`, `${JSON.stringify(expected)}\n`);
    renameSync(`${stamp}.${process.pid}`, stamp);
    process.stdout.write(`built lmdb ${expected.lmdb}'s addon with the page log's fixes (${expected.fixes.join(', ')}) in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
