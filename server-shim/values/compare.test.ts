import { expect } from 'chai';
import { Binary, BSONRegExp, Double, Int32, Long, MaxKey, MinKey, ObjectId, Timestamp } from 'bson';
import { addNumbers, compareValues, integerResult, typeName, valuesEqual } from './index.js';

describe('values: compareValues', () => {
  it('orders values of different types by mongod canonical type order', () => {
    const ascending = [
      new MinKey(),
      null,
      new Int32(5),
      'a string',
      { a: 1 },
      [1, 2],
      new Binary(Buffer.from('x')),
      new ObjectId('000000000000000000000001'),
      false,
      new Date(0),
      new Timestamp({ t: 1, i: 1 }),
      new BSONRegExp('a', 'i'),
      new MaxKey(),
    ];
    for (let index = 1; index < ascending.length; index += 1) {
      expect(compareValues(ascending[index - 1], ascending[index]), `${typeName(ascending[index - 1])} < ${typeName(ascending[index])}`).to.equal(-1);
    }
  });

  it('compares numbers numerically across int, long and double', () => {
    expect(valuesEqual(new Int32(1), new Double(1))).to.equal(true);
    expect(valuesEqual(new Int32(1), Long.fromNumber(1))).to.equal(true);
    expect(compareValues(new Double(1.5), Long.fromNumber(1))).to.equal(1);
    expect(compareValues(new Double(0.5), Long.fromNumber(1))).to.equal(-1);
    expect(compareValues(new Double(-0.5), Long.fromNumber(-1))).to.equal(1);
  });

  it('compares longs above 2^53 exactly against doubles', () => {
    const big = Long.fromBigInt(2n ** 53n + 1n);
    expect(compareValues(big, new Double(2 ** 53))).to.equal(1);
    expect(compareValues(new Double(2 ** 53), big)).to.equal(-1);
  });

  it('puts NaN below every other number and equal to itself', () => {
    expect(compareValues(new Double(NaN), new Double(-Infinity))).to.equal(-1);
    expect(valuesEqual(new Double(NaN), new Double(NaN))).to.equal(true);
  });

  it('compares strings by UTF-8 bytes', () => {
    expect(compareValues('a', 'b')).to.equal(-1);
    expect(compareValues('Z', 'a')).to.equal(-1);
    // U+FF61 is below U+1F600 in UTF-8 although its UTF-16 code unit is above the surrogate.
    expect(compareValues('\uff61', '\u{1f600}')).to.equal(-1);
  });

  it('compares documents field by field, with field order significant', () => {
    expect(valuesEqual({ a: 1, b: 2 }, { a: new Double(1), b: 2 })).to.equal(true);
    expect(valuesEqual({ a: 1, b: 2 }, { b: 2, a: 1 })).to.equal(false);
    expect(compareValues({ a: 1 }, { a: 1, b: 0 })).to.equal(-1);
  });

  it('compares arrays element by element, shorter first', () => {
    expect(compareValues([1, 2], [1, 3])).to.equal(-1);
    expect(compareValues([1, 2], [1])).to.equal(1);
  });
});

describe('values: arithmetic', () => {
  it('keeps int32 when the sum fits and widens to long on overflow', () => {
    expect(addNumbers(new Int32(1), new Int32(2))).to.be.instanceOf(Int32);
    const overflow = addNumbers(new Int32(2147483647), new Int32(1));
    expect(overflow).to.be.instanceOf(Long);
    expect((overflow as Long).toBigInt()).to.equal(2147483648n);
  });

  it('gives a double when either side is a double', () => {
    const sum = addNumbers(new Int32(1), new Double(0.5));
    expect(sum).to.be.instanceOf(Double);
    expect((sum as Double).value).to.equal(1.5);
  });

  it('widens a long past int64 to a double', () => {
    expect(integerResult(2n ** 40n)).to.be.instanceOf(Long);
    expect(addNumbers(Long.fromBigInt(2n ** 63n - 1n), Long.fromNumber(1))).to.be.instanceOf(Double);
  });
});
