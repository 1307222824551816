import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

type Crc32c = typeof import('@node-rs/crc32').crc32c;

/**
 * `@node-rs/crc32`'s `crc32c`. Loaded with `require`: an ES import of this CommonJS package makes
 * Node scan its 28 KB loader for export names first, a measurable part of every tool's start-up.
 * On Linux the native package npm installs for a glibc system is loaded directly: the package's
 * loader first works out whether the C library is musl (reading `/usr/bin/ldd`), then tries a
 * file of its own before that package, some milliseconds of every start-up. Its addon is found
 * in the first `node_modules` up from this module that holds that package (as `require` looks,
 * without `NODE_PATH` and the global folders) and opened with `process.dlopen`, since `require`
 * of a package also reads its `package.json` and resolves the real path of every folder on the
 * way, another millisecond or two. Opened so, it is not in `require`'s cache: nothing else in a
 * process loads that file (the package's loader runs only when this falls back to it). Anything
 * else (no such package, one that does not load, another system, `NAPI_RS_*` settings the
 * loader honours) goes through the loader.
 */
function loadCrc32c(): Crc32c {
  if (process.platform === 'linux' && process.env.NAPI_RS_NATIVE_LIBRARY_PATH === undefined && process.env.NAPI_RS_ENFORCE_VERSION_CHECK === undefined) {
    const platformPackage = `@node-rs/crc32-linux-${process.arch}-gnu`;
    try {
      const addon = nearestPackageFile(platformPackage, `crc32.linux-${process.arch}-gnu.node`);
      if (addon !== undefined) {
        const module = { exports: {} as { crc32c?: Crc32c } };
        process.dlopen(module, addon);
        if (typeof module.exports.crc32c === 'function') return module.exports.crc32c;
      }
    } catch {
      // Not for this C library, or not loadable: the loader decides.
    }
  }
  return (createRequire(import.meta.url)('@node-rs/crc32') as typeof import('@node-rs/crc32')).crc32c;
}

/** `file` of package `name` in the first `node_modules` up from this module that has it. */
function nearestPackageFile(name: string, file: string): string | undefined {
  for (let directory = dirname(fileURLToPath(import.meta.url)); ; directory = dirname(directory)) {
    const candidate = join(directory, 'node_modules', name, file);
    if (statSync(candidate, { throwIfNoEntry: false })?.isFile() === true) return candidate;
    if (dirname(directory) === directory) return undefined;
  }
}

const crc32c = loadCrc32c();

/**
 * CRC-32C (Castagnoli) of `bytes`, as WiredTiger computes it: reflected polynomial 0x82F63B78,
 * initial value and final XOR 0xFFFFFFFF. The check value of "123456789" is 0xE3069283.
 */
export function checksum(bytes: Uint8Array): number {
  return crc32c(bytes as Buffer) >>> 0;
}

/**
 * CRC-32C of `bytes` with the four bytes at `fieldOffset` read as zero, without copying the
 * buffer. This is how every WiredTiger structure that stores its own checksum is checked.
 */
export function checksumWithZeroedField(bytes: Uint8Array, fieldOffset: number, length = bytes.length): number {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, length);
  const zero = Buffer.alloc(4);
  let crc = crc32c(view.subarray(0, fieldOffset));
  crc = crc32c(zero, crc);
  crc = crc32c(view.subarray(fieldOffset + 4, length), crc);
  return crc >>> 0;
}
