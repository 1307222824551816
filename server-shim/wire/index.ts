/**
 * The MongoDB wire protocol: framing a byte stream into messages, parsing OP_MSG and the legacy
 * OP_QUERY handshake, and encoding OP_MSG and OP_REPLY replies. Pure: no sockets here.
 */
export { headerSize, maximumMessageSize, OpCode, OpMsgFlag, OpReplyFlag } from './constants.js';
export { WireProtocolError } from './errors.js';
export { MessageFramer } from './framer.js';
export { DocumentSequence, encodeMsgReply, encodeMsgRequest, encodeOpReply, encodeQueryRequest, parseReply, parseRequest, readHeader } from './messages.js';
export type { MessageHeader, MsgRequest, ParseOptions, QueryRequest, Request } from './messages.js';
