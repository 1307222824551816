/**
 * `npm run bundle` (after `tsc`): writes the two bundles the server's launcher (`main.cts`) runs
 * through a code cache, both minified for whitespace and syntax but not for the names of
 * functions, classes and modules' declarations (stack traces and errors' `name` show them): a
 * smaller source to read and hold at start-up.
 *
 * `dist/server-shim/server.cjs`: the server, `server_main.ts` and the project's modules and
 * bson in one file; the native packages, `pg` and `re2js` are left to `require`. The variables
 * and parameters of its functions get short names (terser, after esbuild), 0.88 MB of source
 * becoming 0.73 MB; its source map leads back to the TypeScript.
 *
 * bson probes its surroundings as it loads: whether `globalThis.crypto` has `getRandomValues`
 * (once for its Node random source, once for its Web one), and whether a start-up snapshot is
 * being built (through `v8`). Reading `globalThis.crypto` loads Node's Web Crypto, and `v8` is
 * another module: together some milliseconds of every start. On the Node versions bson
 * supports (20.19 and later) the answers are fixed: Web Crypto is there, and the server never
 * builds a snapshot. So the bundle's bson takes them as given, and draws from Web Crypto when
 * it first needs random bytes. bson's `Long` also compiles a small WebAssembly module for its
 * multiplication, division and remainder as it loads (about a millisecond and a half); the
 * bundle's bson compiles it when one of those is first called, and falls back to `Long`'s own
 * arithmetic where WebAssembly is not available, as bson does. A bson whose code differs fails
 * the build, saying what it did not find.
 *
 * `dist/server-shim/lmdb.cjs`: the installed `lmdb`'s CommonJS build with the JavaScript
 * packages it loads (ordered-binary, weak-lru-cache...) in one file, instead of resolving,
 * reading and compiling some fifteen files of `node_modules`: that was most of what opening a
 * page log cost a server's start-up. The page log's stores encode keys and values as binary,
 * never msgpack, so msgpackr (lmdb's default value encoder, with its native unpacker) is left
 * out: an encoder that says so stands in its place, and a store opened with another encoding
 * fails at once. ordered-binary compiles its reader of string keys (with `eval`) when one is
 * first read instead of as it loads. The build fails if ordered-binary's code is not as
 * expected.
 *
 * lmdb finds its native addon through `node-gyp-build-optional-packages`, which works out the C
 * library, looks for a local build and for prebuilds, then resolves the platform package. The
 * page log needs the build with its fixes (`engine/page_log/lmdb/addon/`), installed where that
 * finder looks first, so the bundle loads that file and nothing else: no finder runs, and a
 * missing build is an error, never the platform package's addon.
 *
 * The lmdb bundle's first line names what it was built from: `// bundled lmdb VERSION ENTRY
 * SIZE` (the package's version, its CommonJS entry within the package, that file's size). The
 * launcher runs the bundle only when the installed package matches, with `__filename` set to
 * that entry, so that lmdb finds its native addon in its package as it does when loaded
 * from there; otherwise the server loads the package itself.
 *
 * Both are written as a function expression of Node's CommonJS wrapper (see `main.cts`).
 */
import { build, type Plugin } from 'esbuild';
import { minify as minifyNames } from 'terser';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADDON_FILE, lmdbPackageDirectory } from '../engine/page_log/lmdb/addon/installed_addon.js';

const outputDirectory = dirname(fileURLToPath(import.meta.url));
const projectRoot = join(outputDirectory, '..', '..');

const require = createRequire(join(projectRoot, 'package.json'));
const entry = require.resolve('lmdb');
// Where the launcher looks for the package too: the first `node_modules/lmdb` up from here.
const packageDirectory = lmdbPackageDirectory(projectRoot);
const { version } = JSON.parse(readFileSync(join(packageDirectory, 'package.json'), 'utf8')) as { version: string };

/** Node's CommonJS wrapper, opened; `'use strict'` must be its first statement to count. */
const WRAPPER_START = "(function (exports, require, module, __filename, __dirname) { 'use strict';";
const minify = { minifyWhitespace: true, minifySyntax: true } as const;

/**
 * `code` (esbuild's output, with its source map `map`) after `preamble`, with the names of the
 * variables and parameters inside its functions shortened: a sixth less source to read and
 * hold at every start. esbuild shortens every name or none. The bundle's top level, where
 * esbuild puts every module's declarations, keeps its names: a class there is an assignment
 * (`FormatError = class extends EngineError`), whose name V8 takes from the variable, and an
 * engine error's `name` is its class's. The build fails if a class assigned there lost its name.
 */
async function minifyLocalNames(code: string, { preamble, map, mapFile }: { preamble: string; map: string; mapFile: string }): Promise<{ code: string; map: string }> {
  const minified = await minifyNames(code, {
    compress: false,
    toplevel: false,
    keep_fnames: true,
    keep_classnames: true,
    mangle: { keep_fnames: true, keep_classnames: true },
    format: { preamble, ascii_only: true, comments: false },
    sourceMap: { content: map, url: mapFile, includeSources: true },
  });
  const assignedClasses = (text: string): Set<string> => new Set(text.match(/(?<![\w$.])[A-Za-z_$][\w$]*(?==class\b)/g));
  const renamed = [...assignedClasses(code)].filter((name) => !assignedClasses(minified.code!).has(name));
  if (renamed.length > 0) throw new Error(`shortening the server bundle's names renamed the classes ${renamed.join(', ')}; see server-shim/bundle.ts`);
  return { code: minified.code!, map: minified.map as string };
}

/**
 * bson's start-up probes and what the bundle puts in their place (see above), each found
 * `count` times (once if not said). An IIFE's body is matched up to its own end: lines indented
 * under it, none a new top-level statement. A replacement takes no more lines than what it
 * replaces and is padded to as many, so that bson's own source map still places what follows.
 */
const BSON_PROBES: Array<{ probe: RegExp; given: string; needs: string; count?: number }> = [
  {
    probe: /const nodejsRandomBytes = \(\(\) => \{\n(?:[ \t]+.*\n|\n)*?\}\)\(\);/,
    given: 'const nodejsRandomBytes = nodejsSecureRandomBytes;',
    needs: 'function nodejsSecureRandomBytes(',
  },
  {
    probe: /const webRandomBytes = \(\(\) => \{\n(?:[ \t]+.*\n|\n)*?\}\)\(\);/,
    given: 'const webRandomBytes = (byteLength) => crypto.getRandomValues(webByteUtils.allocate(byteLength));',
    needs: 'const webByteUtils = ',
  },
  { probe: /globalThis\?\.process\?\.getBuiltinModule\?\.\('v8'\) \?\? \{\}/, given: '{}', needs: '' },
  {
    probe: /let wasm = undefined;\ntry \{\n {4}wasm = new WebAssembly\.Instance\((new WebAssembly\.Module\(new Uint8Array\(\[[\d, ]+\]\)\)), \{\}\)\.exports;\n\}\ncatch \{\n\}/,
    given: [
      'let longWasmExports;',
      'function longWasm() {',
      '    if (longWasmExports === undefined) try { longWasmExports = new WebAssembly.Instance($1, {}).exports; }',
      '    catch { longWasmExports = null; }',
      '    return longWasmExports ?? undefined;',
      '}',
    ].join('\n'),
    needs: 'wasm.get_high()',
  },
  { probe: /\bif \(wasm\) \{/, given: 'const wasm = longWasm(); if (wasm) {', needs: '', count: 3 },
];
/**
 * How often bson's `Long` names its WebAssembly exports (`wasm`): the declaration and its
 * assignment, then 4, 4 and 3 times in `divide`, `modulo` and `multiply`, each use inside the
 * `if (wasm)` block the probe above now opens with `const wasm = longWasm()`. Any other use
 * would be left naming a variable that is no longer there, so the build counts them first.
 */
const LONG_WASM_REFERENCES = 13;
const BSON_MODULE = /[\\/]node_modules[\\/]bson[\\/]lib[\\/]bson\.node\.mjs$/;

/** Set when bson's module was loaded through the plugin below. */
let bsonProbesReplaced = false;

/** bson's module with its probes replaced; the build fails when bson's code is not as expected. */
const bsonWithoutStartUpProbes: Plugin = {
  name: 'bson-without-start-up-probes',
  setup(plugin) {
    plugin.onLoad({ filter: BSON_MODULE }, ({ path }) => {
      let contents = readFileSync(path, 'utf8');
      const wasmReferences = contents.match(/\bwasm\b/g)?.length ?? 0;
      if (wasmReferences !== LONG_WASM_REFERENCES) throw new Error(`${path}: found ${wasmReferences} references to Long's wasm instead of ${LONG_WASM_REFERENCES}; see server-shim/bundle.ts`);
      for (const { probe, given, needs, count = 1 } of BSON_PROBES) {
        const everywhere = new RegExp(probe.source, 'g');
        const found = contents.match(everywhere)?.length ?? 0;
        if (found !== count) throw new Error(`${path}: found ${found} matches of ${probe} instead of ${count}; see server-shim/bundle.ts`);
        if (!contents.includes(needs)) throw new Error(`${path}: no "${needs}" for the replacement of ${probe}; see server-shim/bundle.ts`);
        contents = contents.replace(everywhere, (match: string, ...groups: unknown[]) => {
          const replacement = given.replace(/\$(\d)/g, (_, group: string) => String(groups[Number(group) - 1]));
          const missingLines = match.split('\n').length - replacement.split('\n').length;
          if (missingLines < 0) throw new Error(`the replacement of ${probe} in ${path} is longer than what it replaces; see server-shim/bundle.ts`);
          return replacement + '\n'.repeat(missingLines);
        });
      }
      bsonProbesReplaced = true;
      return { contents, loader: 'js' };
    });
  },
};

const serverBundle = join(outputDirectory, 'server.cjs');
const { outputFiles } = await build({
  entryPoints: [join(projectRoot, 'server-shim', 'server_main.ts')],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  external: ['lmdb', '@node-rs/crc32', 'pg', 're2js'],
  // Code compiled from a cache cannot call import() on Node 20: the bundle's own modules are
  // initialised in place, and a file named at run time goes through the launcher's.
  supported: { 'dynamic-import': false },
  define: { 'import.meta.url': 'importMetaUrl' },
  plugins: [bsonWithoutStartUpProbes],
  ...minify,
  sourcemap: 'external',
  outfile: serverBundle,
  write: false,
  logLevel: 'warning',
});
if (!bsonProbesReplaced) throw new Error(`the server bundle's bson is not ${BSON_MODULE}; see server-shim/bundle.ts`);
const outputText = (suffix: string): string => outputFiles.find(({ path }) => path.endsWith(suffix))!.text;
// The wrapper's parameters and importMetaUrl stay free names of the body, so they keep theirs.
const { code, map } = await minifyLocalNames(outputText('.cjs'), {
  preamble: `${WRAPPER_START} var importMetaUrl = require('node:url').pathToFileURL(__filename).href;`,
  map: outputText('.cjs.map'),
  mapFile: basename(serverBundle) + '.map',
});
writeFileSync(serverBundle, `${code}\n});\n`);
writeFileSync(`${serverBundle}.map`, map);

/**
 * The module lmdb gets for `node-gyp-build-optional-packages` (see above): the page log's build
 * of the addon, or an error saying how to make it. Opened with `process.dlopen`, as `require`
 * would after it resolved the real path of every folder on the way, a millisecond of the start.
 * It is then not in `require`'s cache; the server loads lmdb either from this bundle or from its
 * package (see `main.cts`), never both, so nothing opens the file twice.
 */
const FIXED_ADDON = `
const { existsSync } = require('node:fs');
const { join } = require('node:path');
module.exports = function load(dir) {
  const addon = join(dir, ${JSON.stringify(ADDON_FILE)});
  if (!existsSync(addon)) throw new Error('no build of lmdb\\'s addon with the page log\\'s fixes at ' + addon + '; run npm run build (engine/page_log/lmdb/addon/README.md)');
  const addonModule = { exports: {} };
  process.dlopen(addonModule, addon);
  return addonModule.exports;
};
`;

/**
 * msgpackr, in the lmdb bundle's place of it: lmdb loads it for stores that encode values as
 * msgpack, its default, and the page log's stores are binary.
 */
const WITHOUT_MSGPACKR = `
exports.Encoder = class {
  constructor() {
    throw new Error('the server\\'s bundle of lmdb has no msgpack encoder; the page log opens its stores with binary encoding (server-shim/bundle.ts)');
  }
};
`;

/**
 * ordered-binary compiles its reader of string keys with `eval` as it loads; the page log's
 * keys are binary, so the bundle compiles it when a string key is first read. A direct eval in
 * the same module scope, as before.
 */
const ORDERED_BINARY_MODULE = /[\\/]node_modules[\\/]ordered-binary[\\/]dist[\\/]index\.cjs$/;
const ORDERED_BINARY_STRING_READER = 'eval(makeStringBuilder());';
const ORDERED_BINARY_STRING_READER_ON_FIRST_USE = '(source) => (builtStringReader ??= eval(makeStringBuilder()))(source);\nlet builtStringReader;';
let orderedBinaryPatched = false;

await build({
  entryPoints: [entry],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  plugins: [{
    name: 'without-msgpackr',
    setup(plugin) {
      plugin.onResolve({ filter: /^msgpackr$/ }, () => ({ path: 'msgpackr', namespace: 'left-out' }));
      plugin.onLoad({ filter: /.*/, namespace: 'left-out' }, () => ({ contents: WITHOUT_MSGPACKR, loader: 'js' }));
    },
  }, {
    name: 'ordered-binary-string-reader-on-first-use',
    setup(plugin) {
      plugin.onLoad({ filter: ORDERED_BINARY_MODULE }, ({ path }) => {
        const contents = readFileSync(path, 'utf8');
        const found = contents.split(ORDERED_BINARY_STRING_READER).length - 1;
        if (found !== 1) throw new Error(`${path}: found ${found} matches of ${ORDERED_BINARY_STRING_READER} instead of one; see server-shim/bundle.ts`);
        orderedBinaryPatched = true;
        return { contents: contents.replace(ORDERED_BINARY_STRING_READER, () => ORDERED_BINARY_STRING_READER_ON_FIRST_USE), loader: 'js' };
      });
    },
  }, {
    name: 'fixed-addon',
    setup(plugin) {
      plugin.onResolve({ filter: /^node-gyp-build-optional-packages$/ }, () => ({ path: 'fixed-addon', namespace: 'fixed-addon' }));
      plugin.onLoad({ filter: /.*/, namespace: 'fixed-addon' }, () => ({ contents: FIXED_ADDON, loader: 'js', resolveDir: packageDirectory }));
    },
  }],
  banner: { js: `// bundled lmdb ${version} ${relative(packageDirectory, entry).replaceAll('\\', '/')} ${statSync(entry).size}\n${WRAPPER_START}` },
  footer: { js: '});' },
  ...minify,
  sourcemap: true,
  outfile: join(outputDirectory, 'lmdb.cjs'),
  logLevel: 'warning',
});
if (!orderedBinaryPatched) throw new Error(`the lmdb bundle's ordered-binary is not ${ORDERED_BINARY_MODULE}; see server-shim/bundle.ts`);
