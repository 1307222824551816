import { expect } from 'chai';
import { RangeSet } from './extents.js';

/** A small deterministic generator, so a failure names a seed that reproduces it. */
function generator(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

describe('verify: RangeSet', () => {
  it('answers add, contains, intersect and gaps exactly as a byte-by-byte model does', () => {
    const size = 400;
    for (let seed = 1; seed <= 40; seed++) {
      const random = generator(seed);
      const model = new Uint8Array(size);
      const byOne = new RangeSet();
      const added: Array<{ offset: number; size: number }> = [];
      for (let step = 0; step < 30; step++) {
        const offset = Math.floor(random() * (size - 20));
        const length = Math.floor(random() * 20);
        byOne.add(offset, length);
        added.push({ offset, size: length });
        model.fill(1, offset, offset + length);
      }
      const atOnce = RangeSet.of(added);
      const expectedGaps: Array<{ offset: number; size: number }> = [];
      for (let i = 0; i < size; i++) {
        if (model[i] === 1) continue;
        const last = expectedGaps[expectedGaps.length - 1];
        if (last !== undefined && last.offset + last.size === i) last.size++;
        else expectedGaps.push({ offset: i, size: 1 });
      }
      for (const set of [byOne, atOnce]) {
        expect(set.gaps(0, size), `seed ${seed}`).to.deep.equal(expectedGaps);
        for (let offset = 0; offset < size - 10; offset += 3) {
          for (const length of [1, 4, 10]) {
            const all = model.subarray(offset, offset + length).every((b) => b === 1);
            expect(set.contains(offset, length), `seed ${seed}: [${offset}, ${length}]`).to.equal(all);
            const covered = set.intersect(offset, length).reduce((sum, e) => sum + e.size, 0);
            expect(covered).to.equal(model.subarray(offset, offset + length).reduce((sum, b) => sum + b, 0));
          }
        }
      }
      expect(byOne.extents()).to.deep.equal(atOnce.extents());
    }
  });
});
