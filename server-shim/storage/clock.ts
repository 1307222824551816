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

  constructor(
    initial: bigint,
    private readonly now: () => number = Date.now,
  ) {
    this.last = initial;
  }

  /** The latest timestamp handed out (or the initial one). */
  get current(): bigint {
    return this.last;
  }

  /** The next timestamp. */
  tick(): bigint {
    const seconds = BigInt(Math.floor(this.now() / 1000));
    const lastSeconds = this.last >> 32n;
    this.last = seconds > lastSeconds ? (seconds << 32n) | 1n : this.last + 1n;
    return this.last;
  }

  /** Moves the clock forward to at least `value` (never back). */
  advanceTo(value: bigint): void {
    if (value > this.last) this.last = value;
  }
}
