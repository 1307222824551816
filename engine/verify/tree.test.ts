import { expect } from 'chai';
import { compareInView, compareRanges } from './tree.js';

describe('verify: key comparisons of the tree walk', () => {
  it('order byte ranges exactly as Buffer.compare does, word by word or byte by byte', () => {
    // Keys that share long prefixes, differ in one byte anywhere, or are prefixes of each other.
    let state = 7;
    const random = (n: number): number => {
      state = (state * 1103515245 + 12345) % 2147483648;
      return state % n;
    };
    const page = Buffer.alloc(4096);
    // A pattern of period 64 with a few bytes changed: ranges 64 bytes apart share long prefixes.
    for (let i = 0; i < page.length; i++) page[i] = (i * 37) % 64 === 0 ? 0xff : (i % 64) * 3;
    for (let i = 0; i < 100; i++) page[random(page.length)] = random(256);
    const view = new DataView(page.buffer, page.byteOffset, page.length);
    const sign = (n: number): number => Math.sign(n);
    for (let trial = 0; trial < 20_000; trial++) {
      const aStart = random(2000);
      const bStart = trial % 2 === 0 ? random(2000) : aStart + 64 * (1 + random(20));
      const aEnd = aStart + random(40);
      const bEnd = bStart + random(40);
      const expected = Buffer.compare(page.subarray(aStart, aEnd), page.subarray(bStart, bEnd));
      expect(sign(compareInView(view, aStart, aEnd, bStart, bEnd)), `[${aStart}, ${aEnd}) vs [${bStart}, ${bEnd})`).to.equal(expected);
      expect(sign(compareRanges(page, aStart, aEnd, page, bStart, bEnd))).to.equal(expected);
    }
    // Long ranges go through Buffer's own compare.
    const long = Buffer.alloc(300, 1);
    const longer = Buffer.concat([long, Buffer.from([0])]);
    expect(compareRanges(long, 0, 300, longer, 0, 301)).to.equal(-1);
    expect(compareRanges(longer, 0, 301, long, 0, 300)).to.equal(1);
    expect(compareRanges(long, 0, 300, long, 0, 300)).to.equal(0);
  });
});
