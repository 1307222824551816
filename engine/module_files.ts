/**
 * Loading an ES module file named at run time: a key provider or a page-log store module.
 *
 * The server runs as a bundle compiled from V8's code cache (`server-shim/main.cts`), and on
 * Node 20 code from a cache cannot call `import()` itself; the bundle's launcher, compiled by Node,
 * therefore lends its own `import()` under this symbol. Elsewhere (the tool, the tests) the
 * module's own `import()` is used.
 */
export const IMPORT_MODULE_HOOK = Symbol.for('disagg-lab.importModule');

type ImportModule = (specifier: string) => Promise<Record<string, unknown>>;

export function importModuleFile(url: string): Promise<Record<string, unknown>> {
  const hook = (globalThis as Record<symbol, unknown>)[IMPORT_MODULE_HOOK] as ImportModule | undefined;
  return hook !== undefined ? hook(url) : (import(url) as Promise<Record<string, unknown>>);
}

/**
 * Loading a package the build also bundles beside the server (`lmdb`, see
 * `server-shim/bundle.ts`): the server's launcher runs that bundle through a code cache
 * when it was built from the package installed, and lends its loader under this symbol.
 */
export const BUNDLED_PACKAGE_HOOK = Symbol.for('disagg-lab.bundledPackage');

/** The exports of package `name` from the launcher's bundle of it, or undefined: then import it. */
export function loadBundledPackage(name: string): unknown {
  const hook = (globalThis as Record<symbol, unknown>)[BUNDLED_PACKAGE_HOOK] as ((name: string) => unknown) | undefined;
  return hook?.(name);
}
