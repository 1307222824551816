import { expect } from 'chai';
import { Int32 } from 'bson';
import { ErrorCodes } from '../errors/index.js';
import { encodeDocument } from '../values/index.js';
import {
  encodeMsgReply,
  encodeMsgRequest,
  encodeOpReply,
  encodeQueryRequest,
  MessageFramer,
  OpCode,
  parseReply,
  parseRequest,
  WireProtocolError,
  type MsgRequest,
  type QueryRequest,
} from './index.js';

/** Builds a message from a header and raw payload bytes, fixing the length. */
function rawMessage(opCode: number, payload: Buffer, lengthOverride?: number): Buffer {
  const buffer = Buffer.alloc(16 + payload.length);
  buffer.writeInt32LE(lengthOverride ?? buffer.length, 0);
  buffer.writeInt32LE(7, 4);
  buffer.writeInt32LE(0, 8);
  buffer.writeInt32LE(opCode, 12);
  payload.copy(buffer, 16);
  return buffer;
}

const ping = encodeDocument({ ping: 1, $db: 'admin' });

/** Malformed messages and the error code each must be refused with. */
const malformedCases: { name: string; message: () => Buffer; code: number }[] = [
  { name: 'an unknown op code', message: () => rawMessage(9999, Buffer.alloc(8)), code: ErrorCodes.ProtocolError },
  { name: 'OP_COMPRESSED (never negotiated)', message: () => rawMessage(OpCode.Compressed, Buffer.alloc(9)), code: ErrorCodes.ProtocolError },
  { name: 'a removed legacy op code (OP_INSERT)', message: () => rawMessage(OpCode.Insert, Buffer.alloc(8)), code: ErrorCodes.ProtocolError },
  { name: 'an unknown section kind', message: () => rawMessage(OpCode.Msg, Buffer.concat([Buffer.alloc(4), Buffer.from([7]), ping])), code: ErrorCodes.ProtocolError },
  { name: 'no body section', message: () => rawMessage(OpCode.Msg, Buffer.alloc(4)), code: ErrorCodes.ProtocolError },
  { name: 'two body sections', message: () => rawMessage(OpCode.Msg, Buffer.concat([Buffer.alloc(4), Buffer.from([0]), ping, Buffer.from([0]), ping])), code: ErrorCodes.ProtocolError },
  {
    name: 'a truncated body document',
    message: () => rawMessage(OpCode.Msg, Buffer.concat([Buffer.alloc(4), Buffer.from([0]), ping.subarray(0, ping.length - 3)])),
    code: ErrorCodes.InvalidBSON,
  },
  {
    name: 'a body whose declared length is larger than the message',
    message: () => {
      const body = Buffer.from(ping);
      body.writeInt32LE(body.length + 100, 0);
      return rawMessage(OpCode.Msg, Buffer.concat([Buffer.alloc(4), Buffer.from([0]), body]));
    },
    code: ErrorCodes.InvalidBSON,
  },
  {
    name: 'a body with a corrupt element type',
    message: () => {
      const body = Buffer.from(ping);
      body[4] = 0x7f;
      return rawMessage(OpCode.Msg, Buffer.concat([Buffer.alloc(4), Buffer.from([0]), body]));
    },
    code: ErrorCodes.InvalidBSON,
  },
  {
    name: 'an unknown required flag bit',
    message: () => {
      const flags = Buffer.alloc(4);
      flags.writeUInt32LE(1 << 5);
      return rawMessage(OpCode.Msg, Buffer.concat([flags, Buffer.from([0]), ping]));
    },
    code: ErrorCodes.IllegalOpMsgFlag,
  },
  {
    name: 'a checksum that does not match',
    message: () => {
      const message = encodeMsgRequest({ ping: 1, $db: 'admin' }, 1, { checksum: true });
      message.writeUInt32LE((message.readUInt32LE(message.length - 4) ^ 1) >>> 0, message.length - 4);
      return message;
    },
    code: ErrorCodes.ChecksumMismatch,
  },
  {
    name: 'a document sequence whose size overruns the message',
    message: () => {
      const size = Buffer.alloc(4);
      size.writeInt32LE(1000);
      return rawMessage(OpCode.Msg, Buffer.concat([Buffer.alloc(4), Buffer.from([0]), ping, Buffer.from([1]), size, Buffer.from('documents\0')]));
    },
    code: ErrorCodes.ProtocolError,
  },
  {
    name: 'a header length that disagrees with the bytes',
    message: () => rawMessage(OpCode.Msg, Buffer.concat([Buffer.alloc(4), Buffer.from([0]), ping]), 12345),
    code: ErrorCodes.ProtocolError,
  },
  { name: 'an OP_QUERY without its query document', message: () => rawMessage(OpCode.Query, Buffer.concat([Buffer.alloc(4), Buffer.from('admin.$cmd\0'), Buffer.alloc(8)])), code: ErrorCodes.InvalidBSON },
];

describe('wire: parsing requests', () => {
  it('parses an OP_MSG body and merges document sequences into it as arrays', () => {
    const message = encodeMsgRequest({ update: 'c', $db: 'test' }, 42, { sequences: { updates: [{ q: { _id: 1 } }, { q: { _id: 2 } }] } });
    const request = parseRequest(message, { rawSequencesFor: new Set(['insert']) }) as MsgRequest;
    expect(request.kind).to.equal('msg');
    expect(request.header.requestId).to.equal(42);
    expect(request.body.update).to.equal('c');
    expect(request.body.updates).to.have.length(2);
    expect((request.body.updates as { q: { _id: Int32 } }[])[1]!.q._id.value).to.equal(2);
    expect(request.sequences.size).to.equal(0);
  });

  it('keeps the document sequences of a command that takes them raw as received, after checking each', () => {
    const documents = [{ _id: 1 }, { _id: 2, s: 'two' }];
    const message = encodeMsgRequest({ insert: 'c', $db: 'test' }, 7, { sequences: { documents } });
    const request = parseRequest(message, { rawSequencesFor: new Set(['insert']) }) as MsgRequest;
    expect(request.body).to.deep.equal({ insert: 'c', $db: 'test' });
    const sequence = request.sequences.get('documents')!;
    expect(sequence.length).to.equal(2);
    expect(documents.map((document, index) => sequence.bytes(index).equals(encodeDocument(document)))).to.deep.equal([true, true]);
    // Every document is checked, whether or not it is kept decoded.
    const damaged = Buffer.from(message);
    const stringAt = damaged.lastIndexOf(Buffer.from('two'));
    damaged[stringAt + 1] = 0xff;
    for (const rawSequencesFor of [new Set(['insert']), new Set<string>()]) {
      expect(() => parseRequest(damaged, { rawSequencesFor })).to.throw(WireProtocolError).with.property('code', ErrorCodes.InvalidBSON);
    }
  });

  it('accepts a correct checksum and reports moreToCome and exhaustAllowed', () => {
    const request = parseRequest(encodeMsgRequest({ ping: 1, $db: 'admin' }, 1, { checksum: true, moreToCome: true, exhaustAllowed: true })) as MsgRequest;
    expect(request.checksumPresent).to.equal(true);
    expect(request.moreToCome).to.equal(true);
    expect(request.exhaustAllowed).to.equal(true);
  });

  it('parses a legacy OP_QUERY handshake and unwraps $query', () => {
    const request = parseRequest(encodeQueryRequest('admin.$cmd', { $query: { isMaster: 1 }, $readPreference: { mode: 'primary' } }, 3)) as QueryRequest;
    expect(request.kind).to.equal('query');
    expect(request.fullCollectionName).to.equal('admin.$cmd');
    expect(Object.keys(request.query)).to.deep.equal(['isMaster']);
  });

  for (const testCase of malformedCases) {
    it(`refuses ${testCase.name}`, () => {
      let thrown: unknown;
      try {
        parseRequest(testCase.message());
      } catch (error) {
        thrown = error;
      }
      expect(thrown).to.be.instanceOf(WireProtocolError);
      expect((thrown as WireProtocolError).code).to.equal(testCase.code);
    });
  }
});

describe('wire: framing', () => {
  it('returns whole messages however the bytes are split', () => {
    const one = encodeMsgRequest({ ping: 1, $db: 'admin' }, 1);
    const two = encodeMsgRequest({ hello: 1, $db: 'admin' }, 2);
    const stream = Buffer.concat([one, two]);
    const framer = new MessageFramer();
    const messages: Buffer[] = [];
    for (let offset = 0; offset < stream.length; offset += 5) messages.push(...framer.push(stream.subarray(offset, offset + 5)));
    expect(messages).to.have.length(2);
    expect(messages[0]!.equals(one)).to.equal(true);
    expect(messages[1]!.equals(two)).to.equal(true);
    expect(framer.pendingBytes).to.equal(0);
  });

  it('refuses a declared length over the maximum before buffering the body', () => {
    const header = Buffer.alloc(16);
    header.writeInt32LE(48_000_001, 0);
    expect(() => new MessageFramer().push(header.subarray(0, 4))).to.throw(WireProtocolError, /over the maximum/);
  });

  it('refuses a declared length smaller than a header', () => {
    const header = Buffer.alloc(4);
    header.writeInt32LE(3, 0);
    expect(() => new MessageFramer().push(header)).to.throw(WireProtocolError, /smaller than/);
  });
});

describe('wire: encoding replies', () => {
  it('round-trips an OP_MSG reply, with and without a checksum', () => {
    for (const checksum of [false, true]) {
      const reply = parseReply(encodeMsgReply({ ok: 1 }, 9, 4, { checksum }));
      expect(reply.header.responseTo).to.equal(4);
      expect(Number(reply.document.ok)).to.equal(1);
    }
  });

  it('round-trips an OP_REPLY', () => {
    const reply = parseReply(encodeOpReply({ ismaster: true }, 5, 3));
    expect(reply.header.opCode).to.equal(OpCode.Reply);
    expect(reply.document.ismaster).to.equal(true);
  });
});
