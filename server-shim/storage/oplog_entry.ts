import type { UUID } from 'bson';
import { copyBytes } from '../values/index.js';

const BsonType = { Document: 0x03, String: 0x02, Binary: 0x05, Date: 0x09, Timestamp: 0x11, Int64: 0x12 } as const;
const uuidSubtype = 4;

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
 * The oplog entries of inserts into one collection at one term and wall time (a group of
 * inserts committed together): `{op: 'i', ns, ui, o, o2, ts, t, v: 2, wall}`, the bytes the bson
 * library writes for that object, built around each document's bytes instead of encoding the
 * document a second time (an insert-heavy load spends much of its time encoding), with the
 * elements the group's entries share built once.
 */
export class InsertOplogEntries {
  /** `op`, `ns` and `ui`. */
  private readonly head: Buffer;
  /** `t`, `v` and `wall`, and the document's end. */
  private readonly tail: Buffer;

  constructor(ns: string, ui: UUID, term: number, wall: Date) {
    const nsBytes = Buffer.from(ns, 'utf8');
    const uiBytes = ui.buffer;
    const head = Buffer.alloc((1 + 3 + 4 + 2) + (1 + 3 + 4 + nsBytes.length + 1) + (1 + 3 + 4 + 1 + uiBytes.length));
    let at = 0;
    const string = (field: string, value: Uint8Array): void => {
      at = writeName(head, at, BsonType.String, field);
      at = head.writeInt32LE(value.length + 1, at);
      head.set(value, at);
      at += value.length;
      head[at++] = 0;
    };
    string('op', Buffer.from('i'));
    string('ns', nsBytes);
    at = writeName(head, at, BsonType.Binary, 'ui');
    at = head.writeInt32LE(uiBytes.length, at);
    head[at++] = uuidSubtype;
    head.set(uiBytes, at);
    this.head = head;
    const tail = Buffer.alloc((1 + 2 + 8) + (1 + 2 + 8) + (1 + 5 + 8) + 1);
    at = writeName(tail, 0, BsonType.Int64, 't');
    at = writeInt64(tail, term, at);
    at = writeName(tail, at, BsonType.Int64, 'v');
    at = writeInt64(tail, 2, at);
    at = writeName(tail, at, BsonType.Date, 'wall');
    writeInt64(tail, wall.getTime(), at);
    this.tail = tail;
  }

  /**
   * The entry of `document` at the timestamp of `seconds` and `increment`. `o2` is
   * `{<key field>: <key value>}` encoded or, as a number, where the document's first element,
   * its key field, ends (`leadingElementEnd`), which `o2` then repeats.
   */
  encode(document: Uint8Array, o2: Uint8Array | number, seconds: number, increment: number): Buffer {
    const { head, tail } = this;
    const o2Length = typeof o2 === 'number' ? 4 + (o2 - 4) + 1 : o2.length;
    const length = 4 + head.length + (1 + 2 + document.length) + (1 + 3 + o2Length) + (1 + 3 + 8) + tail.length;
    const out = Buffer.allocUnsafe(length);
    let at = out.writeInt32LE(length, 0);
    out.set(head, at);
    at += head.length;
    at = writeName(out, at, BsonType.Document, 'o');
    out.set(document, at);
    at += document.length;
    at = writeName(out, at, BsonType.Document, 'o2');
    if (typeof o2 === 'number') {
      at = out.writeInt32LE(o2Length, at);
      copyBytes(document, 4, o2, out, at);
      at += o2 - 4;
      out[at++] = 0;
    } else {
      out.set(o2, at);
      at += o2.length;
    }
    at = writeName(out, at, BsonType.Timestamp, 'ts');
    at = out.writeUInt32LE(increment, at);
    at = out.writeUInt32LE(seconds, at);
    out.set(tail, at);
    at += tail.length;
    if (at !== length) throw new Error(`insert oplog entry: wrote ${at} bytes of ${length}`);
    return out;
  }
}
