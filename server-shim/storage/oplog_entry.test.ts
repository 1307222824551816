import { expect } from 'chai';
import { Long, ObjectId, Timestamp, UUID } from 'bson';
import { decodeDocument, encodeDocument } from '../values/index.js';
import { encodeInsertOplogEntry } from './oplog_entry.js';

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
});
