import { FormatError, ErrorCode } from '../errors.js';

/**
 * WiredTiger's variable-length integer encoding (FORMATS.md section 2). The encoding keeps the
 * byte order of encoded values equal to their numeric order, which is why keys of integer
 * formats sort correctly as bytes.
 *
 * Numbers are used where values fit in 53 bits (offsets, sizes, checksums, lengths); the
 * `BigInt` variants cover the full 64-bit range (timestamps, transaction ids, `q` keys).
 */

const POS_1BYTE_MAX = 63;
const POS_2BYTE_MAX = 8255;
const NEG_1BYTE_MIN = -64;
const NEG_2BYTE_MIN = -8256;
const TWO_64 = 1n << 64n;

function truncated(offset: number): FormatError {
  return new FormatError('packed integer runs past the end of the buffer', { offset }, ErrorCode.FormatTruncated);
}

function significantBytes(value: bigint): number {
  let n = 0;
  for (let v = value; v > 0n; v >>= 8n) n++;
  return n;
}

/** Bytes needed to pack `value` unsigned. */
export function packedUintSize(value: number | bigint): number {
  // Lengths and file ids, the common case, without a BigInt.
  if (typeof value === 'number' && value <= POS_2BYTE_MAX && value >= 0 && Number.isInteger(value)) return value <= POS_1BYTE_MAX ? 1 : 2;
  const v = BigInt(value);
  if (v < 0n || v >= TWO_64) throw new FormatError(`unsigned value out of range: ${v}`);
  if (v <= POS_1BYTE_MAX) return 1;
  if (v <= POS_2BYTE_MAX) return 2;
  return 1 + Math.max(1, significantBytes(v - 8256n));
}

/** Packs `value` unsigned into `buf` at `offset`; returns the number of bytes written. */
export function writePackedUint(buf: Uint8Array, offset: number, value: number | bigint): number {
  if (typeof value === 'number' && value <= POS_2BYTE_MAX && value >= 0 && Number.isInteger(value)) {
    if (value <= POS_1BYTE_MAX) {
      buf[offset] = 0x80 | value;
      return 1;
    }
    const y = value - 64;
    buf[offset] = 0xc0 | (y >> 8);
    buf[offset + 1] = y & 0xff;
    return 2;
  }
  const v = BigInt(value);
  if (v < 0n || v >= TWO_64) throw new FormatError(`unsigned value out of range: ${v}`);
  if (v <= POS_2BYTE_MAX) return writePackedUint(buf, offset, Number(v));
  const y = v - 8256n;
  // 8256 itself packs as `e1 00`: the length never shrinks as values grow.
  const n = Math.max(1, significantBytes(y));
  buf[offset] = 0xe0 | n;
  for (let i = 0; i < n; i++) buf[offset + 1 + i] = Number((y >> BigInt(8 * (n - 1 - i))) & 0xffn);
  return 1 + n;
}

/** Packs `value` unsigned into a new buffer. */
export function packUint(value: number | bigint): Buffer {
  const out = Buffer.alloc(packedUintSize(value));
  writePackedUint(out, 0, value);
  return out;
}

/** Reads a packed unsigned integer as a BigInt: `[value, bytesRead]`. */
export function readPackedUintBig(buf: Uint8Array, offset: number): [bigint, number] {
  if (offset >= buf.length) throw truncated(offset);
  const b0 = buf[offset]!;
  switch (b0 & 0xf0) {
    case 0x80: case 0x90: case 0xa0: case 0xb0:
      return [BigInt(b0 & 0x3f), 1];
    case 0xc0: case 0xd0:
      if (offset + 1 >= buf.length) throw truncated(offset);
      return [BigInt((((b0 & 0x1f) << 8) | buf[offset + 1]!) + 64), 2];
    case 0xe0: {
      const n = b0 & 0x0f;
      if (n > 8) throw new FormatError(`packed integer length ${n} is above 8`, { offset });
      if (offset + n >= buf.length) throw truncated(offset);
      let v = 0n;
      for (let i = 1; i <= n; i++) v = (v << 8n) | BigInt(buf[offset + i]!);
      v += 8256n;
      if (v >= TWO_64) throw new FormatError('packed unsigned integer overflows 64 bits', { offset });
      return [v, 1 + n];
    }
    default:
      throw new FormatError(`invalid first byte 0x${b0.toString(16).padStart(2, '0')} for a packed unsigned integer`, { offset });
  }
}

/**
 * Reads a packed unsigned integer as a number: `[value, bytesRead]`. Values above 2^53 are a
 * format error here; use `readPackedUintBig` where the full 64-bit range is legal.
 */
export function readPackedUint(buf: Uint8Array, offset: number): [number, number] {
  if (offset >= buf.length) throw truncated(offset);
  const b0 = buf[offset]!;
  if (b0 >= 0x80 && b0 < 0xc0) return [b0 & 0x3f, 1];
  if (b0 >= 0xc0 && b0 < 0xe0) {
    if (offset + 1 >= buf.length) throw truncated(offset);
    return [(((b0 & 0x1f) << 8) | buf[offset + 1]!) + 64, 2];
  }
  if (b0 >= 0xe0 && b0 <= 0xe6) {
    const n = b0 & 0x0f;
    if (offset + n >= buf.length) throw truncated(offset);
    let v = 0;
    for (let i = 1; i <= n; i++) v = v * 256 + buf[offset + i]!;
    return [v + 8256, 1 + n];
  }
  const [big, length] = readPackedUintBig(buf, offset);
  if (big > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new FormatError(`packed integer ${big} is too large here`, { offset });
  }
  return [Number(big), length];
}

/** Bytes needed to pack `value` signed. */
export function packedIntSize(value: number | bigint): number {
  const scratch = new Uint8Array(9);
  return writePackedInt(scratch, 0, value);
}

/** Packs `value` signed (64-bit two's complement range); returns the number of bytes written. */
export function writePackedInt(buf: Uint8Array, offset: number, value: number | bigint): number {
  const v = BigInt(value);
  if (v >= 0n) return writePackedUint(buf, offset, v);
  if (v < -(1n << 63n)) throw new FormatError(`signed value out of range: ${v}`);
  if (v >= NEG_1BYTE_MIN) {
    buf[offset] = 0x40 | Number(v + 64n);
    return 1;
  }
  if (v >= NEG_2BYTE_MIN) {
    const y = Number(v + 8256n);
    buf[offset] = 0x20 | (y >> 8);
    buf[offset + 1] = y & 0xff;
    return 2;
  }
  const u = BigInt.asUintN(64, v);
  let leadingOnes = 0;
  for (let i = 7; i >= 0 && ((u >> BigInt(8 * i)) & 0xffn) === 0xffn; i--) leadingOnes++;
  const n = 8 - leadingOnes;
  buf[offset] = 0x10 | leadingOnes;
  for (let i = 0; i < n; i++) buf[offset + 1 + i] = Number((u >> BigInt(8 * (n - 1 - i))) & 0xffn);
  return 1 + n;
}

/** Reads a packed signed integer as a BigInt: `[value, bytesRead]`. */
export function readPackedIntBig(buf: Uint8Array, offset: number): [bigint, number] {
  if (offset >= buf.length) throw truncated(offset);
  const b0 = buf[offset]!;
  switch (b0 & 0xf0) {
    case 0x10: {
      const leadingOnes = b0 & 0x0f;
      if (leadingOnes > 8) throw new FormatError('invalid negative packed integer length', { offset });
      const n = 8 - leadingOnes;
      if (offset + n >= buf.length) throw truncated(offset);
      let u = (1n << 64n) - 1n;
      for (let i = 1; i <= n; i++) u = ((u << 8n) | BigInt(buf[offset + i]!)) & ((1n << 64n) - 1n);
      return [BigInt.asIntN(64, u), 1 + n];
    }
    case 0x20: case 0x30:
      if (offset + 1 >= buf.length) throw truncated(offset);
      return [BigInt((((b0 & 0x1f) << 8) | buf[offset + 1]!)) - 8256n, 2];
    case 0x40: case 0x50: case 0x60: case 0x70:
      return [BigInt(b0 & 0x3f) - 64n, 1];
    default: {
      const [v, n] = readPackedUintBig(buf, offset);
      if (v >= 1n << 63n) throw new FormatError('packed signed integer overflows 64 bits', { offset });
      return [v, n];
    }
  }
}
