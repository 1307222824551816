import { expect } from 'chai';
import { Binary, Decimal128, Double, Int32, Long, MaxKey, MinKey, ObjectId, Timestamp, UUID } from 'bson';
import { decodeDocument, encodeDocument } from '../values/index.js';
import { encodeInsertOplogEntry, keyElementDocument } from './oplog_entry.js';

describe('storage: insert oplog entry', () => {
  it('writes the same bytes as the bson library for the same entry', () => {
    for (const document of [{ _id: new ObjectId(), a: 1, s: 'x'.repeat(300) }, { _id: 'é-clé', nested: { deep: [1, 2, { three: 3 }] } }, { _id: 42 }]) {
      const ui = new UUID();
      const ts = (1_700_000_000n << 32n) | 7n;
      const wall = new Date(1_700_000_000_123);
      const expected = encodeDocument({
        op: 'i', ns: 'db.ünïcode', ui, o: document, o2: { _id: document._id },
        ts: new Timestamp(ts), t: Long.fromNumber(3), v: Long.fromNumber(2), wall,
      });
      const actual = encodeInsertOplogEntry({ ns: 'db.ünïcode', ui, document: encodeDocument(document), o2: encodeDocument({ _id: document._id }), ts, term: 3, wall });
      expect(actual.equals(expected), `${decodeDocument(actual)} vs ${decodeDocument(expected)}`).to.equal(true);
    }
  });

  it("cuts an insert's key document from the document's bytes, the same bytes the bson library writes", () => {
    const ids: unknown[] = [new ObjectId(), 42, new Int32(-7), new Double(1.5), 2 ** 40, Long.fromNumber(-3), 'é-clé', '', true, null, new Date(0),
      new Timestamp(5n), new Decimal128('1.25'), new Binary(Buffer.from('ab'), 4), new MinKey(), new MaxKey(), { a: [1, { b: 'c' }] }, [1, 2]];
    for (const id of ids) {
      const encoded = encodeDocument({ _id: id, rest: 'x', n: 1 });
      const cut = keyElementDocument(encoded, '_id');
      expect(cut, String(id)).to.not.equal(undefined);
      expect(cut!.equals(encodeDocument({ _id: id })), String(id)).to.equal(true);
    }
  });

  it('cuts nothing when the first field is not the key field', () => {
    expect(keyElementDocument(encodeDocument({ a: 1, _id: 2 }), '_id')).to.equal(undefined);
    expect(keyElementDocument(encodeDocument({ _idx: 1 }), '_id')).to.equal(undefined);
    expect(keyElementDocument(encodeDocument({ _i: 1 }), '_id')).to.equal(undefined);
  });
});
