/**
 * Encoded BSON documents read and rearranged as bytes, without decoding their values: an
 * insert stores the bytes the client sent (with `_id` moved or added first, as mongod does)
 * instead of decoding them into objects and encoding those again.
 *
 * These functions trust the document's structure only as far as they check it: every read is
 * bounds-checked, and anything they cannot size returns undefined, so the caller falls back to
 * the decoded document.
 */
import type { ObjectId } from 'bson';

/** An element's place in an encoded document: from its type byte to the end of its value. */
export interface ElementSpan {
  start: number;
  end: number;
}

const ObjectIdType = 0x07;
const idName = [0x5f, 0x69, 0x64]; // "_id"

function int32At(bytes: Uint8Array, at: number): number | undefined {
  return at + 4 <= bytes.length ? bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24) : undefined;
}

/** Bytes of a C string (with its terminator) starting at `at`, or undefined when unterminated. */
function cStringSize(bytes: Uint8Array, at: number, end: number): number | undefined {
  for (let i = at; i < end; i++) if (bytes[i] === 0) return i - at + 1;
  return undefined;
}

/** Bytes of an element's value of `type` starting at `at`, or undefined for a type or length it cannot size. */
export function elementValueSize(bytes: Uint8Array, type: number, at: number): number | undefined {
  switch (type) {
    case 0x01: case 0x09: case 0x11: case 0x12: return 8; // double, date, timestamp, int64
    case 0x10: return 4; // int32
    case 0x07: return 12; // ObjectId
    case 0x08: return 1; // boolean
    case 0x13: return 16; // decimal128
    case 0x06: case 0x0a: case 0x7f: case 0xff: return 0; // undefined, null, max key, min key
    case 0x02: case 0x0d: case 0x0e: { // string, code, symbol: int32 length, then the bytes
      const length = int32At(bytes, at);
      return length === undefined || length < 1 ? undefined : 4 + length;
    }
    case 0x03: case 0x04: case 0x0f: { // document, array, code with scope: the int32 counts itself
      const length = int32At(bytes, at);
      return length === undefined || length < 5 ? undefined : length;
    }
    case 0x05: { // binary: int32 length, subtype, bytes
      const length = int32At(bytes, at);
      return length === undefined || length < 0 ? undefined : 5 + length;
    }
    case 0x0b: { // regex: pattern and options, two C strings
      const pattern = cStringSize(bytes, at, bytes.length);
      const options = pattern === undefined ? undefined : cStringSize(bytes, at + pattern, bytes.length);
      return options === undefined ? undefined : pattern! + options;
    }
    case 0x0c: { // DBPointer: a string, then an ObjectId
      const length = int32At(bytes, at);
      return length === undefined || length < 1 ? undefined : 4 + length + 12;
    }
    default:
      return undefined;
  }
}

/** The top-level elements of an encoded document, as `topLevelElements` walks them. */
export interface TopLevelElements {
  count: number;
  /** The first element named `_id`. */
  id: ElementSpan | undefined;
  /** Some name appears twice (a decoded document keeps only the last of them). */
  repeatedName: boolean;
  /**
   * Every name is ASCII. Names are compared as bytes; the decoder reads a name that is not valid
   * UTF-8 with replacement characters, so two names of different bytes can decode the same.
   */
  asciiNames: boolean;
}

/** Names compared pairwise up to this many fields, through a set beyond. */
const pairwiseNameLimit = 16;
/** Where the first names of the document being walked start, and their sizes: reused, as a walk allocates nothing for them. */
const nameStarts = new Int32Array(pairwiseNameLimit);
const nameSizes = new Int32Array(pairwiseNameLimit);

function sameBytes(bytes: Uint8Array, a: number, b: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (bytes[a + i] !== bytes[b + i]) return false;
  return true;
}

function latin1(bytes: Uint8Array, start: number, size: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, size).toString('latin1');
}

/**
 * The top-level elements of an encoded document: how many, where `_id` is, whether a name
 * repeats and whether all are ASCII. Undefined when the bytes do not walk cleanly to the
 * document's terminator.
 */
export function topLevelElements(bytes: Uint8Array): TopLevelElements | undefined {
  const length = int32At(bytes, 0);
  if (length === undefined || length !== bytes.length || length < 5 || bytes[length - 1] !== 0) return undefined;
  const end = length - 1;
  let at = 4;
  let count = 0;
  let id: ElementSpan | undefined;
  let repeatedName = false;
  let asciiNames = true;
  let names: Set<string> | undefined;
  while (at < end) {
    const start = at;
    const type = bytes[at]!;
    const nameSize = cStringSize(bytes, at + 1, end);
    if (nameSize === undefined) return undefined;
    for (let i = start + 1; i < start + nameSize && asciiNames; i++) asciiNames = bytes[i]! < 0x80;
    const valueAt = at + 1 + nameSize;
    const size = elementValueSize(bytes, type, valueAt);
    if (size === undefined || valueAt + size > end) return undefined;
    at = valueAt + size;
    if (!repeatedName) {
      if (count < pairwiseNameLimit) {
        for (let i = 0; i < count && !repeatedName; i++) repeatedName = nameSizes[i] === nameSize && sameBytes(bytes, nameStarts[i]!, start + 1, nameSize);
        nameStarts[count] = start + 1;
        nameSizes[count] = nameSize;
      } else {
        if (names === undefined) {
          names = new Set();
          for (let i = 0; i < pairwiseNameLimit; i++) names.add(latin1(bytes, nameStarts[i]!, nameSizes[i]!));
        }
        const name = latin1(bytes, start + 1, nameSize);
        repeatedName = names.has(name);
        names.add(name);
      }
    }
    count += 1;
    if (id === undefined && nameSize === 4 && bytes[start + 1] === idName[0] && bytes[start + 2] === idName[1] && bytes[start + 3] === idName[2]) {
      id = { start, end: at };
    }
  }
  return at === end ? { count, id, repeatedName, asciiNames } : undefined;
}

/** A copy of a document's bytes with its `_id` element (`topLevelElements`) moved first, the other elements in their order. */
export function moveIdFirst(received: Uint8Array, id: ElementSpan): Buffer {
  const out = Buffer.allocUnsafe(received.length);
  if (id.start === 4) {
    out.set(received);
    return out;
  }
  copyBytes(received, 0, 4, out, 0);
  copyBytes(received, id.start, id.end, out, 4);
  let at = 4 + (id.end - id.start);
  copyBytes(received, 4, id.start, out, at);
  at += id.start - 4;
  copyBytes(received, id.end, received.length, out, at);
  return out;
}

/**
 * Copies `source[start, end)` to `target` at `at`. Short ranges, as most elements of a small
 * document are, byte by byte: a view for `set` costs more than the copy.
 */
export function copyBytes(source: Uint8Array, start: number, end: number, target: Uint8Array, at: number): void {
  if (end - start > 64) {
    target.set(source.subarray(start, end), at);
    return;
  }
  for (let i = start; i < end; i++) target[at++] = source[i]!;
}

/** The bytes of an ObjectId `_id` element. */
const objectIdElementSize = 1 + idName.length + 1 + 12;

/** A copy of the bytes of a document without `_id`, with `id` added first as its `_id`. */
export function prependObjectId(received: Uint8Array, id: ObjectId): Buffer {
  const out = Buffer.allocUnsafe(received.length + objectIdElementSize);
  out.writeInt32LE(out.length, 0);
  out[4] = ObjectIdType;
  out.set(idName, 5);
  out[8] = 0;
  out.set(id.id, 9);
  copyBytes(received, 4, received.length, out, 4 + objectIdElementSize);
  return out;
}

/**
 * Where the first element of an encoded document ends when that element is `field` (as an
 * insert stores `_id` first); undefined when the first element is another field or of a type
 * this does not size.
 */
export function leadingElementEnd(encoded: Uint8Array, field: string): number | undefined {
  if (encoded.length < 5) return undefined;
  const type = encoded[4]!;
  let at = 5;
  for (let i = 0; i < field.length; i++, at++) {
    if (encoded[at] !== field.charCodeAt(i)) return undefined;
  }
  if (encoded[at] !== 0) return undefined;
  at += 1;
  const size = elementValueSize(encoded, type, at);
  if (size === undefined || at + size > encoded.length - 1) return undefined;
  return at + size;
}

/** `{<first element>}`: a document of an encoded document's first element, which ends at `elementEnd`. */
export function leadingElementDocument(encoded: Uint8Array, elementEnd: number): Buffer {
  const out = Buffer.allocUnsafe(4 + (elementEnd - 4) + 1);
  out.writeInt32LE(out.length, 0);
  out.set(encoded.subarray(4, elementEnd), 4);
  out[out.length - 1] = 0;
  return out;
}
