import { expect } from 'chai';
import { Binary, BSONRegExp, Code, Double, Int32, Long, MaxKey, MinKey, ObjectId, Timestamp } from 'bson';
import { compareValues } from './index.js';
import { encodeKey, encodeObjectIdKey, encodeTimestampKey } from './key_string.js';

/** Values covering every type bracket and the tricky corners within them. */
const samples: unknown[] = [
  new MinKey(),
  null,
  new Double(NaN),
  new Double(-Infinity),
  new Double(-1e300),
  Long.fromBigInt(-(2n ** 62n)),
  new Double(-2.5),
  new Int32(-2),
  new Double(-1.75),
  new Double(-0.5),
  new Int32(0),
  new Double(1e-300),
  new Double(0.25),
  new Int32(1),
  Long.fromNumber(1),
  new Double(1),
  new Double(1.5),
  new Int32(2),
  Long.fromBigInt(2n ** 53n),
  Long.fromBigInt(2n ** 53n + 1n),
  new Double(2 ** 60),
  new Double(1e300),
  new Double(Infinity),
  '',
  'a',
  'a\u0000',
  'a\u0000b',
  'a\u0001',
  'ab',
  'b',
  '\uff61',
  '\u{1f600}',
  {},
  { a: 1 },
  { a: 1, b: 'x' },
  { a: 2 },
  { b: 0 },
  { a: 'x' },
  [],
  [1],
  [1, 2],
  [2],
  new Binary(Buffer.from('b')),
  new Binary(Buffer.from('a'), 5),
  new Binary(Buffer.from('aa')),
  new ObjectId('000000000000000000000001'),
  new ObjectId('ff0000000000000000000000'),
  false,
  true,
  new Date(-1000),
  new Date(0),
  new Date(1700000000000),
  new Timestamp({ t: 1, i: 2 }),
  new Timestamp({ t: 2, i: 1 }),
  new BSONRegExp('a', ''),
  new BSONRegExp('a', 'i'),
  new BSONRegExp('b', ''),
  new Code('function () {}'),
  new MaxKey(),
];

describe('values: key encoding', () => {
  it('orders encodings bytewise exactly as compareValues orders the values', () => {
    for (const left of samples) {
      for (const right of samples) {
        const expected = compareValues(left, right);
        const actual = Math.sign(Buffer.compare(encodeKey(left), encodeKey(right)));
        expect(actual, `${String(left)} vs ${String(right)}`).to.equal(expected);
      }
    }
  });

  it("writes an engine timestamp's key as encodeKey writes its BSON Timestamp", () => {
    for (const [t, i] of [[0, 0], [1, 1], [1_700_000_000, 7], [0xffffffff, 0xffffffff], [0x80000000, 0x7fffffff]] as const) {
      const key = encodeTimestampKey(t, i);
      expect(key.equals(encodeKey(new Timestamp({ t, i }))), `${t}:${i}`).to.equal(true);
    }
  });

  it("writes an ObjectId's key from its 12 bytes as encodeKey writes it", () => {
    for (const id of [new ObjectId(), new ObjectId('000000000000000000000000'), new ObjectId('ffffffffffffffffffffffff')]) {
      const around = Buffer.concat([Buffer.from([0xaa]), id.id, Buffer.from([0xbb])]);
      expect(encodeObjectIdKey(around.subarray(1)).equals(encodeKey(id)), id.toHexString()).to.equal(true);
      expect(encodeObjectIdKey(around, 1).equals(encodeKey(id)), `${id.toHexString()} at an offset`).to.equal(true);
    }
  });

  it('gives equal keys to equal numbers of different types', () => {
    expect(encodeKey(new Int32(7)).equals(encodeKey(Long.fromNumber(7)))).to.equal(true);
    expect(encodeKey(new Int32(7)).equals(encodeKey(new Double(7)))).to.equal(true);
    expect(encodeKey(new Double(-0)).equals(encodeKey(new Int32(0)))).to.equal(true);
  });

  it('keeps the samples in ascending order (the table itself is sorted)', () => {
    for (let index = 1; index < samples.length; index += 1) {
      expect(compareValues(samples[index - 1], samples[index]), `sample ${index}`).to.be.at.most(0);
    }
  });
});
