import { expect } from 'chai';
import { Int32, ObjectId } from 'bson';
import { CommandError, ErrorCodes } from '../errors/index.js';
import { decodeDocument, encodeDocument, encodeKey } from '../values/index.js';
import { prepareReceivedInsert } from './write_support.js';

/** A document of these raw elements (names and values as bytes), in this order. */
function rawDocument(...elements: Buffer[]): Buffer {
  const out = Buffer.concat([Buffer.alloc(4), ...elements, Buffer.from([0])]);
  out.writeInt32LE(out.length, 0);
  return out;
}

/** An int32 element named by these bytes. */
function int32Element(name: Buffer, value: number): Buffer {
  const out = Buffer.alloc(1 + name.length + 1 + 4);
  out[0] = 0x10;
  name.copy(out, 1);
  out.writeInt32LE(value, name.length + 2);
  return out;
}

describe('commands: preparing received documents for insert', () => {
  it('stores the bytes received with _id first, keyed as encodeKey keys the _id', () => {
    const id = new ObjectId();
    for (const [sent, stored] of [
      [{ _id: id, a: 'x' }, { _id: id, a: 'x' }],
      [{ a: 'x', _id: new Int32(7) }, { _id: new Int32(7), a: 'x' }],
      [{ a: [1, 2], _id: 'text' }, { _id: 'text', a: [1, 2] }],
    ] as const) {
      const prepared = prepareReceivedInsert(encodeDocument(sent), '_id');
      expect(prepared.encoded.equals(encodeDocument(stored))).to.equal(true);
      expect(prepared.key.equals(encodeKey(stored._id))).to.equal(true);
    }
  });

  it('adds an ObjectId _id first when there is none, and keys the document by it', () => {
    const prepared = prepareReceivedInsert(encodeDocument({ a: 1 }), '_id');
    const stored = decodeDocument(prepared.encoded);
    expect(Object.keys(stored)).to.deep.equal(['_id', 'a']);
    expect(stored._id).to.be.instanceOf(ObjectId);
    expect(prepared.key.equals(encodeKey(stored._id))).to.equal(true);
  });

  it('keeps a document shaped like a DBRef as sent, keyed by its _id (bson decodes it into a DBRef)', () => {
    const id = new ObjectId();
    const sent = encodeDocument({ $ref: 'other', $id: 5, _id: id });
    const prepared = prepareReceivedInsert(sent, '_id');
    expect(prepared.key.equals(encodeKey(id))).to.equal(true);
    expect(prepared.encoded.equals(encodeDocument({ _id: id, $ref: 'other', $id: 5 }))).to.equal(true);
  });

  it('refuses an array or regex _id with InvalidIdField (53)', () => {
    for (const sent of [{ _id: [1, 2] }, { a: 1, _id: /x/ }]) {
      expect(() => prepareReceivedInsert(encodeDocument(sent), '_id')).to.throw(CommandError).with.property('code', ErrorCodes.InvalidIdField);
    }
  });

  it('stores as decoded a document with a repeated name, or names bson decodes alike (bytes that are not UTF-8)', () => {
    const repeated = rawDocument(int32Element(Buffer.from('_id'), 1), int32Element(Buffer.from('v'), 1), int32Element(Buffer.from('_id'), 2));
    const fromRepeated = prepareReceivedInsert(repeated, '_id');
    expect(decodeDocument(fromRepeated.encoded)).to.deep.equal({ _id: new Int32(2), v: new Int32(1) });
    expect(fromRepeated.key.equals(encodeKey(new Int32(2)))).to.equal(true);
    // "\xff" and "\xfe" both decode as U+FFFD: the decoded document has one of the two fields.
    const alike = rawDocument(int32Element(Buffer.from('_id'), 1), int32Element(Buffer.from([0xff]), 1), int32Element(Buffer.from([0xfe]), 2));
    const fromAlike = prepareReceivedInsert(alike, '_id');
    expect(fromAlike.encoded.equals(encodeDocument(decodeDocument(alike)))).to.equal(true);
    expect(Object.keys(decodeDocument(fromAlike.encoded))).to.have.length(2);
  });

  it('keys a collection keyed by another field (the oplog, by ts) by that field', () => {
    const prepared = prepareReceivedInsert(encodeDocument({ ts: new Int32(3), _id: 'x' }), 'ts');
    expect(prepared.key.equals(encodeKey(new Int32(3)))).to.equal(true);
    expect(Object.keys(decodeDocument(prepared.encoded))).to.deep.equal(['_id', 'ts']);
  });
});
