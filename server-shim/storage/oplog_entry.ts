import type { UUID } from 'bson';

/** What an insert's oplog entry holds besides its fixed fields. */
export interface InsertOplogFields {
  ns: string;
  ui: UUID;
  /** The inserted document, encoded. */
  document: Uint8Array;
  /** `{<key field>: <key value>}`, encoded. */
  o2: Uint8Array;
  ts: bigint;
  term: number;
  wall: Date;
}

const BsonType = { Document: 0x03, String: 0x02, Binary: 0x05, Date: 0x09, Timestamp: 0x11, Int64: 0x12 } as const;
const uuidSubtype = 4;

/** The fields every insert into one collection shares, `op`, `ns` and `ui`, as BSON elements. */
interface SharedElements {
  ns: string;
  ui: UUID;
  bytes: Buffer;
}

/** The shared elements of the collection written last: a batch of inserts builds them once. */
let lastShared: SharedElements | undefined;

function sharedElements(ns: string, ui: UUID): Buffer {
  if (lastShared !== undefined && lastShared.ns === ns && lastShared.ui === ui) return lastShared.bytes;
  const nsBytes = Buffer.from(ns, 'utf8');
  const uiBytes = ui.buffer;
  const bytes = Buffer.alloc((1 + 3 + 4 + 2) + (1 + 3 + 4 + nsBytes.length + 1) + (1 + 3 + 4 + 1 + uiBytes.length));
  let at = 0;
  const string = (field: string, value: Uint8Array): void => {
    at = writeName(bytes, at, BsonType.String, field);
    at = bytes.writeInt32LE(value.length + 1, at);
    bytes.set(value, at);
    at += value.length;
    bytes[at++] = 0;
  };
  string('op', Buffer.from('i'));
  string('ns', nsBytes);
  at = writeName(bytes, at, BsonType.Binary, 'ui');
  at = bytes.writeInt32LE(uiBytes.length, at);
  bytes[at++] = uuidSubtype;
  bytes.set(uiBytes, at);
  lastShared = { ns, ui, bytes };
  return bytes;
}

/** Writes a 64-bit integer given as a safe JavaScript integer, little-endian, as `writeBigInt64LE` would. */
function writeInt64(out: Buffer, value: number, at: number): number {
  const low = value % 0x1_0000_0000;
  out.writeUInt32LE(low < 0 ? low + 0x1_0000_0000 : low, at);
  out.writeInt32LE(Math.floor(value / 0x1_0000_0000), at + 4);
  return at + 8;
}

/** Writes `name` as an element's type and name. */
function writeName(out: Buffer, at: number, type: number, name: string): number {
  out[at++] = type;
  at += out.write(name, at, 'latin1');
  out[at++] = 0;
  return at;
}

/**
 * The oplog entry of an insert, `{op: 'i', ns, ui, o, o2, ts, t, v: 2, wall}`, the bytes the bson
 * library writes for that object, built around the document's bytes instead of encoding the
 * document a second time (an insert-heavy load spends much of its time encoding), with the
 * elements every insert into the collection shares built once.
 */
export function encodeInsertOplogEntry(fields: InsertOplogFields): Buffer {
  const shared = sharedElements(fields.ns, fields.ui);
  const length = 4
    + shared.length
    + (1 + 2 + fields.document.length)
    + (1 + 3 + fields.o2.length)
    + (1 + 3 + 8) // ts
    + (1 + 2 + 8) // t
    + (1 + 2 + 8) // v
    + (1 + 5 + 8) // wall
    + 1;
  const out = Buffer.allocUnsafe(length);
  let at = out.writeInt32LE(length, 0);
  out.set(shared, at);
  at += shared.length;
  at = writeName(out, at, BsonType.Document, 'o');
  out.set(fields.document, at);
  at += fields.document.length;
  at = writeName(out, at, BsonType.Document, 'o2');
  out.set(fields.o2, at);
  at += fields.o2.length;
  at = writeName(out, at, BsonType.Timestamp, 'ts');
  at = out.writeBigUInt64LE(fields.ts, at);
  at = writeName(out, at, BsonType.Int64, 't');
  at = writeInt64(out, fields.term, at);
  at = writeName(out, at, BsonType.Int64, 'v');
  at = writeInt64(out, 2, at);
  at = writeName(out, at, BsonType.Date, 'wall');
  at = writeInt64(out, fields.wall.getTime(), at);
  out[at++] = 0;
  if (at !== length) throw new Error(`insert oplog entry: wrote ${at} bytes of ${length}`);
  return out;
}

/** Bytes of an element's value for the BSON types whose size its type alone or a length prefix gives. */
function elementValueSize(bytes: Uint8Array, type: number, at: number): number | undefined {
  switch (type) {
    case 0x01: case 0x09: case 0x11: case 0x12: return 8; // double, date, timestamp, int64
    case 0x10: return 4; // int32
    case 0x07: return 12; // ObjectId
    case 0x08: return 1; // boolean
    case 0x13: return 16; // decimal128
    case 0x0a: case 0x7f: case 0xff: return 0; // null, max key, min key
    case 0x02: case 0x0e: case 0x0d: // string, symbol, code: int32 length then the bytes
      return at + 4 <= bytes.length ? 4 + (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) : undefined;
    case 0x03: case 0x04: // document, array: the int32 length counts itself
      return at + 4 <= bytes.length ? (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) : undefined;
    case 0x05: // binary: int32 length, subtype, bytes
      return at + 4 <= bytes.length ? 5 + (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) : undefined;
    default:
      return undefined;
  }
}

/**
 * `{<keyField>: <value>}` encoded, cut from an encoded document whose first element is
 * `keyField` (an insert's `o2`, as the document stores `_id` first), the same bytes the bson
 * library writes for it; undefined when the first element is another field or of a type
 * this does not size (the caller then encodes the key document itself).
 */
export function keyElementDocument(encoded: Uint8Array, keyField: string): Buffer | undefined {
  if (encoded.length < 5) return undefined;
  const type = encoded[4]!;
  let at = 5;
  for (let i = 0; i < keyField.length; i++, at++) {
    if (encoded[at] !== keyField.charCodeAt(i)) return undefined;
  }
  if (encoded[at] !== 0) return undefined;
  at += 1;
  const size = elementValueSize(encoded, type, at);
  if (size === undefined || size < 0 || at + size > encoded.length - 1) return undefined;
  const elementEnd = at + size;
  const out = Buffer.allocUnsafe(4 + (elementEnd - 4) + 1);
  out.writeInt32LE(out.length, 0);
  out.set(encoded.subarray(4, elementEnd), 4);
  out[out.length - 1] = 0;
  return out;
}
