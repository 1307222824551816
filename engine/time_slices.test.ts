import { expect } from 'chai';
import { yieldEvery } from './time_slices.js';

/** Runs synchronously for `millis`. */
function busy(millis: number): void {
  for (const until = Date.now() + millis; Date.now() < until;) {
    // Spinning: the work a slice measures.
  }
}

describe('engine: time slices', () => {
  it('asks for no pause within a slice, and for one that lets other work run once the slice has passed', async () => {
    // A slice long enough that no stall of a loaded machine ends it between two statements.
    const pause = yieldEvery(200);
    expect(pause()).to.equal(undefined);
    let otherWorkRan = false;
    setImmediate(() => {
      otherWorkRan = true;
    });
    busy(210);
    const pausing = pause();
    expect(pausing).to.be.an.instanceOf(Promise);
    expect(otherWorkRan).to.equal(false);
    await pausing;
    expect(otherWorkRan).to.equal(true);
    // A new slice starts when the pause ends.
    expect(pause()).to.equal(undefined);
  });
});
