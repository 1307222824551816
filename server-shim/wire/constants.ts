/** Wire protocol constants (MongoDB's "Wire Protocol" specification). */

/** Operation codes of a message header. */
export const OpCode = {
  Reply: 1,
  Update: 2001,
  Insert: 2002,
  Query: 2004,
  GetMore: 2005,
  Delete: 2006,
  KillCursors: 2007,
  Compressed: 2012,
  Msg: 2013,
} as const;

/** OP_MSG flag bits. Bits 0-15 are "required": a receiver must reject ones it does not know. */
export const OpMsgFlag = {
  ChecksumPresent: 1 << 0,
  MoreToCome: 1 << 1,
  ExhaustAllowed: 1 << 16,
} as const;

/** OP_REPLY response flags. */
export const OpReplyFlag = {
  CursorNotFound: 1 << 0,
  QueryFailure: 1 << 1,
  AwaitCapable: 1 << 3,
} as const;

/** The largest message accepted or sent (mongod's `maxMessageSizeBytes`). */
export const maximumMessageSize = 48_000_000;

/** Size of the standard message header: length, request id, response-to id, op code. */
export const headerSize = 16;
