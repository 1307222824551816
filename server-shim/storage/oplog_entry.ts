import type { UUID } from 'bson';

/** What an insert's oplog entry holds besides its fixed fields. */
export interface InsertOplogFields {
  ns: string;
  ui: UUID;
  /** The inserted document, encoded. */
  document: Uint8Array;
  /**
   * `{<key field>: <key value>}`, encoded; or, as a number, where the document's first element,
   * its key field, ends (`leadingElementEnd`), which `o2` then repeats.
   */
  o2: Uint8Array | number;
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

/** Writes `name` (ASCII) as an element's type and name, byte by byte: faster than a string write for names this short. */
function writeName(out: Buffer, at: number, type: number, name: string): number {
  out[at++] = type;
  for (let i = 0; i < name.length; i++) out[at++] = name.charCodeAt(i);
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
  const { document, o2 } = fields;
  const o2Length = typeof o2 === 'number' ? 4 + (o2 - 4) + 1 : o2.length;
  const length = 4
    + shared.length
    + (1 + 2 + document.length)
    + (1 + 3 + o2Length)
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
  out.set(document, at);
  at += document.length;
  at = writeName(out, at, BsonType.Document, 'o2');
  if (typeof o2 === 'number') {
    at = out.writeInt32LE(o2Length, at);
    out.set(document.subarray(4, o2), at);
    at += o2 - 4;
    out[at++] = 0;
  } else {
    out.set(o2, at);
    at += o2.length;
  }
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
