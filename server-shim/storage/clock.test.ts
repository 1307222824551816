import { expect } from 'chai';
import { LogicalClock } from './clock.js';

/** The seconds and increment the clock reports beside `current`, as the BigInt gives them. */
function expectPartsOf(clock: LogicalClock): void {
  expect(clock.currentSeconds, 'seconds').to.equal(Number(clock.current >> 32n));
  expect(clock.currentIncrement, 'increment').to.equal(Number(clock.current & 0xffffffffn));
}

describe('storage: logical clock', () => {
  it('counts within a second, starts each new second at increment 1, and reports the parts of every tick', () => {
    let now = 1_700_000_000_500;
    const clock = new LogicalClock(0n, () => now);
    expectPartsOf(clock);
    expect(clock.tick()).to.equal((1_700_000_000n << 32n) | 1n);
    expect(clock.tick()).to.equal((1_700_000_000n << 32n) | 2n);
    expectPartsOf(clock);
    now += 1000;
    expect(clock.tick()).to.equal((1_700_000_001n << 32n) | 1n);
    expectPartsOf(clock);
    // A wall clock that goes back changes nothing: the counter goes on.
    now -= 5000;
    expect(clock.tick()).to.equal((1_700_000_001n << 32n) | 2n);
    expectPartsOf(clock);
  });

  it('moves forward to a later timestamp only, and counts on from it while the wall clock is behind', () => {
    const clock = new LogicalClock(0n, () => 1_000_000);
    clock.tick();
    const ahead = (2_000_000_000n << 32n) | 41n;
    clock.advanceTo(ahead);
    expectPartsOf(clock);
    clock.advanceTo(5n);
    expect(clock.current).to.equal(ahead);
    expect(clock.tick()).to.equal(ahead + 1n);
    expectPartsOf(clock);
  });

  it('carries an increment past 32 bits into the seconds, as the sum does', () => {
    const clock = new LogicalClock((7n << 32n) | 0xfffffffen, () => 0);
    expect(clock.tick()).to.equal((7n << 32n) | 0xffffffffn);
    expectPartsOf(clock);
    expect(clock.tick()).to.equal(8n << 32n);
    expectPartsOf(clock);
    expect(clock.tick()).to.equal((8n << 32n) | 1n);
    expectPartsOf(clock);
  });
});
