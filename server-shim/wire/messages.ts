import { checksum } from '../../engine/format/checksum.js';
import { ErrorCodes } from '../errors/index.js';
import { decodeDocument, encodeDocument, type Document } from '../values/index.js';
import { headerSize, OpCode, OpMsgFlag } from './constants.js';
import { WireProtocolError } from './errors.js';

/** The standard header every message starts with. */
export interface MessageHeader {
  messageLength: number;
  requestId: number;
  responseTo: number;
  opCode: number;
}

/**
 * An OP_MSG request, with its document sequences merged into the body as arrays, except for a
 * command that takes them as received (`ParseOptions.rawSequencesFor`).
 */
export interface MsgRequest {
  kind: 'msg';
  header: MessageHeader;
  flags: number;
  /** The command: the kind-0 body plus one array field per kind-1 section merged into it. */
  body: Document;
  /** The kind-1 sections not merged into `body`, by identifier: checked, not decoded. */
  sequences: ReadonlyMap<string, DocumentSequence>;
  /** The client does not want a reply (`moreToCome`). */
  moreToCome: boolean;
  /** The client accepts several replies to this request (`exhaustAllowed`). */
  exhaustAllowed: boolean;
  checksumPresent: boolean;
}

/** How requests are parsed. */
export interface ParseOptions {
  /**
   * Commands (by the body's first field) whose document sequences stay as received instead of
   * being decoded into the body: each document is still checked to be valid BSON, as every
   * document of a message is, but not kept decoded (`insert` stores the bytes it received).
   */
  rawSequencesFor?: ReadonlySet<string>;
}

/**
 * The documents of one OP_MSG document sequence as received: each checked to be valid BSON when
 * the message was parsed, and kept as its place in the message, not as an object.
 */
export class DocumentSequence {
  constructor(
    private readonly message: Buffer,
    /** Each document's start and end offsets in the message, two numbers per document. */
    private readonly bounds: readonly number[],
  ) {}

  get length(): number {
    return this.bounds.length / 2;
  }

  /** The bytes of document `index`, a view of the message. */
  bytes(index: number): Buffer {
    return this.message.subarray(this.bounds[2 * index]!, this.bounds[2 * index + 1]!);
  }
}

/** A legacy OP_QUERY request (only the handshake on `*.$cmd` is served). */
export interface QueryRequest {
  kind: 'query';
  header: MessageHeader;
  flags: number;
  fullCollectionName: string;
  numberToSkip: number;
  numberToReturn: number;
  /** The query document, with a legacy `$query` wrapper removed. */
  query: Document;
}

export type Request = MsgRequest | QueryRequest;

/** Reads the 16-byte header. */
export function readHeader(message: Buffer): MessageHeader {
  return {
    messageLength: message.readInt32LE(0),
    requestId: message.readInt32LE(4),
    responseTo: message.readInt32LE(8),
    opCode: message.readInt32LE(12),
  };
}

/**
 * Parses one whole message (as cut by `MessageFramer`). Throws `WireProtocolError` for anything
 * malformed: unknown op codes (including OP_COMPRESSED, which this server never negotiates),
 * unknown required flags, section kinds other than 0 and 1, a missing or repeated body,
 * lengths that do not add up, invalid BSON or a wrong checksum.
 */
export function parseRequest(message: Buffer, options: ParseOptions = {}): Request {
  const header = readHeader(message);
  if (header.messageLength !== message.length) {
    throw new WireProtocolError(`header length ${header.messageLength} does not match the ${message.length} bytes received`, ErrorCodes.ProtocolError, 0);
  }
  switch (header.opCode) {
    case OpCode.Msg:
      return parseMsg(message, header, options);
    case OpCode.Query:
      return parseQuery(message, header);
    case OpCode.Compressed:
      throw new WireProtocolError('OP_COMPRESSED is not supported: no compressor was negotiated', ErrorCodes.ProtocolError, 12);
    default:
      throw new WireProtocolError(`unsupported op code ${header.opCode}`, ErrorCodes.ProtocolError, 12);
  }
}

/** What a document is called in an error: a name, or a function that makes one (a sequence names each of thousands only when one fails). */
type DocumentName = string | (() => string);

function nameOf(what: DocumentName): string {
  return typeof what === 'string' ? what : what();
}

/** Where the BSON document at `offset` ends; it must lie within `end`. */
function documentEnd(message: Buffer, offset: number, end: number, what: DocumentName): number {
  if (offset + 5 > end) throw new WireProtocolError(`${nameOf(what)} is truncated`, ErrorCodes.InvalidBSON, offset);
  const length = message.readInt32LE(offset);
  if (length < 5 || offset + length > end) {
    throw new WireProtocolError(`${nameOf(what)} declares length ${length}, which does not fit the ${end - offset} bytes left`, ErrorCodes.InvalidBSON, offset);
  }
  return offset + length;
}

/** Decodes the BSON document from `offset` to `next`, with the error a client gets when it is invalid. */
function decodeAt(message: Buffer, offset: number, next: number, what: DocumentName): Document {
  try {
    return decodeDocument(message.subarray(offset, next));
  } catch (error) {
    throw new WireProtocolError(`${nameOf(what)} is not valid BSON: ${(error as Error).message}`, ErrorCodes.InvalidBSON, offset, { cause: error });
  }
}

/** Reads the BSON document at `offset`, which must lie within `end`. */
function readDocument(message: Buffer, offset: number, end: number, what: string): { document: Document; next: number } {
  const next = documentEnd(message, offset, end, what);
  return { document: decodeAt(message, offset, next, what), next };
}

function readCString(message: Buffer, offset: number, end: number, what: string): { text: string; next: number } {
  const terminator = message.indexOf(0, offset);
  if (terminator === -1 || terminator >= end) throw new WireProtocolError(`${what} is not terminated`, ErrorCodes.ProtocolError, offset);
  return { text: message.toString('utf8', offset, terminator), next: terminator + 1 };
}

function parseMsg(message: Buffer, header: MessageHeader, options: ParseOptions): MsgRequest {
  if (message.length < headerSize + 4 + 1) throw new WireProtocolError('OP_MSG is too short to hold flags and a section', ErrorCodes.ProtocolError, headerSize);
  const flags = message.readUInt32LE(headerSize);
  const known = OpMsgFlag.ChecksumPresent | OpMsgFlag.MoreToCome;
  const unknownRequired = flags & 0xffff & ~known;
  if (unknownRequired !== 0) {
    throw new WireProtocolError(`OP_MSG has unknown required flag bits 0x${unknownRequired.toString(16)}`, ErrorCodes.IllegalOpMsgFlag, headerSize);
  }
  const checksumPresent = (flags & OpMsgFlag.ChecksumPresent) !== 0;
  let end = message.length;
  if (checksumPresent) {
    end -= 4;
    if (end < headerSize + 5) throw new WireProtocolError('OP_MSG with a checksum is too short', ErrorCodes.ProtocolError, headerSize);
    const expected = message.readUInt32LE(end);
    const actual = checksum(message.subarray(0, end));
    if (expected !== actual) {
      throw new WireProtocolError(`OP_MSG checksum mismatch: message says 0x${expected.toString(16)}, bytes give 0x${actual.toString(16)}`, ErrorCodes.ChecksumMismatch, end);
    }
  }

  let body: Document | undefined;
  /** Each sequence's documents' start and end offsets, framed here, decoded once the command is known. */
  const framed = new Map<string, number[]>();
  let offset = headerSize + 4;
  while (offset < end) {
    const kind = message.readUInt8(offset);
    offset += 1;
    if (kind === 0) {
      if (body !== undefined) throw new WireProtocolError('OP_MSG has more than one body section', ErrorCodes.ProtocolError, offset - 1);
      const read = readDocument(message, offset, end, 'OP_MSG body');
      body = read.document;
      offset = read.next;
    } else if (kind === 1) {
      if (offset + 4 > end) throw new WireProtocolError('document sequence size is truncated', ErrorCodes.ProtocolError, offset);
      const size = message.readInt32LE(offset);
      const sectionEnd = offset + size;
      if (size < 4 + 1 || sectionEnd > end) throw new WireProtocolError(`document sequence size ${size} does not fit the message`, ErrorCodes.ProtocolError, offset);
      const identifier = readCString(message, offset + 4, sectionEnd, 'document sequence identifier');
      if (framed.has(identifier.text)) throw new WireProtocolError(`duplicate document sequence "${identifier.text}"`, ErrorCodes.ProtocolError, offset);
      const bounds: number[] = [];
      let position = identifier.next;
      const documentName = (): string => `document ${bounds.length / 2} of sequence "${identifier.text}"`;
      while (position < sectionEnd) {
        const next = documentEnd(message, position, sectionEnd, documentName);
        bounds.push(position, next);
        position = next;
      }
      framed.set(identifier.text, bounds);
      offset = sectionEnd;
    } else {
      throw new WireProtocolError(`unknown OP_MSG section kind ${kind}`, ErrorCodes.ProtocolError, offset - 1);
    }
  }
  if (body === undefined) throw new WireProtocolError('OP_MSG has no body section', ErrorCodes.ProtocolError, headerSize + 4);
  const raw = options.rawSequencesFor?.has(Object.keys(body)[0] ?? '') ?? false;
  const sequences = new Map<string, DocumentSequence>();
  for (const [identifier, bounds] of framed) {
    if (Object.hasOwn(body, identifier)) throw new WireProtocolError(`"${identifier}" is both a body field and a document sequence`, ErrorCodes.ProtocolError);
    const documents: Document[] = [];
    let i = 0;
    const documentName = (): string => `document ${i / 2} of sequence "${identifier}"`;
    for (; i < bounds.length; i += 2) {
      // Every document is checked; one a command takes raw is not kept decoded.
      const document = decodeAt(message, bounds[i]!, bounds[i + 1]!, documentName);
      if (!raw) documents.push(document);
    }
    if (raw) sequences.set(identifier, new DocumentSequence(message, bounds));
    else body[identifier] = documents;
  }
  return {
    kind: 'msg',
    header,
    flags,
    body,
    sequences,
    moreToCome: (flags & OpMsgFlag.MoreToCome) !== 0,
    exhaustAllowed: (flags & OpMsgFlag.ExhaustAllowed) !== 0,
    checksumPresent,
  };
}

function parseQuery(message: Buffer, header: MessageHeader): QueryRequest {
  let offset = headerSize;
  if (offset + 4 > message.length) throw new WireProtocolError('OP_QUERY is truncated', ErrorCodes.ProtocolError, offset);
  const flags = message.readInt32LE(offset);
  offset += 4;
  const name = readCString(message, offset, message.length, 'OP_QUERY collection name');
  offset = name.next;
  if (offset + 8 > message.length) throw new WireProtocolError('OP_QUERY is truncated', ErrorCodes.ProtocolError, offset);
  const numberToSkip = message.readInt32LE(offset);
  const numberToReturn = message.readInt32LE(offset + 4);
  offset += 8;
  const query = readDocument(message, offset, message.length, 'OP_QUERY query');
  offset = query.next;
  if (offset < message.length) {
    // An optional field selector; read it so that garbage after the query is still caught.
    offset = readDocument(message, offset, message.length, 'OP_QUERY field selector').next;
  }
  if (offset !== message.length) throw new WireProtocolError('OP_QUERY has bytes after its documents', ErrorCodes.ProtocolError, offset);
  const wrapped = query.document.$query;
  const unwrapped = wrapped !== null && typeof wrapped === 'object' && !Array.isArray(wrapped) ? (wrapped as Document) : query.document;
  return { kind: 'query', header, flags, fullCollectionName: name.text, numberToSkip, numberToReturn, query: unwrapped };
}

function writeHeader(buffer: Buffer, requestId: number, responseTo: number, opCode: number): void {
  buffer.writeInt32LE(buffer.length, 0);
  buffer.writeInt32LE(requestId, 4);
  buffer.writeInt32LE(responseTo, 8);
  buffer.writeInt32LE(opCode, 12);
}

/** An OP_MSG reply with one body section (and `moreToCome` for exhaust streams). */
export function encodeMsgReply(document: Document, requestId: number, responseTo: number, options: { moreToCome?: boolean; checksum?: boolean } = {}): Buffer {
  const body = encodeDocument(document);
  const withChecksum = options.checksum === true;
  const buffer = Buffer.allocUnsafe(headerSize + 4 + 1 + body.length + (withChecksum ? 4 : 0));
  writeHeader(buffer, requestId, responseTo, OpCode.Msg);
  const flags = (options.moreToCome ? OpMsgFlag.MoreToCome : 0) | (withChecksum ? OpMsgFlag.ChecksumPresent : 0);
  buffer.writeUInt32LE(flags, headerSize);
  buffer.writeUInt8(0, headerSize + 4);
  body.copy(buffer, headerSize + 5);
  if (withChecksum) buffer.writeUInt32LE(checksum(buffer.subarray(0, buffer.length - 4)), buffer.length - 4);
  return buffer;
}

/** An OP_REPLY carrying one document (the answer to a legacy OP_QUERY command). */
export function encodeOpReply(document: Document, requestId: number, responseTo: number, responseFlags = 0): Buffer {
  const body = encodeDocument(document);
  const buffer = Buffer.allocUnsafe(headerSize + 20 + body.length);
  writeHeader(buffer, requestId, responseTo, OpCode.Reply);
  buffer.writeInt32LE(responseFlags, headerSize);
  buffer.writeBigInt64LE(0n, headerSize + 4);
  buffer.writeInt32LE(0, headerSize + 12);
  buffer.writeInt32LE(1, headerSize + 16);
  body.copy(buffer, headerSize + 20);
  return buffer;
}

/** An OP_MSG request (what a driver sends); used by tests and tools. */
export function encodeMsgRequest(
  body: Document,
  requestId: number,
  options: { sequences?: Record<string, Document[]>; moreToCome?: boolean; exhaustAllowed?: boolean; checksum?: boolean } = {},
): Buffer {
  const parts: Buffer[] = [Buffer.from([0]), encodeDocument(body)];
  for (const [identifier, documents] of Object.entries(options.sequences ?? {})) {
    const encoded = documents.map((document) => encodeDocument(document));
    const name = Buffer.from(identifier + '\0', 'utf8');
    const size = Buffer.allocUnsafe(4);
    size.writeInt32LE(4 + name.length + encoded.reduce((total, part) => total + part.length, 0));
    parts.push(Buffer.from([1]), size, name, ...encoded);
  }
  const payload = Buffer.concat(parts);
  const withChecksum = options.checksum === true;
  const buffer = Buffer.alloc(headerSize + 4 + payload.length + (withChecksum ? 4 : 0));
  writeHeader(buffer, requestId, 0, OpCode.Msg);
  const flags =
    (options.moreToCome ? OpMsgFlag.MoreToCome : 0) | (options.exhaustAllowed ? OpMsgFlag.ExhaustAllowed : 0) | (withChecksum ? OpMsgFlag.ChecksumPresent : 0);
  buffer.writeUInt32LE(flags >>> 0, headerSize);
  payload.copy(buffer, headerSize + 4);
  if (withChecksum) buffer.writeUInt32LE(checksum(buffer.subarray(0, buffer.length - 4)), buffer.length - 4);
  return buffer;
}

/** A legacy OP_QUERY request (what a driver sends for its first handshake). */
export function encodeQueryRequest(fullCollectionName: string, query: Document, requestId: number): Buffer {
  const name = Buffer.from(fullCollectionName + '\0', 'utf8');
  const document = encodeDocument(query);
  const buffer = Buffer.alloc(headerSize + 4 + name.length + 8 + document.length);
  writeHeader(buffer, requestId, 0, OpCode.Query);
  let offset = headerSize + 4;
  name.copy(buffer, offset);
  offset += name.length;
  buffer.writeInt32LE(0, offset);
  buffer.writeInt32LE(-1, offset + 4);
  document.copy(buffer, offset + 8);
  return buffer;
}

/** Parses a server reply (OP_MSG or OP_REPLY) into its document; used by tests and tools. */
export function parseReply(message: Buffer): { header: MessageHeader; document: Document; flags: number } {
  const header = readHeader(message);
  if (header.opCode === OpCode.Reply) {
    const flags = message.readInt32LE(headerSize);
    return { header, flags, document: readDocument(message, headerSize + 20, message.length, 'OP_REPLY document').document };
  }
  if (header.opCode === OpCode.Msg) {
    const request = parseMsg(message, header, {});
    return { header, flags: request.flags, document: request.body };
  }
  throw new WireProtocolError(`unexpected reply op code ${header.opCode}`, ErrorCodes.ProtocolError, 12);
}
