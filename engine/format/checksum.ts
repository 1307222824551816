import { createRequire } from 'node:module';

type Crc32c = typeof import('@node-rs/crc32').crc32c;

/**
 * `@node-rs/crc32`'s `crc32c`. Loaded with `require`: an ES import of this CommonJS package makes
 * Node scan its 28 KB loader for export names first, a measurable part of every tool's start-up.
 * On Linux the native package npm installs for a glibc system is loaded directly: the package's
 * loader first works out whether the C library is musl (reading `/usr/bin/ldd`), then tries a
 * file of its own before that package, some milliseconds of every start-up. Anything else (no
 * such package, one that does not load, another system, `NAPI_RS_*` settings the loader
 * honours) goes through the loader.
 */
function loadCrc32c(): Crc32c {
  const require = createRequire(import.meta.url);
  if (process.platform === 'linux' && process.env.NAPI_RS_NATIVE_LIBRARY_PATH === undefined && process.env.NAPI_RS_ENFORCE_VERSION_CHECK === undefined) {
    try {
      const { crc32c } = require(`@node-rs/crc32-linux-${process.arch}-gnu`) as { crc32c?: Crc32c };
      if (typeof crc32c === 'function') return crc32c;
    } catch {
      // Not installed, or not for this C library: the loader decides.
    }
  }
  return (require('@node-rs/crc32') as typeof import('@node-rs/crc32')).crc32c;
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
