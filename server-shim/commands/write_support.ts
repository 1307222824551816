import { ObjectId } from 'bson';
import { CommandError, ErrorCodes } from '../errors/index.js';
import { engineErrorToCommandError, type EncodedDocument } from '../storage/index.js';
import {
  decodeDocument, documentSize, encodeDocument, encodeKey, encodeObjectIdKey, isDocument, leadingElementDocument, maximumDocumentSize, moveIdFirst,
  prependObjectId, regexParts, topLevelElements, typeName, type Document,
} from '../values/index.js';

/** BSON's ObjectId element type. */
const objectIdType = 0x07;

/** Documents written per storage write: a large batch yields to other clients between chunks. */
export const writeChunkSize = 1000;

/** One entry of a write reply's `writeErrors`. */
export function writeError(index: number, error: unknown): Document {
  const failure = engineErrorToCommandError(error);
  return { index, code: failure.code, codeName: failure.codeName, errmsg: failure.message, ...failure.extra };
}

/** Refuses an `_id` mongod refuses (arrays, regexes, undefined), with InvalidIdField (53). */
export function checkIdValue(value: unknown): void {
  if (Array.isArray(value)) throw new CommandError(ErrorCodes.InvalidIdField, "The '_id' value cannot be of type array");
  if (regexParts(value) !== undefined) throw new CommandError(ErrorCodes.InvalidIdField, "can't use a regex for _id");
  if (value === undefined) throw new CommandError(ErrorCodes.InvalidIdField, "can't use a undefined for _id");
}

/** Refuses a document over 16 MB. */
export function checkDocumentSize(document: Document, what: string): void {
  const size = documentSize(document);
  if (size > maximumDocumentSize) throw new CommandError(ErrorCodes.BSONObjectTooLarge, `${what} too large. size in bytes: ${size}, max size: ${maximumDocumentSize}`);
}

/**
 * The document as mongod stores it: `_id` first (an ObjectId generated when missing), other
 * fields in the order given.
 */
export function withIdFirst(document: Document): Document {
  const id = Object.hasOwn(document, '_id') ? document._id : new ObjectId();
  checkIdValue(id);
  const result: Document = { _id: id };
  for (const [key, value] of Object.entries(document)) if (key !== '_id') result[key] = value;
  return result;
}

/** Refuses a document whose encoding is over 16 MB. */
function checkEncodedSize(encoded: Buffer): void {
  if (encoded.length > maximumDocumentSize) throw new CommandError(ErrorCodes.BSONObjectTooLarge, `object to insert too large. size in bytes: ${encoded.length}, max size: ${maximumDocumentSize}`);
}

/** Checks one element of `insert.documents` given as a decoded value and prepares it for a collection keyed by `keyField`. */
export function prepareInsert(element: unknown, keyField: string): EncodedDocument {
  const document = withIdFirst(checkInsertElement(element));
  const encoded = encodeDocument(document);
  checkEncodedSize(encoded);
  return { encoded, key: encodeKey(document[keyField]) };
}

/**
 * Prepares a document received as bytes (an element of a document sequence, already checked to
 * be valid BSON) for a collection keyed by `keyField`: the bytes are stored as received, with
 * `_id` moved or added first, as mongod stores what it receives, and nothing is decoded but the
 * `_id` of another type than ObjectId. Bytes with a repeated field name, or a name that is not
 * ASCII (which bson may decode as another's), are decoded and encoded again: the decoded
 * document (the last of the repeated fields) is what gets stored.
 */
export function prepareReceivedInsert(received: Buffer, keyField: string): EncodedDocument {
  const elements = topLevelElements(received);
  if (elements === undefined || elements.repeatedName || !elements.asciiNames) return prepareInsert(decodeDocument(received), keyField);
  const { id } = elements;
  const encoded = id === undefined ? prependObjectId(received, new ObjectId()) : moveIdFirst(received, id);
  checkEncodedSize(encoded);
  let key: Buffer | undefined;
  if (encoded[4] === objectIdType) {
    if (keyField === '_id') key = encodeObjectIdKey(encoded, 9);
  } else {
    // Not an ObjectId, so not generated: the element moved first is the one received.
    const idValue = decodeDocument(leadingElementDocument(encoded, 4 + (id!.end - id!.start)))._id;
    checkIdValue(idValue);
    if (keyField === '_id') key = encodeKey(idValue);
  }
  return { encoded, key: key ?? encodeKey(decodeDocument(encoded)[keyField]) };
}

function checkInsertElement(document: unknown): Document {
  if (!isDocument(document)) {
    throw new CommandError(ErrorCodes.TypeMismatch, `BSON field 'insert.documents' element is the wrong type '${typeName(document)}', expected type 'object'`);
  }
  return document;
}

/**
 * Up to `count` keys from a record stream, leaving the stream open for the next call (a
 * `for...of` with `break` would close the generator).
 */
export function takeKeys(records: Iterator<{ key: Buffer }>, count: number): Buffer[] {
  const keys: Buffer[] = [];
  while (keys.length < count) {
    const step = records.next();
    if (step.done) break;
    keys.push(step.value.key);
  }
  return keys;
}
