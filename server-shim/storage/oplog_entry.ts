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

/**
 * The oplog entry of an insert, `{op: 'i', ns, ui, o, o2, ts, t, v: 2, wall}`, the bytes the bson
 * library writes for that object, built around the document's bytes instead of encoding the
 * document a second time (an insert-heavy load spends much of its time encoding).
 */
export function encodeInsertOplogEntry(fields: InsertOplogFields): Buffer {
  const ns = Buffer.from(fields.ns, 'utf8');
  const ui = fields.ui.buffer;
  const length = 4
    + (1 + 3 + 4 + 2) // op: 'i'
    + (1 + 3 + 4 + ns.length + 1)
    + (1 + 3 + 4 + 1 + ui.length)
    + (1 + 2 + fields.document.length)
    + (1 + 3 + fields.o2.length)
    + (1 + 3 + 8) // ts
    + (1 + 2 + 8) // t
    + (1 + 2 + 8) // v
    + (1 + 5 + 8) // wall
    + 1;
  const out = Buffer.allocUnsafe(length);
  let at = out.writeInt32LE(length, 0);
  const name = (type: number, field: string): void => {
    out[at++] = type;
    at += out.write(field, at, 'latin1');
    out[at++] = 0;
  };
  const string = (field: string, value: Uint8Array): void => {
    name(BsonType.String, field);
    at = out.writeInt32LE(value.length + 1, at);
    out.set(value, at);
    at += value.length;
    out[at++] = 0;
  };
  string('op', Buffer.from('i'));
  string('ns', ns);
  name(BsonType.Binary, 'ui');
  at = out.writeInt32LE(ui.length, at);
  out[at++] = uuidSubtype;
  out.set(ui, at);
  at += ui.length;
  name(BsonType.Document, 'o');
  out.set(fields.document, at);
  at += fields.document.length;
  name(BsonType.Document, 'o2');
  out.set(fields.o2, at);
  at += fields.o2.length;
  name(BsonType.Timestamp, 'ts');
  at = out.writeBigUInt64LE(fields.ts, at);
  name(BsonType.Int64, 't');
  at = out.writeBigInt64LE(BigInt(fields.term), at);
  name(BsonType.Int64, 'v');
  at = out.writeBigInt64LE(2n, at);
  name(BsonType.Date, 'wall');
  at = out.writeBigInt64LE(BigInt(fields.wall.getTime()), at);
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
