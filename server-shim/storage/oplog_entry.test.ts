import { expect } from 'chai';
import { Binary, Decimal128, Double, Int32, Long, MaxKey, MinKey, ObjectId, Timestamp, UUID } from 'bson';
import { decodeDocument, encodeDocument, leadingElementEnd } from '../values/index.js';
import { InsertOplogEntries } from './oplog_entry.js';

/** The seconds and increment of an engine timestamp. */
function parts(ts: bigint): [number, number] {
  return [Number(ts >> 32n), Number(ts & 0xffffffffn)];
}

describe('storage: insert oplog entry', () => {
  it('writes the same bytes as the bson library for the same entry', () => {
    // One group's entries from one instance, as the server writes them: what they share is
    // built once and must come out the same in each.
    const ui = new UUID();
    const wall = new Date(1_700_000_000_123);
    const group = new InsertOplogEntries('db.ünïcode', ui, 3, wall);
    const documents = [{ _id: new ObjectId(), a: 1, s: 'x'.repeat(300) }, { _id: 'é-clé', nested: { deep: [1, 2, { three: 3 }] } }, { _id: 42 }];
    documents.forEach((document, index) => {
      const ts = (1_700_000_000n << 32n) | BigInt(7 + index);
      const expected = encodeDocument({
        op: 'i', ns: 'db.ünïcode', ui, o: document, o2: { _id: document._id },
        ts: new Timestamp(ts), t: Long.fromNumber(3), v: Long.fromNumber(2), wall,
      });
      const actual = group.encode(encodeDocument(document), encodeDocument({ _id: document._id }), ...parts(ts));
      expect(actual.equals(expected), `${decodeDocument(actual)} vs ${decodeDocument(expected)}`).to.equal(true);
    });
  });

  it('writes the right shared fields when inserts alternate between collections, and any term and wall time', () => {
    const collections = [{ ns: 'db.a', ui: new UUID() }, { ns: 'other.ünï', ui: new UUID() }, { ns: 'db.a', ui: new UUID() }];
    const document = { _id: 1, x: 'y' };
    for (const [index, { ns, ui }] of [...collections, ...collections].entries()) {
      const ts = BigInt(index + 1) << 32n;
      const wall = new Date([1_700_000_000_123, -1_234_567, 0, 8_640_000_000_000_000][index % 4]!);
      const term = [1, 2 ** 40, 0, 7][index % 4]!;
      const expected = encodeDocument({
        op: 'i', ns, ui, o: document, o2: { _id: 1 }, ts: new Timestamp(ts), t: Long.fromNumber(term), v: Long.fromNumber(2), wall,
      });
      const actual = new InsertOplogEntries(ns, ui, term, wall).encode(encodeDocument(document), encodeDocument({ _id: 1 }), ...parts(ts));
      expect(decodeDocument(actual)).to.deep.equal(decodeDocument(expected));
      expect(actual.equals(expected), `entry ${index}`).to.equal(true);
    }
  });

  it("copies an insert's o2 from the document's leading key element, the same bytes the bson library writes", () => {
    const ids: unknown[] = [new ObjectId(), 42, new Int32(-7), new Double(1.5), 2 ** 40, Long.fromNumber(-3), 'é-clé', '', true, null, new Date(0),
      new Timestamp(5n), new Decimal128('1.25'), new Binary(Buffer.from('ab'), 4), new MinKey(), new MaxKey(), { a: [1, { b: 'c' }] }, [1, 2]];
    const ui = new UUID();
    const wall = new Date(1_700_000_000_123);
    for (const id of ids) {
      const document = { _id: id, rest: 'x', n: 1 };
      const encoded = encodeDocument(document);
      const keyEnd = leadingElementEnd(encoded, '_id');
      expect(keyEnd, String(id)).to.not.equal(undefined);
      const group = new InsertOplogEntries('db.c', ui, 1, wall);
      const fromKeyElement = group.encode(encoded, keyEnd!, 0, 9);
      const fromO2 = group.encode(encoded, encodeDocument({ _id: id }), 0, 9);
      expect(fromKeyElement.equals(fromO2), String(id)).to.equal(true);
      expect(decodeDocument(fromKeyElement).o2).to.deep.equal(decodeDocument(encodeDocument({ _id: id })));
    }
  });
});
