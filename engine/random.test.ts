import { expect } from 'chai';
import { randomBytes, randomUUID } from './index.js';

describe('random identifiers', () => {
  it('makes version 4 UUIDs, none twice', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const uuid = randomUUID();
      expect(uuid).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      seen.add(uuid);
    }
    expect(seen.size).to.equal(5000);
  });

  it('hands out bytes of every size once: across its pool and beyond it', () => {
    const sizes = [0, 1, 7, 16, 4000, 4096, 5000, 70_000];
    const drawn = sizes.map((size) => randomBytes(size));
    drawn.forEach((bytes, i) => expect(bytes.length).to.equal(sizes[i]));
    // 16 bytes drawn again and again never repeat, and the bytes look uniform.
    const chunks = new Set(Array.from({ length: 2000 }, () => randomBytes(16).toString('hex')));
    expect(chunks.size).to.equal(2000);
    const counts = new Array<number>(256).fill(0);
    for (const byte of randomBytes(70_000)) counts[byte]!++;
    // About 273 of each value; a stuck or zeroed source is far outside these bounds.
    expect(Math.min(...counts)).to.be.above(150);
    expect(Math.max(...counts)).to.be.below(400);
  });
});
