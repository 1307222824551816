import { createRequire } from 'node:module';

// Loaded with `require`: an ES import of this CommonJS package makes Node scan its 28 KB loader
// for export names first, a measurable part of every tool's start-up.
const { crc32c } = createRequire(import.meta.url)('@node-rs/crc32') as typeof import('@node-rs/crc32');

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
