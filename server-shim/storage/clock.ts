import { Timestamp } from 'bson';

/** A timestamp as the engine takes it: seconds in the high 32 bits, increment in the low. */
export function timestampToBigInt(timestamp: Timestamp): bigint {
  return (BigInt(timestamp.t) << 32n) | BigInt(timestamp.i);
}

/** The BSON Timestamp of an engine timestamp. */
export function bigIntToTimestamp(value: bigint): Timestamp {
  return new Timestamp({ t: Number(value >> 32n), i: Number(value & 0xffffffffn) });
}

/**
 * mongod's logical clock for a single primary: each tick is a Timestamp above every one given
 * before, with the wall-clock second as its time part and a counter within the second.
 */
export class LogicalClock {
  private last: bigint;
  /** `last`'s seconds and increment as numbers, so a tick within a second needs one BigInt, not four. */
  private lastSeconds = 0;
  private lastIncrement = 0;

  constructor(
    initial: bigint,
    private readonly now: () => number = Date.now,
  ) {
    this.last = initial;
    this.splitLast();
  }

  /** The latest timestamp handed out (or the initial one). */
  get current(): bigint {
    return this.last;
  }

  /** The seconds of `current`. */
  get currentSeconds(): number {
    return this.lastSeconds;
  }

  /** The increment of `current`. */
  get currentIncrement(): number {
    return this.lastIncrement;
  }

  /** The next timestamp. */
  tick(): bigint {
    const seconds = Math.floor(this.now() / 1000);
    if (seconds > this.lastSeconds) {
      this.last = (BigInt(seconds) << 32n) | 1n;
      this.lastSeconds = seconds;
      this.lastIncrement = 1;
    } else {
      this.last += 1n;
      this.lastIncrement += 1;
      // An increment past 32 bits carries into the seconds, as the sum does.
      if (this.lastIncrement > 0xffffffff) this.splitLast();
    }
    return this.last;
  }

  /** Moves the clock forward to at least `value` (never back). */
  advanceTo(value: bigint): void {
    if (value > this.last) {
      this.last = value;
      this.splitLast();
    }
  }

  private splitLast(): void {
    this.lastSeconds = Number(this.last >> 32n);
    this.lastIncrement = Number(this.last & 0xffffffffn);
  }
}
