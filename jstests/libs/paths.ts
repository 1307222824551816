import { fileURLToPath } from 'node:url';

/**
 * Where the built entry points are. Scenarios run from `dist/jstests/...`, so the server and
 * the tool are found relative to this module's own built location.
 */
export const builtPaths = {
  /** `dist/server-shim/main.js`: the mongod-shim binary. */
  mongodShim: fileURLToPath(new URL('../../server-shim/main.js', import.meta.url)),
  /** `dist/tools/wt-readpath/main.js`: the read-path tool. */
  wtReadpath: fileURLToPath(new URL('../../tools/wt-readpath/main.js', import.meta.url)),
} as const;
