import { decodeDocument, type Document } from '../values/index.js';

/** The largest document the stream may carry: BSON's 16 MB plus mongod's internal headroom. */
const MAXIMUM_DOCUMENT_SIZE = 16 * 1024 * 1024 + 16 * 1024;
const MINIMUM_DOCUMENT_SIZE = 5;

/** MongoDB's codes for a malformed restore stream. */
export const StreamErrorCode = {
  /** The stream ended inside a document (or before the configuration). */
  Truncated: 8290500,
  /** A length prefix outside 5 bytes .. 16 MB. */
  BadLength: 8290501,
  /** The bytes of a document are not valid BSON. */
  InvalidDocument: 8290502,
} as const;

/** A malformed restore stream, with MongoDB's code and the byte offset of the bad document. */
export class RestoreStreamError extends Error {
  constructor(readonly code: number, message: string, readonly offset: number) {
    super(`${message} (at byte ${offset} of the input)`);
    this.name = 'RestoreStreamError';
  }
}

/**
 * Splits a magic-restore input into its documents: each is an int32 little-endian length
 * (counting itself) followed by the rest of a BSON document, as `bsondump`-style streams are.
 */
export function* readBsonStream(bytes: Buffer): Generator<{ document: Document; offset: number }> {
  let offset = 0;
  while (offset < bytes.length) {
    if (bytes.length - offset < 4) {
      throw new RestoreStreamError(StreamErrorCode.Truncated, 'the stream ends inside a document length', offset);
    }
    const length = bytes.readInt32LE(offset);
    if (length < MINIMUM_DOCUMENT_SIZE || length > MAXIMUM_DOCUMENT_SIZE) {
      throw new RestoreStreamError(StreamErrorCode.BadLength, `invalid document length ${length}`, offset);
    }
    if (offset + length > bytes.length) {
      throw new RestoreStreamError(StreamErrorCode.Truncated, `the stream ends inside a ${length}-byte document`, offset);
    }
    let document: Document;
    try {
      document = decodeDocument(bytes.subarray(offset, offset + length));
    } catch (error) {
      throw new RestoreStreamError(StreamErrorCode.InvalidDocument, `invalid BSON document: ${(error as Error).message}`, offset);
    }
    yield { document, offset };
    offset += length;
  }
}
