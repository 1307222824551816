import { expect } from 'chai';
import { seededRandom, testSeed } from '../testing/random.js';
import { ExtentSet } from './index.js';

/** The same set as a bitmap of units, the obvious reference. */
class UnitModel {
  readonly units: boolean[];

  constructor(size: number) {
    this.units = new Array<boolean>(size).fill(false);
  }

  set(offset: number, size: number, value: boolean): void {
    for (let i = offset; i < offset + size; i++) this.units[i] = value;
  }

  extents(): Array<{ offset: number; size: number }> {
    const out: Array<{ offset: number; size: number }> = [];
    for (let i = 0; i < this.units.length; i++) {
      if (!this.units[i]) continue;
      const start = i;
      while (i < this.units.length && this.units[i]) i++;
      out.push({ offset: start, size: i - start });
    }
    return out;
  }
}

describe('ExtentSet', () => {
  it('merges adjacent and overlapping extents and splits on removal', () => {
    const set = new ExtentSet();
    set.add(4096, 4096);
    set.add(8192, 4096);
    set.add(20480, 4096);
    expect(set.extents()).to.deep.equal([{ offset: 4096, size: 8192 }, { offset: 20480, size: 4096 }]);
    set.add(12288, 8192);
    expect(set.extents()).to.deep.equal([{ offset: 4096, size: 20480 }]);
    set.remove(8192, 4096);
    expect(set.extents()).to.deep.equal([{ offset: 4096, size: 4096 }, { offset: 12288, size: 12288 }]);
    expect(set.contains(12288, 12288)).to.equal(true);
    expect(set.contains(8192, 4096)).to.equal(false);
    expect(set.overlaps(6144, 4096)).to.equal(true);
    expect(set.overlaps(8192, 4096)).to.equal(false);
    expect(set.totalBytes).to.equal(16384);
  });

  it('hands out the first extent that fits and keeps the remainder', () => {
    const set = new ExtentSet();
    set.add(4096, 4096);
    set.add(16384, 16384);
    expect(set.takeFirstFit(8192)).to.equal(16384);
    expect(set.extents()).to.deep.equal([{ offset: 4096, size: 4096 }, { offset: 24576, size: 8192 }]);
    expect(set.takeFirstFit(4096)).to.equal(4096);
    expect(set.takeFirstFit(16384)).to.equal(undefined);
    expect(set.takeFirstFit(8192)).to.equal(24576);
    expect(set.extents()).to.deep.equal([]);
  });

  it('agrees with a bitmap after thousands of random adds, removes and first-fit takes', () => {
    const seed = testSeed();
    const random = seededRandom(seed);
    const size = 512;
    const set = new ExtentSet();
    const model = new UnitModel(size + 64);
    for (let step = 0; step < 5_000; step++) {
      const offset = random.below(size);
      const length = 1 + random.below(24);
      const choice = random.next();
      if (choice < 0.45) {
        set.add(offset, length);
        model.set(offset, length, true);
      } else if (choice < 0.9) {
        set.remove(offset, length);
        model.set(offset, length, false);
      } else {
        const taken = set.takeFirstFit(length);
        const expected = model.extents().find((e) => e.size >= length);
        expect(taken, `seed ${seed}, step ${step}`).to.equal(expected?.offset);
        if (taken !== undefined) model.set(taken, length, false);
      }
      expect(set.extents(), `seed ${seed}, step ${step}`).to.deep.equal(model.extents());
      const probe = random.below(size);
      const probeLength = 1 + random.below(16);
      const covered = model.units.slice(probe, probe + probeLength);
      expect(set.contains(probe, probeLength), `seed ${seed}, step ${step}`).to.equal(covered.every(Boolean));
      expect(set.overlaps(probe, probeLength), `seed ${seed}, step ${step}`).to.equal(covered.some(Boolean));
    }
  });
});
