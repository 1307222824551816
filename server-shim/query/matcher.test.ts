import { expect } from 'chai';
import { BSONRegExp, Double, Int32, Long } from 'bson';
import { CommandError } from '../errors/index.js';
import { decodeDocument, encodeDocument, type Document } from '../values/index.js';
import { compileFilter, equalityFields } from './matcher.js';

/** Round-trips through BSON so values have the types a stored document has. */
const stored = (document: Document): Document => decodeDocument(encodeDocument(document));

/** [filter, document, matches] cases, checked against mongod's documented behaviour. */
const cases: [string, Document, Document, boolean][] = [
  ['equality on a top-level field', { a: 1 }, { a: 1 }, true],
  ['equality across numeric types', { a: new Double(1) }, { a: Long.fromNumber(1) }, true],
  ['equality mismatch', { a: 2 }, { a: 1 }, false],
  ['equality reaches into arrays', { a: 2 }, { a: [1, 2, 3] }, true],
  ['equality on a whole array', { a: [1, 2] }, { a: [1, 2] }, true],
  ['equality on a whole array is order-sensitive', { a: [2, 1] }, { a: [1, 2] }, false],
  ['equality on an embedded document', { a: { b: 1, c: 2 } }, { a: { b: 1, c: 2 } }, true],
  ['embedded document equality is field-order-sensitive', { a: { c: 2, b: 1 } }, { a: { b: 1, c: 2 } }, false],
  ['dotted path into an embedded document', { 'a.b': 1 }, { a: { b: 1 } }, true],
  ['dotted path through an array of documents', { 'a.b': 2 }, { a: [{ b: 1 }, { b: 2 }] }, true],
  ['dotted path with an array index', { 'a.1': 'y' }, { a: ['x', 'y'] }, true],
  ['null matches a missing field', { a: null }, { b: 1 }, true],
  ['null matches a stored null', { a: null }, { a: null }, true],
  ['null does not match a value', { a: null }, { a: 0 }, false],
  ['null matches an array element lacking the field', { 'a.b': null }, { a: [{ b: 1 }, {}] }, true],
  ['$gt within numbers', { a: { $gt: 5 } }, { a: 6 }, true],
  ['$gt does not cross types', { a: { $gt: 5 } }, { a: 'z' }, false],
  ['$gte on equal values', { a: { $gte: 5 } }, { a: new Double(5) }, true],
  ['$lt on strings', { a: { $lt: 'b' } }, { a: 'a' }, true],
  ['$lte any array element', { a: { $lte: 1 } }, { a: [5, 1] }, true],
  ['range on one element or another ($gt and $lt may use different elements)', { a: { $gt: 1, $lt: 3 } }, { a: [0, 4] }, true],
  ['$lt excludes NaN', { a: { $lt: 5 } }, { a: NaN }, false],
  ['$gte null matches missing', { a: { $gte: null } }, {}, true],
  ['$ne excludes arrays containing the value', { a: { $ne: 2 } }, { a: [1, 2] }, false],
  ['$ne matches a missing field', { a: { $ne: 2 } }, {}, true],
  ['$in with a match', { a: { $in: [1, 2] } }, { a: 2 }, true],
  ['$in with a regex', { a: { $in: [/^x/] } }, { a: 'xy' }, true],
  ['$in with null matches missing', { a: { $in: [null] } }, {}, true],
  ['$nin excludes matches', { a: { $nin: [1, 2] } }, { a: 2 }, false],
  ['$nin matches others', { a: { $nin: [1, 2] } }, { a: 3 }, true],
  ['$exists true', { a: { $exists: true } }, { a: null }, true],
  ['$exists false', { a: { $exists: false } }, { b: 1 }, true],
  ['$exists on a dotted path through arrays', { 'a.b': { $exists: true } }, { a: [{}, { b: 1 }] }, true],
  ['$and', { $and: [{ a: 1 }, { b: 2 }] }, { a: 1, b: 2 }, true],
  ['$or', { $or: [{ a: 1 }, { b: 2 }] }, { b: 2 }, true],
  ['$nor', { $nor: [{ a: 1 }, { b: 2 }] }, { b: 2 }, false],
  ['$not with an operator', { a: { $not: { $gt: 5 } } }, { a: 3 }, true],
  ['$not matches a missing field', { a: { $not: { $gt: 5 } } }, {}, true],
  ['$not with a regex', { a: { $not: /^x/ } }, { a: 'yz' }, true],
  ['$regex with $options', { a: { $regex: '^AB', $options: 'i' } }, { a: 'abc' }, true],
  ['a regex literal', { a: new BSONRegExp('b$', '') }, { a: 'ab' }, true],
  ['a regex does not match numbers', { a: /1/ }, { a: 1 }, false],
  ['$size', { a: { $size: 2 } }, { a: [1, 2] }, true],
  ['$all', { a: { $all: [1, 3] } }, { a: [1, 2, 3] }, true],
  ['$elemMatch with conditions on one element', { a: { $elemMatch: { $gt: 1, $lt: 3 } } }, { a: [0, 4] }, false],
  ['$elemMatch on documents', { a: { $elemMatch: { b: 1, c: 2 } } }, { a: [{ b: 1, c: 2 }] }, true],
  ['$type by name', { a: { $type: 'string' } }, { a: 'x' }, true],
  ['$type number alias', { a: { $type: 'number' } }, { a: Long.fromNumber(3) }, true],
  ['$mod', { a: { $mod: [4, 1] } }, { a: 9 }, true],
  ['$eq on an array element', { a: { $eq: 3 } }, { a: [3] }, true],
  ['empty filter', {}, { a: 1 }, true],
];

describe('query: compileFilter', () => {
  for (const [name, filter, document, expected] of cases) {
    it(`${expected ? 'matches' : 'does not match'}: ${name}`, () => {
      expect(compileFilter(stored(filter))(stored(document))).to.equal(expected);
    });
  }

  it('rejects an unknown operator with BadValue', () => {
    expect(() => compileFilter({ a: { $foo: 1 } })).to.throw(CommandError, /unknown operator: \$foo/).with.property('code', 2);
  });

  it('rejects an unknown top-level operator with BadValue', () => {
    expect(() => compileFilter({ $foo: [] })).to.throw(CommandError, /unknown top level operator/).with.property('code', 2);
  });

  it('rejects an empty $or', () => {
    expect(() => compileFilter({ $or: [] })).to.throw(CommandError, /nonempty array/);
  });

  it('lists equality fields for an upsert seed', () => {
    const fields = equalityFields({ a: 1, b: { $eq: new Int32(2) }, c: { $gt: 3 }, $and: [{ 'd.e': 4 }] });
    expect([...fields.keys()]).to.deep.equal(['a', 'b', 'd.e']);
  });
});

describe('matcher: patterns that backtrack', () => {
  // 40 letters and a mismatch: a backtracking engine tries about 2^40 ways before it gives up.
  const hostile = `${'a'.repeat(40)}!`;

  it('matches patterns with nested quantifiers, repeated alternatives and repeated groups in time linear in the text', () => {
    for (const pattern of ['^(a+)+$', '(a*b?)*c', '((aa)+)+$', '(a+){2,}$', '^(a|a)+$', '(a|a)*b', '^(\\w|a)+$', '^(?:a|a)*$', '^(.*a){12}$']) {
      const matches = compileFilter({ s: { $regex: pattern } });
      expect(matches({ s: hostile }), pattern).to.equal(false);
    }
    expect(compileFilter({ s: { $regex: '^(a+)+!$' } })({ s: hostile })).to.equal(true);
    expect(compileFilter({ s: { $regex: '^(.*a){12}' } })({ s: hostile })).to.equal(true);
  });

  it('runs backreferences and lookaround, and refuses them next to a shape that backtracks without bound', () => {
    expect(compileFilter({ s: { $regex: '^(\\w)\\1' } })({ s: 'aab' })).to.equal(true);
    expect(compileFilter({ s: { $regex: '^(\\w)\\1' } })({ s: 'abb' })).to.equal(false);
    expect(compileFilter({ s: { $regex: 'a(?=b)' } })({ s: 'ab' })).to.equal(true);
    expect(compileFilter({ s: { $regex: 'a(?!b)' } })({ s: 'ab' })).to.equal(false);
    for (const pattern of ['^(a+)+\\1$', '(?=a)(a|a)*$', '^(.*a){12}(?!x)', '(a+){2,}(?<=a)', '(?=a)a*a*a*a*a*b', '(\\w+)\\s+\\1']) {
      expect(() => compileFilter({ s: { $regex: pattern } }), pattern).to.throw(CommandError, /too complex/);
    }
    for (const pattern of ['(a)\\1', '(?=a)(ab){3}', '[(a+)]+(?=x)', '(a+){1}(?!b)', '\\(a+\\)(?=c)', '^(?=.*\\d)(?=.*[a-z]).{8,}$']) {
      expect(() => compileFilter({ s: { $regex: pattern } }), pattern).to.not.throw();
    }
  });

  it('matches a backreference or lookaround only on strings a backtracking engine finishes quickly', () => {
    const matches = compileFilter({ s: { $regex: '^(\\w+) \\1$' } });
    expect(matches({ s: 'hey hey' })).to.equal(true);
    expect(() => matches({ s: `${'a'.repeat(2000)} b` })).to.throw(CommandError, /too complex to match a string of 2002 characters/);
  });

  it('gives $, \\Z, \\s, \\Q...\\E and the x option their PCRE meaning', () => {
    const test = (pattern: string, text: string, options = ''): boolean => compileFilter({ s: { $regex: pattern, $options: options } })({ s: text });
    expect(test('^b$', 'b\n')).to.equal(true);
    expect(test('^b$', 'b\nc')).to.equal(false);
    expect(test('foo\\Z', 'foo\n')).to.equal(true);
    expect(test('foo\\Z', 'fooZ')).to.equal(false);
    expect(test('bc\\z', 'bc\n')).to.equal(false);
    expect(test('a\\sb', 'a\u000bb')).to.equal(true);
    expect(test('\\Qa.b$\\E', 'a.b$')).to.equal(true);
    expect(test('\\Qa.b$\\E', 'axb$')).to.equal(false);
    expect(test('[ ]', 'a b', 'x')).to.equal(true);
    expect(test('^(\\w+)\\s\\1\\Z', 'hey hey\n')).to.equal(true);
    expect(() => test('(a)\\1\\K', 'aa')).to.throw(CommandError, /escape \\K is not supported/);
  });

  it('refuses an invalid pattern and an unknown option with BadValue', () => {
    expect(() => compileFilter({ s: { $regex: '(a' } })).to.throw(CommandError, /Regular expression is invalid/);
    expect(() => compileFilter({ s: { $regex: 'a', $options: 'q' } })).to.throw(CommandError, /invalid flag/);
  });

  it('honours the i, m, s and x options', () => {
    expect(compileFilter({ s: { $regex: '^ab$', $options: 'i' } })({ s: 'AB' })).to.equal(true);
    expect(compileFilter({ s: { $regex: '^b$', $options: 'm' } })({ s: 'a\nb' })).to.equal(true);
    expect(compileFilter({ s: { $regex: '^b$' } })({ s: 'a\nb' })).to.equal(false);
    expect(compileFilter({ s: { $regex: 'a.b', $options: 's' } })({ s: 'a\nb' })).to.equal(true);
    expect(compileFilter({ s: { $regex: 'a.b' } })({ s: 'a\nb' })).to.equal(false);
    expect(compileFilter({ s: { $regex: 'a b # letters', $options: 'x' } })({ s: 'ab' })).to.equal(true);
  });
});
