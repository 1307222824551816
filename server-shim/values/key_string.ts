import { Binary, Code, ObjectId, Timestamp } from 'bson';
import { toExactInteger, toNumber } from './numbers.js';
import { asDocumentLike, regexParts, stringOf, typeName, typeOrder, TypeOrder } from './types.js';

/**
 * An order-preserving byte encoding of BSON values, like mongod's KeyString: comparing two
 * encodings bytewise gives the same answer as `compareValues` on the values. Tables are keyed
 * by the encoding of a document's `_id` (or `ts` for the oplog), so key order is `_id` order,
 * equal `_id`s of different numeric types (1, NumberLong(1), 1.0) collide as they do in mongod's
 * `_id` index, and `_id` ranges are byte ranges.
 *
 * Layout: one type byte (the canonical type bracket times 10, so 0 stays free as a terminator),
 * then the value:
 *
 * | type            | bytes after the type byte                                                   |
 * |-----------------|-----------------------------------------------------------------------------|
 * | MinKey, MaxKey, null, undefined | none                                                        |
 * | number          | class (1 NaN, 2 -inf, 3 negative, 4 zero, 5 positive, 6 +inf), then for a finite non-zero value the magnitude: integer-part length (1 byte), integer part (big-endian), fraction (8 bytes, IEEE bits of the fractional part); negative values store the magnitude bytes inverted |
 * | string, symbol  | UTF-8 bytes, each 0x00 written 0x00 0xFF, then 0x00 0x00                    |
 * | document        | per field: value type byte, name (as a string), value; then 0x00            |
 * | array           | per element: type byte, value; then 0x00                                    |
 * | binary          | length (4 bytes big-endian), subtype (1 byte), bytes                        |
 * | ObjectId        | the 12 bytes                                                                |
 * | boolean         | 0 or 1                                                                      |
 * | date            | milliseconds as int64 big-endian with the sign bit flipped                  |
 * | timestamp       | seconds (4 bytes) then increment (4 bytes), big-endian                      |
 * | regex           | pattern (as a string), options (as a string)                                |
 * | DBPointer       | namespace (as a string), ObjectId bytes                                     |
 * | code            | code (as a string); with scope, then the scope (as a document)              |
 *
 * Decimal128 numbers are encoded through their nearest double (see values/numbers.ts).
 */

/** The type byte of a canonical type bracket. */
export function typeByte(order: number): number {
  return order * 10;
}

const NumberClass = { NaN: 1, NegativeInfinity: 2, Negative: 3, Zero: 4, Positive: 5, PositiveInfinity: 6 } as const;

/**
 * Scratch space a key is built in before its bytes are copied out, so that a key costs one
 * allocation, its result, instead of two. Nothing in an encoding awaits; a value body encoded
 * inside another key (`writeValueBody`) gets a buffer of its own.
 */
let scratch = Buffer.allocUnsafe(256);
let scratchInUse = false;

/** Collects bytes (in the scratch space when it is free); grows as needed. */
class ByteWriter {
  private buffer: Buffer;
  private length = 0;
  private readonly ownsScratch: boolean;

  constructor() {
    this.ownsScratch = !scratchInUse;
    this.buffer = this.ownsScratch ? scratch : Buffer.allocUnsafe(64);
    scratchInUse = true;
  }

  private reserve(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + extra));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
    if (this.ownsScratch && grown.length <= 64 * 1024) scratch = grown;
  }

  byte(value: number): void {
    this.reserve(1);
    this.buffer[this.length++] = value;
  }

  bytes(values: Uint8Array): void {
    this.reserve(values.length);
    this.buffer.set(values, this.length);
    this.length += values.length;
  }

  /** The bytes collected, copied out. */
  result(): Buffer {
    return Buffer.from(this.buffer.subarray(0, this.length));
  }

  /** Gives the scratch space back; the writer is done. */
  release(): void {
    if (this.ownsScratch) scratchInUse = false;
  }
}

/** The key bytes of one value. */
export function encodeKey(value: unknown): Buffer {
  const writer = new ByteWriter();
  try {
    writeValue(writer, value);
    return writer.result();
  } finally {
    writer.release();
  }
}

/**
 * The key of a BSON Timestamp given as an engine timestamp (seconds in the high 32 bits): the
 * bytes `encodeKey` writes for that Timestamp, without building one (the oplog's key per insert).
 */
export function encodeTimestampKey(seconds: number, increment: number): Buffer {
  const key = Buffer.allocUnsafe(9);
  key[0] = typeByte(TypeOrder.Timestamp);
  key.writeUInt32BE(seconds, 1);
  key.writeUInt32BE(increment, 5);
  return key;
}

/**
 * The key of an ObjectId given as its 12 bytes at `offset` of `bytes`: the bytes `encodeKey`
 * writes for it, without building one.
 */
export function encodeObjectIdKey(bytes: Uint8Array, offset = 0): Buffer {
  const key = Buffer.allocUnsafe(13);
  key[0] = typeByte(TypeOrder.ObjectId);
  for (let i = 0; i < 12; i++) key[1 + i] = bytes[offset + i]!;
  return key;
}

/** The first key of a type bracket (inclusive lower bound of every value of that type). */
export function typeBracketStart(order: number): Buffer {
  return Buffer.from([typeByte(order)]);
}

/** The first key after a type bracket (exclusive upper bound of every value of that type). */
export function typeBracketEnd(order: number): Buffer {
  return Buffer.from([typeByte(order) + 1]);
}

function writeValue(writer: ByteWriter, value: unknown): void {
  const order = typeOrder(value);
  writer.byte(typeByte(order));
  switch (order) {
    case TypeOrder.MinKey:
    case TypeOrder.Undefined:
    case TypeOrder.Null:
    case TypeOrder.MaxKey:
      return;
    case TypeOrder.Number:
      return writeNumber(writer, value);
    case TypeOrder.String:
      return writeString(writer, stringOf(value)!);
    case TypeOrder.Object: {
      const document = asDocumentLike(value) as Record<string, unknown>;
      for (const [name, field] of Object.entries(document)) {
        writer.byte(typeByte(typeOrder(field)));
        writeString(writer, name);
        writeValueBody(writer, field);
      }
      writer.byte(0);
      return;
    }
    case TypeOrder.Array:
      for (const element of value as unknown[]) writeValue(writer, element);
      writer.byte(0);
      return;
    case TypeOrder.BinData: {
      const binary = value as Binary;
      const bytes = binary.value();
      const header = Buffer.allocUnsafe(5);
      header.writeUInt32BE(bytes.length, 0);
      header.writeUInt8(binary.sub_type, 4);
      writer.bytes(header);
      writer.bytes(bytes);
      return;
    }
    case TypeOrder.ObjectId:
      writer.bytes((value as ObjectId).id);
      return;
    case TypeOrder.Boolean:
      writer.byte(value === true ? 1 : 0);
      return;
    case TypeOrder.Date: {
      const bytes = Buffer.allocUnsafe(8);
      bytes.writeBigUInt64BE(BigInt.asUintN(64, BigInt((value as Date).getTime()) ^ -(2n ** 63n)));
      writer.bytes(bytes);
      return;
    }
    case TypeOrder.Timestamp: {
      const timestamp = value as Timestamp;
      const bytes = Buffer.allocUnsafe(8);
      bytes.writeUInt32BE(timestamp.t, 0);
      bytes.writeUInt32BE(timestamp.i, 4);
      writer.bytes(bytes);
      return;
    }
    case TypeOrder.RegEx: {
      const parts = regexParts(value)!;
      writeString(writer, parts.pattern);
      writeString(writer, parts.options);
      return;
    }
    case TypeOrder.DBPointer: {
      const pointer = value as { namespace: string; oid: ObjectId };
      writeString(writer, pointer.namespace);
      writer.bytes(pointer.oid.id);
      return;
    }
    case TypeOrder.Code:
      writeString(writer, String((value as Code).code));
      return;
    case TypeOrder.CodeWithScope:
      writeString(writer, String((value as Code).code));
      writeValue(writer, (value as Code).scope ?? {});
      return;
  }
}

/** A value without its type byte (documents write the type byte before the field name). */
function writeValueBody(writer: ByteWriter, value: unknown): void {
  const encoded = encodeKey(value);
  writer.bytes(encoded.subarray(1));
}

function writeString(writer: ByteWriter, text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  let start = 0;
  for (let index = bytes.indexOf(0); index !== -1; index = bytes.indexOf(0, start)) {
    writer.bytes(bytes.subarray(start, index));
    writer.byte(0);
    writer.byte(0xff);
    start = index + 1;
  }
  writer.bytes(bytes.subarray(start));
  writer.byte(0);
  writer.byte(0);
}

function writeNumber(writer: ByteWriter, value: unknown): void {
  const exact = typeName(value) === 'long' || typeof value === 'bigint' ? toExactInteger(value) : undefined;
  if (exact !== undefined) {
    if (exact === 0n) return writer.byte(NumberClass.Zero);
    writer.byte(exact < 0n ? NumberClass.Negative : NumberClass.Positive);
    return writeMagnitude(writer, exact < 0n ? -exact : exact, 0, exact < 0n);
  }
  const number = toNumber(value);
  if (Number.isNaN(number)) return writer.byte(NumberClass.NaN);
  if (number === -Infinity) return writer.byte(NumberClass.NegativeInfinity);
  if (number === Infinity) return writer.byte(NumberClass.PositiveInfinity);
  if (number === 0) return writer.byte(NumberClass.Zero);
  const magnitude = Math.abs(number);
  const integerPart = Math.trunc(magnitude);
  // Subtracting the integer part of a double is exact, so the fraction loses nothing.
  writer.byte(number < 0 ? NumberClass.Negative : NumberClass.Positive);
  writeMagnitude(writer, BigInt(integerPart), magnitude - integerPart, number < 0);
}

/** Length-prefixed integer part then fraction bits; inverted for negative numbers. */
function writeMagnitude(writer: ByteWriter, integerPart: bigint, fraction: number, negative: boolean): void {
  const hex = integerPart === 0n ? '' : integerPart.toString(16);
  const integerBytes = Buffer.from(hex.length % 2 === 1 ? '0' + hex : hex, 'hex');
  const bytes = Buffer.allocUnsafe(1 + integerBytes.length + 8);
  bytes.writeUInt8(integerBytes.length, 0);
  integerBytes.copy(bytes, 1);
  bytes.writeDoubleBE(fraction, 1 + integerBytes.length);
  if (negative) for (let index = 0; index < bytes.length; index += 1) bytes[index] = ~bytes[index]! & 0xff;
  writer.bytes(bytes);
}
