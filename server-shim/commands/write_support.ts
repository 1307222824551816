import { ObjectId } from 'bson';
import { CommandError, ErrorCodes } from '../errors/index.js';
import { engineErrorToCommandError, type EncodedDocument } from '../storage/index.js';
import { documentSize, encodeDocument, isDocument, maximumDocumentSize, regexParts, typeName, withIdFirstBytes, type Document } from '../values/index.js';

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

/** Checks one element of `insert.documents` and prepares it for storage. */
export function prepareInsert(document: unknown): Document {
  const prepared = withIdFirst(checkInsertElement(document));
  checkDocumentSize(prepared, 'object to insert');
  return prepared;
}

/**
 * `prepareInsert`, also returning the document's bytes: the size is checked on them, so a
 * document is encoded once on its way to storage. Given the bytes the client sent (an element
 * of a document sequence), those bytes are stored, with `_id` moved or added first, as mongod
 * stores what it receives: nothing is encoded again.
 */
export function prepareEncodedInsert(element: unknown, received?: Buffer): EncodedDocument {
  const checked = checkInsertElement(element);
  let document: Document | undefined;
  let encoded: Buffer | undefined;
  if (received !== undefined) {
    const hasId = Object.hasOwn(checked, '_id');
    const generatedId = hasId ? undefined : new ObjectId();
    if (hasId) checkIdValue(checked._id);
    encoded = withIdFirstBytes(received, Object.keys(checked).length, generatedId);
    if (encoded !== undefined) document = hasId ? checked : { _id: generatedId, ...checked };
  }
  if (document === undefined || encoded === undefined) {
    document = withIdFirst(checked);
    encoded = encodeDocument(document);
  }
  if (encoded.length > maximumDocumentSize) throw new CommandError(ErrorCodes.BSONObjectTooLarge, `object to insert too large. size in bytes: ${encoded.length}, max size: ${maximumDocumentSize}`);
  return { document, encoded };
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
