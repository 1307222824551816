import type { Item } from '../api.js';
import { ConfigError, ErrorCode, FormatError, SchemaError } from '../errors.js';
import { packedIntSize, packedUintSize, readPackedIntBig, readPackedUintBig, writePackedInt, writePackedUint } from './packed.js';

/**
 * Keys and values as WiredTiger stores them for a `key_format` / `value_format`
 * (`wiredtiger_struct_pack`): `S` NUL-terminated UTF-8, `u` raw bytes (length-prefixed unless
 * last), `s` fixed-length strings, integers packed (signed formats with the signed encoding).
 */

interface Column {
  type: string;
  /** Repeat count or fixed length (`10s`); undefined when absent. */
  count?: number;
}

const INTEGER_RANGES: Record<string, [bigint, bigint]> = {
  b: [-128n, 127n], B: [0n, 255n], h: [-32768n, 32767n], H: [0n, 65535n],
  i: [-(2n ** 31n), 2n ** 31n - 1n], I: [0n, 2n ** 32n - 1n], l: [-(2n ** 31n), 2n ** 31n - 1n],
  L: [0n, 2n ** 32n - 1n], q: [-(2n ** 63n), 2n ** 63n - 1n], Q: [0n, 2n ** 64n - 1n], r: [0n, 2n ** 64n - 1n],
};
const BIGINT_TYPES = new Set(['q', 'Q', 'r']);
const SIGNED_TYPES = new Set(['b', 'h', 'i', 'l', 'q']);

/** A compiled key or value format. */
export class ItemFormat {
  readonly columns: Column[];

  constructor(readonly format: string) {
    this.columns = parseFormat(format);
  }

  get multiColumn(): boolean {
    return this.columns.length > 1;
  }

  /** Packs an application value into stored bytes. */
  pack(value: Item): Buffer {
    if (this.multiColumn) {
      if (!Array.isArray(value) || value.length !== this.columns.length) {
        throw new SchemaError(ErrorCode.TypeMismatch, `format "${this.format}" takes an array of ${this.columns.length} items`);
      }
      return Buffer.concat(this.columns.map((c, i) => packColumn(c, value[i]!, i === this.columns.length - 1, this.format)));
    }
    return packColumn(this.columns[0]!, value, true, this.format);
  }

  /** Unpacks stored bytes into an application value. */
  unpack(bytes: Buffer): Item {
    let offset = 0;
    const out: Item[] = [];
    this.columns.forEach((c, i) => {
      const [item, n] = unpackColumn(c, bytes, offset, i === this.columns.length - 1);
      out.push(item);
      offset += n;
    });
    if (offset !== bytes.length) {
      throw new FormatError(`item has ${bytes.length - offset} bytes left over for format "${this.format}"`, { offset });
    }
    return this.multiColumn ? out : out[0]!;
  }
}

function parseFormat(format: string): Column[] {
  if (format.length === 0) throw new ConfigError('empty item format', { key: format });
  const columns: Column[] = [];
  const re = /(\d*)([a-zA-Z])/g;
  let consumed = 0;
  for (let m = re.exec(format); m; m = re.exec(format)) {
    if (m.index !== consumed) break;
    consumed = re.lastIndex;
    const type = m[2]!;
    const count = m[1] ? Number(m[1]) : undefined;
    if (!'SusbBhHiIlLqQrx'.includes(type)) {
      throw new ConfigError(`unsupported format character "${type}" in "${format}"`, { key: format });
    }
    if (type === 'x') continue;
    if (count !== undefined && type !== 's' && type !== 'S' && type !== 'u') {
      for (let i = 0; i < count; i++) columns.push({ type });
    } else columns.push({ type, count });
  }
  if (consumed !== format.length) throw new ConfigError(`invalid item format "${format}"`, { key: format });
  return columns;
}

function typeError(format: string, expected: string, value: unknown): SchemaError {
  const got = Buffer.isBuffer(value) ? 'Buffer' : Array.isArray(value) ? 'array' : typeof value;
  return new SchemaError(ErrorCode.TypeMismatch, `format "${format}" takes ${expected}, got ${got}`);
}

function packColumn(column: Column, value: Item, last: boolean, format: string): Buffer {
  switch (column.type) {
    case 'S': {
      if (typeof value !== 'string') throw typeError(format, 'a string', value);
      if (value.includes('\0')) throw new SchemaError(ErrorCode.InvalidArgument, 'an "S" item cannot contain NUL');
      const text = Buffer.from(value, 'utf8');
      if (column.count !== undefined) return fixedString(text, column.count);
      return Buffer.concat([text, Buffer.from([0])]);
    }
    case 's': {
      if (typeof value !== 'string') throw typeError(format, 'a string', value);
      return fixedString(Buffer.from(value, 'utf8'), column.count ?? 1);
    }
    case 'u': {
      if (!Buffer.isBuffer(value)) throw typeError(format, 'a Buffer', value);
      if (column.count !== undefined) return fixedString(value, column.count);
      if (last) return value;
      const out = Buffer.alloc(packedUintSize(value.length) + value.length);
      const n = writePackedUint(out, 0, value.length);
      value.copy(out, n);
      return out;
    }
    default: {
      if (typeof value !== 'number' && typeof value !== 'bigint') throw typeError(format, 'an integer', value);
      if (typeof value === 'number' && !Number.isInteger(value)) throw typeError(format, 'an integer', value);
      const v = BigInt(value);
      const [min, max] = INTEGER_RANGES[column.type]!;
      if (v < min || v > max) {
        throw new SchemaError(ErrorCode.TypeMismatch, `${v} is out of range for "${column.type}" in format "${format}"`);
      }
      if (SIGNED_TYPES.has(column.type)) {
        const out = Buffer.alloc(packedIntSize(v));
        writePackedInt(out, 0, v);
        return out;
      }
      const out = Buffer.alloc(packedUintSize(v));
      writePackedUint(out, 0, v);
      return out;
    }
  }
}

function fixedString(bytes: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  bytes.copy(out, 0, 0, Math.min(length, bytes.length));
  return out;
}

function unpackColumn(column: Column, bytes: Buffer, offset: number, last: boolean): [Item, number] {
  switch (column.type) {
    case 'S': {
      if (column.count !== undefined) return [trimNul(bytes.subarray(offset, offset + column.count)), column.count];
      const end = bytes.indexOf(0, offset);
      if (end < 0) throw new FormatError('"S" item lacks its NUL terminator', { offset }, ErrorCode.FormatTruncated);
      return [bytes.toString('utf8', offset, end), end + 1 - offset];
    }
    case 's': {
      const length = column.count ?? 1;
      return [trimNul(bytes.subarray(offset, offset + length)), length];
    }
    case 'u': {
      if (column.count !== undefined) return [Buffer.from(bytes.subarray(offset, offset + column.count)), column.count];
      if (last) return [Buffer.from(bytes.subarray(offset)), bytes.length - offset];
      const [length, n] = readPackedUintBig(bytes, offset);
      const start = offset + n;
      const end = start + Number(length);
      if (end > bytes.length) throw new FormatError('"u" item runs past the end', { offset }, ErrorCode.FormatTruncated);
      return [Buffer.from(bytes.subarray(start, end)), end - offset];
    }
    default: {
      const [v, n] = SIGNED_TYPES.has(column.type) ? readPackedIntBig(bytes, offset) : readPackedUintBig(bytes, offset);
      return [BIGINT_TYPES.has(column.type) ? v : Number(v), n];
    }
  }
}

function trimNul(bytes: Buffer): string {
  const end = bytes.indexOf(0);
  return bytes.toString('utf8', 0, end < 0 ? bytes.length : end);
}

/** `\xx` for every byte, in lowercase hex. */
const ESCAPED_BYTES = Array.from({ length: 256 }, (_, b) => '\\' + b.toString(16).padStart(2, '0'));
/** 1 for a byte `wt dump` prints as it is: printable ASCII but the backslash. */
export const PRINTED_AS_IS = Uint8Array.from({ length: 256 }, (_, b) => (b >= 0x20 && b < 0x7f && b !== 0x5c ? 1 : 0));

/**
 * Escapes stored bytes the way `wt dump` prints them: printable ASCII as is (a backslash
 * doubled), every other byte as `\xx` in lowercase hex.
 */
export function escapeForDump(bytes: Uint8Array): string {
  const length = bytes.length;
  let i = 0;
  while (i < length && PRINTED_AS_IS[bytes[i]!] === 1) i++;
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, length);
  if (i === length) return buffer.toString('latin1');
  // Runs of bytes printed as they are are decoded in one call: most items are one or two runs.
  let out = buffer.toString('latin1', 0, i);
  let runStart = i;
  for (; i < length; i++) {
    const b = bytes[i]!;
    if (PRINTED_AS_IS[b] === 1) continue;
    if (i > runStart) out += buffer.toString('latin1', runStart, i);
    out += b === 0x5c ? '\\\\' : ESCAPED_BYTES[b]!;
    runStart = i + 1;
  }
  return runStart < length ? out + buffer.toString('latin1', runStart) : out;
}
