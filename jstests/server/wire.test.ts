import { expect } from 'chai';
import { BSON, type Db } from 'mongodb';
import { checksum } from '../../engine/format/checksum.js';
import { sendRaw, shimsPerSuite, type ShimProcess } from '../libs/index.js';

/** A message header followed by `payload`, with `length` in the header (default: the real length). */
function message(opCode: number, payload: Buffer, length?: number): Buffer {
  const header = Buffer.alloc(16);
  header.writeInt32LE(length ?? 16 + payload.length, 0);
  header.writeInt32LE(1, 4);
  header.writeInt32LE(0, 8);
  header.writeInt32LE(opCode, 12);
  return Buffer.concat([header, payload]);
}

/** An OP_MSG with one body section. */
function opMsg(body: Record<string, unknown>): Buffer {
  return message(2013, Buffer.concat([Buffer.alloc(4), Buffer.from([0]), Buffer.from(BSON.serialize(body))]));
}

/** An OP_MSG with a body and document sequences (section kind 1), by identifier, of documents or their bytes. */
function opMsgWithSequences(body: Record<string, unknown>, sequences: Record<string, (Record<string, unknown> | Buffer)[]>): Buffer {
  const sections = Object.entries(sequences).map(([identifier, documents]) => {
    const name = Buffer.from(identifier + '\0');
    const encoded = documents.map((document) => (Buffer.isBuffer(document) ? document : Buffer.from(BSON.serialize(document))));
    const size = Buffer.alloc(4);
    size.writeInt32LE(4 + name.length + encoded.reduce((total, part) => total + part.length, 0));
    return Buffer.concat([Buffer.from([1]), size, name, ...encoded]);
  });
  return message(2013, Buffer.concat([Buffer.alloc(4), Buffer.from([0]), Buffer.from(BSON.serialize(body)), ...sections]));
}

/** Sets the checksumPresent flag and appends the CRC-32C (optionally a wrong one). */
function withChecksum(request: Buffer, corrupt = false): Buffer {
  const withRoom = Buffer.concat([request, Buffer.alloc(4)]);
  withRoom.writeInt32LE(withRoom.length, 0);
  withRoom.writeUInt32LE(withRoom.readUInt32LE(16) | 1, 16);
  const crc = checksum(withRoom.subarray(0, withRoom.length - 4));
  withRoom.writeUInt32LE((corrupt ? crc ^ 0xff : crc) >>> 0, withRoom.length - 4);
  return withRoom;
}

/** The body of the first OP_MSG reply in `bytes`. */
function firstReply(bytes: Buffer): Record<string, unknown> {
  const length = bytes.readInt32LE(0);
  return BSON.deserialize(bytes.subarray(21, length - ((bytes.readUInt32LE(16) & 1) === 1 ? 4 : 0)));
}

describe('mongod-shim: malformed wire input closes only that connection', function () {
  const shims = shimsPerSuite();
  let shim: ShimProcess;
  let db: Db;

  before(async () => {
    shim = await shims.launch();
    db = (await shim.client()).db('wire');
    await db.collection('c').insertOne({ _id: 'before' as never });
  });

  /** The driver, on its own connections, still works. */
  async function driverStillWorks(): Promise<void> {
    expect(await db.command({ ping: 1 })).to.deep.include({ ok: 1 });
    expect(await db.collection('c').countDocuments()).to.be.at.least(1);
  }

  const cases: { name: string; bytes: () => Buffer }[] = [
    { name: 'random garbage', bytes: () => Buffer.from('\x07\x00\x00\x00garbage that is not a message at all') },
    { name: 'a length smaller than a header', bytes: () => message(2013, Buffer.alloc(0), 4) },
    { name: 'a length over 48 MB', bytes: () => message(2013, Buffer.alloc(8), 48_000_001) },
    { name: 'a negative length', bytes: () => message(2013, Buffer.alloc(8), -5) },
    {
      name: 'a truncated BSON body',
      bytes: () => {
        const body = Buffer.from(BSON.serialize({ ping: 1, $db: 'admin' }));
        return message(2013, Buffer.concat([Buffer.alloc(4), Buffer.from([0]), body.subarray(0, body.length - 4)]));
      },
    },
    { name: 'an unknown op code', bytes: () => message(4242, Buffer.alloc(8)) },
    { name: 'an unknown section kind', bytes: () => message(2013, Buffer.concat([Buffer.alloc(4), Buffer.from([9]), Buffer.from(BSON.serialize({ ping: 1 }))])) },
    { name: 'OP_COMPRESSED', bytes: () => message(2012, Buffer.alloc(9)) },
  ];

  for (const testCase of cases) {
    it(`closes the connection on ${testCase.name}`, async () => {
      const exchange = await sendRaw(shim.port, testCase.bytes());
      expect(exchange.closedByServer).to.equal(true);
      expect(exchange.received.length).to.equal(0);
      await driverStillWorks();
    });
  }

  it('logs the closed connection as a warning with the reason', async () => {
    await sendRaw(shim.port, message(4242, Buffer.alloc(8)));
    const warnings = shim.logLines().filter((line) => line.msg.startsWith('Error receiving request from client') && line.s === 'W');
    expect(warnings.some((line) => /unsupported op code 4242/.test(JSON.stringify(line.attr)))).to.equal(true);
  });

  it('answers a valid OP_MSG on a raw connection and a pipelined second one after it', async () => {
    const exchange = await sendRaw(shim.port, [opMsg({ ping: 1, $db: 'admin' }), opMsg({ ping: 1, $db: 'admin' })], 1000);
    expect(exchange.closedByServer).to.equal(false);
    const first = exchange.received.readInt32LE(0);
    expect(exchange.received.length).to.be.greaterThan(first);
  });

  it('merges a document sequence (section kind 1) into the command', async () => {
    const exchange = await sendRaw(shim.port, opMsgWithSequences({ insert: 'sequenced', $db: 'wire' }, { documents: [{ _id: 1 }, { _id: 2 }, { _id: 3 }] }), 1000);
    expect(firstReply(exchange.received)).to.deep.include({ n: 3, ok: 1 });
    expect(await db.collection('sequenced').countDocuments()).to.equal(3);
  });

  it('refuses an insert with a document sequence it does not know as an unknown field (40415)', async () => {
    const exchange = await sendRaw(shim.port, opMsgWithSequences({ insert: 'unknown_sequence', $db: 'wire' }, { documents: [{ _id: 1 }], bogus: [{ x: 1 }] }), 1000);
    expect(firstReply(exchange.received)).to.deep.include({ ok: 0, code: 40415, errmsg: "BSON field 'insert.bogus' is an unknown field." });
    expect(await db.collection('unknown_sequence').countDocuments()).to.equal(0);
  });

  it('stores each document of an insert sequence as it arrived: _id moved first, a BSON undefined kept, a repeated name as decoded', async () => {
    // {a: 1, _id: 'x', u: undefined}, with undefined as BSON's deprecated type 0x06, which no driver sends.
    const elements = Buffer.concat([Buffer.from([0x10, 0x61, 0, 1, 0, 0, 0]), Buffer.from([0x02, 0x5f, 0x69, 0x64, 0, 2, 0, 0, 0, 0x78, 0]), Buffer.from([0x06, 0x75, 0])]);
    const sent = Buffer.concat([Buffer.alloc(4), elements, Buffer.from([0])]);
    sent.writeInt32LE(sent.length, 0);
    // {_id: 2, v: 1, _id: 3}: a name twice; decoded, the last one stays, and the key is that one's.
    const repeated = Buffer.concat([Buffer.alloc(4), Buffer.from([0x10, 0x5f, 0x69, 0x64, 0, 2, 0, 0, 0, 0x10, 0x76, 0, 1, 0, 0, 0, 0x10, 0x5f, 0x69, 0x64, 0, 3, 0, 0, 0, 0])]);
    repeated.writeInt32LE(repeated.length, 0);
    const exchange = await sendRaw(shim.port, opMsgWithSequences({ insert: 'as_received', $db: 'wire' }, { documents: [sent, repeated] }), 1000);
    expect(firstReply(exchange.received)).to.deep.include({ n: 2, ok: 1 });
    const stored = await db.collection<{ _id: string | number }>('as_received').find({}).toArray();
    expect(stored.map((document) => Object.keys(document))).to.have.deep.members([['_id', 'a', 'u'], ['_id', 'v']]);
    expect(await db.collection('as_received').countDocuments({ u: { $type: 'undefined' } })).to.equal(1);
    expect(stored.find((document) => document._id === 3)).to.deep.equal({ _id: 3, v: 1 });
    const byKey = await db.collection<{ _id: number }>('as_received').find({ _id: 3 }).explain('executionStats');
    expect(['IDHACK', 'EXPRESS_IXSCAN'], 'a lookup by key').to.include(byKey.queryPlanner.winningPlan.stage);
    expect(byKey.executionStats.nReturned).to.equal(1);
    expect(await db.collection<{ _id: number }>('as_received').countDocuments({ _id: 2 })).to.equal(0);
  });

  it('accepts a correct OP_MSG checksum and closes the connection on a wrong one', async () => {
    const good = await sendRaw(shim.port, withChecksum(opMsg({ ping: 1, $db: 'admin' })), 1000);
    expect(firstReply(good.received)).to.deep.include({ ok: 1 });
    const bad = await sendRaw(shim.port, withChecksum(opMsg({ ping: 1, $db: 'admin' }), true));
    expect(bad.closedByServer).to.equal(true);
    expect(bad.received.length).to.equal(0);
    await driverStillWorks();
  });

  it('does not answer a moreToCome request', async () => {
    const request = opMsg({ insert: 'c', documents: [{ _id: 'fire-and-forget' }], $db: 'wire' });
    request.writeUInt32LE(2, 16);
    const exchange = await sendRaw(shim.port, request, 1000);
    expect(exchange.received.length).to.equal(0);
    expect(await db.collection('c').countDocuments({ _id: 'fire-and-forget' as never })).to.equal(1);
  });

  it('answers an HTTP request with mongod\'s plain-text notice and closes', async () => {
    const exchange = await sendRaw(shim.port, Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'));
    expect(exchange.closedByServer).to.equal(true);
    expect(exchange.received.toString()).to.match(/trying to access MongoDB over HTTP/);
    await driverStillWorks();
  });

  it('answers a legacy OP_QUERY isMaster with OP_REPLY and refuses other OP_QUERY commands', async () => {
    const query = (command: Record<string, unknown>): Buffer =>
      message(2004, Buffer.concat([Buffer.alloc(4), Buffer.from('admin.$cmd\0'), Buffer.from([0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]), Buffer.from(BSON.serialize(command))]));
    const handshake = await sendRaw(shim.port, query({ isMaster: 1 }), 1000);
    expect(handshake.received.readInt32LE(12)).to.equal(1);
    const reply = BSON.deserialize(handshake.received.subarray(36));
    expect(reply.ismaster).to.equal(true);
    expect(reply.maxWireVersion).to.equal(21);
    const other = await sendRaw(shim.port, query({ ping: 1 }), 1000);
    expect(BSON.deserialize(other.received.subarray(36)).code).to.equal(352);
  });
});
