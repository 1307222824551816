import { BSON } from 'bson';
import type { Document } from './types.js';

/** mongod's maximum document size (`maxBsonObjectSize`). */
export const maximumDocumentSize = 16 * 1024 * 1024;

/** How every document is decoded: numeric types and regex flags are kept exactly. */
const decodeOptions: BSON.DeserializeOptions = {
  promoteValues: false,
  promoteBuffers: false,
  promoteLongs: false,
  bsonRegExp: true,
};

/**
 * Decodes one BSON document that must fill `bytes` exactly. Throws (a `BSONError`) on any
 * malformation: a bad length, a truncated element, invalid UTF-8.
 */
export function decodeDocument(bytes: Uint8Array): Document {
  return BSON.deserialize(bytes, decodeOptions) as Document;
}

/** Encodes a document. The bson library drops `undefined` fields, as the drivers do. */
export function encodeDocument(document: Document): Buffer {
  const bytes = BSON.serialize(document, { ignoreUndefined: false });
  // The library returns a fresh Node.js Buffer as a Uint8Array: wrap it rather than copy it.
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The encoded size of a document in bytes. */
export function documentSize(document: Document): number {
  return BSON.calculateObjectSize(document, { ignoreUndefined: false });
}

/** A deep copy made through BSON, so that types stay exactly as they were. */
export function copyDocument<T extends Document>(document: T): T {
  return decodeDocument(encodeDocument(document)) as T;
}
