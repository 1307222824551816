/**
 * `npm run bundle` (after `tsc`): writes `dist/server-shim/lmdb.cjs`, the installed `lmdb`'s
 * CommonJS build with the JavaScript packages it loads (msgpackr, ordered-binary,
 * weak-lru-cache, its prebuild finder...) in one file, which the server's launcher
 * (`main.cts`) runs through a code cache instead of resolving, reading and compiling some
 * fifteen files of `node_modules`: that was most of what opening a page log cost a server's
 * start-up. `msgpackr-extract`, msgpackr's optional native unpacker, is left out: the page log
 * stores binary values only, never msgpack, so it would only be found and loaded (an addon
 * with a finder of its own) at every start for nothing; msgpackr runs without it as it does
 * where it is not installed.
 *
 * lmdb finds its native addon through `node-gyp-build-optional-packages`, which works out the C
 * library, looks for a local build and for prebuilds, then resolves the platform package and
 * picks the best-tagged file in it. In the bundle, on Linux without a local build or a setting
 * the finder honours, lmdb first loads the file the finder picks there on glibc: the platform
 * package's addon for this Node ABI. Anything else (another system, no such file, one that does
 * not load, as on musl) goes through the finder.
 *
 * The bundle's first line names what it was built from: `// bundled lmdb VERSION ENTRY SIZE`
 * (the package's version, its CommonJS entry within the package, that file's size). The
 * launcher runs the bundle only when the installed package matches, with `__filename` set to
 * that entry, so that lmdb finds its native addon in its package as it does when loaded
 * from there; otherwise the server loads the package itself.
 */
import { build } from 'esbuild';
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const outputDirectory = dirname(fileURLToPath(import.meta.url));
const projectRoot = join(outputDirectory, '..', '..');

const require = createRequire(join(projectRoot, 'package.json'));
const entry = require.resolve('lmdb');
// Where the launcher looks for the package too: the first `node_modules/lmdb` up from here.
const packageDirectory = realpathSync(require.resolve.paths('lmdb')!.map((directory) => join(directory, 'lmdb')).find((directory) => existsSync(join(directory, 'package.json')))!);
const { version } = JSON.parse(readFileSync(join(packageDirectory, 'package.json'), 'utf8')) as { version: string };

/** The module lmdb gets for `node-gyp-build-optional-packages` (see above). */
const NATIVE_ADDON_FIRST = `
const { existsSync } = require('node:fs');
const { createRequire } = require('node:module');
const { dirname, join } = require('node:path');
const settings = ['PREBUILDS_ONLY', 'LMDB_PREBUILD', 'LIBC', 'npm_config_arch', 'npm_config_platform'];
module.exports = function load(dir) {
  // What the finder would take before the platform package: a local build, prebuilds of the package or beside Node.
  const before = [join(dir, 'build'), join(dir, 'prebuilds'), join(dirname(process.execPath), 'prebuilds')];
  if (process.platform === 'linux' && settings.every((name) => process.env[name] === undefined) && !before.some((path) => existsSync(path))) {
    try {
      const platformPackage = createRequire(join(dir, 'package.json')).resolve('@lmdb/lmdb-linux-' + process.arch + '/package.json');
      return require(join(platformPackage, '..', 'node.abi' + process.versions.modules + '.glibc.node'));
    } catch {
      // Not installed, or not for this system: the finder decides.
    }
  }
  // Required only here: the finder works out the C library as it loads.
  return require('node-gyp-build-optional-packages/index.js')(dir);
};
`;

await build({
  entryPoints: [entry],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  plugins: [{
    name: 'without-msgpackr-extract',
    setup(plugin) {
      plugin.onResolve({ filter: /^msgpackr-extract$/ }, () => ({ path: 'msgpackr-extract', namespace: 'left-out' }));
      plugin.onLoad({ filter: /.*/, namespace: 'left-out' }, () => ({ contents: 'module.exports = undefined;', loader: 'js' }));
    },
  }, {
    name: 'native-addon-first',
    setup(plugin) {
      // The finder itself is still bundled, by the path of its file (which this filter lets through).
      plugin.onResolve({ filter: /^node-gyp-build-optional-packages$/ }, () => ({ path: 'native-addon-first', namespace: 'native-addon-first' }));
      plugin.onLoad({ filter: /.*/, namespace: 'native-addon-first' }, () => ({ contents: NATIVE_ADDON_FIRST, loader: 'js', resolveDir: packageDirectory }));
    },
  }],
  // Node's CommonJS wrapper, written around the bundle as around the server's (see main.cts).
  banner: { js: `// bundled lmdb ${version} ${relative(packageDirectory, entry).replaceAll('\\', '/')} ${statSync(entry).size}\n(function (exports, require, module, __filename, __dirname) {` },
  footer: { js: '});' },
  // Whitespace out (names kept, for stack traces): a smaller source to read and hold at start-up.
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: true,
  outfile: join(outputDirectory, 'lmdb.cjs'),
  logLevel: 'warning',
});
