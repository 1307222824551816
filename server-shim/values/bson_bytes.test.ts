import { expect } from 'chai';
import { Binary, BSONRegExp, BSONSymbol, Code, Decimal128, Double, Int32, Long, MaxKey, MinKey, ObjectId, Timestamp } from 'bson';
import { decodeDocument, encodeDocument } from './codec.js';
import { leadingElementDocument, leadingElementEnd, moveIdFirst, prependObjectId, topLevelElements } from './bson_bytes.js';

/** A document of these encoded elements, in this order (repeated names included). */
function elements(...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const out = Buffer.alloc(4 + body.length + 1);
  out.writeInt32LE(out.length, 0);
  body.copy(out, 4);
  return out;
}

function int32Element(name: string, value: number): Buffer {
  const out = Buffer.alloc(1 + name.length + 1 + 4);
  out[0] = 0x10;
  out.write(name, 1, 'latin1');
  out.writeInt32LE(value, name.length + 2);
  return out;
}

describe('values: encoded documents as bytes', () => {
  it('walks every BSON type at the top level, and finds _id among them', () => {
    const document = {
      double: new Double(1.5), string: 'é', object: { a: [1, { b: 2 }] }, array: [1, 'two'], binary: new Binary(Buffer.from('xyz'), 0),
      objectId: new ObjectId(), bool: true, date: new Date(0), null: null, regex: new BSONRegExp('^a.*', 'i'), code: new Code('f()'),
      symbol: new BSONSymbol('s'), codeWithScope: new Code('g()', { x: 1 }), int32: new Int32(7), timestamp: new Timestamp(9n),
      int64: Long.fromNumber(-3), decimal: new Decimal128('1.25'), minKey: new MinKey(), maxKey: new MaxKey(), _id: 'last',
    };
    const bytes = encodeDocument(document);
    const walked = topLevelElements(bytes);
    expect(walked?.count).to.equal(Object.keys(document).length);
    expect(walked?.repeatedName).to.equal(false);
    expect(walked?.asciiNames).to.equal(true);
    expect(topLevelElements(encodeDocument({ _id: 1, 'clé': 2 }))?.asciiNames).to.equal(false);
    const idElement = encodeDocument({ _id: 'last' }).subarray(4, -1);
    expect(bytes.subarray(walked!.id!.start, walked!.id!.end).equals(idElement)).to.equal(true);
  });

  it('walks the deprecated undefined and DBPointer types', () => {
    const undefinedElement = Buffer.from([0x06, 0x75, 0x00]); // "u": undefined
    const pointer = Buffer.alloc(1 + 2 + 4 + 2 + 12);
    pointer[0] = 0x0c;
    pointer.write('p', 1, 'latin1');
    pointer.writeInt32LE(2, 3);
    pointer.write('c', 7, 'latin1');
    const bytes = elements(undefinedElement, pointer, int32Element('_id', 5));
    expect(topLevelElements(bytes)).to.deep.equal({ count: 3, id: { start: bytes.length - 1 - 9, end: bytes.length - 1 }, repeatedName: false, asciiNames: true });
  });

  it('refuses bytes it cannot walk to the terminator', () => {
    const bytes = encodeDocument({ _id: 1, s: 'text' });
    expect(topLevelElements(bytes.subarray(0, bytes.length - 1))).to.equal(undefined);
    const lying = Buffer.from(bytes);
    lying.writeInt32LE(100, 4 + 1 + 4 + 4 + 1 + 2); // the string's length runs past the end
    expect(topLevelElements(lying)).to.equal(undefined);
    const unknownType = Buffer.from(bytes);
    unknownType[4] = 0x42;
    expect(topLevelElements(unknownType)).to.equal(undefined);
  });

  it('stores a document whose _id leads as the bytes received', () => {
    const received = encodeDocument({ _id: new ObjectId(), a: 'x', n: new Int32(3) });
    const stored = moveIdFirst(received, topLevelElements(received)!.id!);
    expect(stored.equals(received)).to.equal(true);
    received[received.length - 2] ^= 0xff; // the received message's memory is reused; the stored copy is not
    expect(stored.equals(received)).to.equal(false);
  });

  it('moves _id to the front, keeping the other fields in their order', () => {
    for (const document of [{ a: 1, _id: 2 }, { a: 1, b: { c: 2 }, _id: 'id', d: [3] }, { a: 'x', _id: { nested: true } }]) {
      const received = encodeDocument(document);
      const stored = moveIdFirst(received, topLevelElements(received)!.id!);
      const { _id, ...rest } = document;
      expect(stored.equals(encodeDocument({ _id, ...rest }))).to.equal(true);
    }
  });

  it('adds a generated _id in front of a document without one', () => {
    const id = new ObjectId();
    const received = encodeDocument({ a: 1, b: 'two' });
    expect(topLevelElements(received)!.id).to.equal(undefined);
    const stored = prependObjectId(received, id);
    expect(stored.equals(encodeDocument({ _id: id, a: 1, b: 'two' }))).to.equal(true);
    expect(decodeDocument(stored)).to.deep.equal({ _id: id, a: new Int32(1), b: 'two' });
  });

  it('finds a repeated field name, which a decoded document collapses to one field', () => {
    const repeated = elements(int32Element('_id', 1), int32Element('a', 2), int32Element('_id', 3));
    expect(Object.keys(decodeDocument(repeated))).to.have.length(2);
    expect(topLevelElements(repeated)).to.include({ count: 3, repeatedName: true });
    expect(topLevelElements(elements(int32Element('ab', 1), int32Element('a', 2), int32Element('b', 3)))).to.include({ count: 3, repeatedName: false });
    const many = Array.from({ length: 40 }, (_, i) => int32Element(`f${i}`, i));
    expect(topLevelElements(elements(...many))).to.include({ count: 40, repeatedName: false });
    expect(topLevelElements(elements(...many, int32Element('f3', 0)))).to.include({ count: 41, repeatedName: true });
    expect(topLevelElements(elements(...many.slice(0, 16), int32Element('f3', 0)))).to.include({ count: 17, repeatedName: true });
  });

  it("finds where a document's leading key element ends and cuts it as a document", () => {
    const encoded = encodeDocument({ _id: 'key', a: 1 });
    const end = leadingElementEnd(encoded, '_id')!;
    expect(leadingElementDocument(encoded, end).equals(encodeDocument({ _id: 'key' }))).to.equal(true);
    expect(leadingElementEnd(encodeDocument({ a: 1, _id: 2 }), '_id')).to.equal(undefined);
    expect(leadingElementEnd(encodeDocument({ _idx: 1 }), '_id')).to.equal(undefined);
    expect(leadingElementEnd(encodeDocument({ _i: 1 }), '_id')).to.equal(undefined);
  });
});
