import { seededRandom, type Random } from '../../engine/testing/random.js';

/**
 * The seeded generator of the engine's tests (mulberry32), with the few extra draws the
 * robustness scenarios need. The same seed always gives the same sequence, so a scenario prints
 * its seed and `--seed` (or `JSTEST_SEED`) replays it.
 */
export interface SeededRandom extends Random {
  readonly seed: number;
  /** An integer in [minimum, maximum] (both included). */
  between(minimum: number, maximum: number): number;
  /** True with probability `probability`. */
  chance(probability: number): boolean;
  /** `length` random bytes. */
  bytes(length: number): Buffer;
  /** A choice among `[weight, value]` pairs, proportional to the weights. */
  weighted<T>(choices: readonly (readonly [number, T])[]): T;
  /** A new generator seeded from this one, so a part of a scenario has its own sequence. */
  fork(): SeededRandom;
}

export function seededRandomFrom(seed: number): SeededRandom {
  const base = seededRandom(seed);
  const between = (minimum: number, maximum: number): number => minimum + base.below(maximum - minimum + 1);
  return {
    ...base,
    seed: seed >>> 0,
    between,
    chance: (probability) => base.next() < probability,
    bytes: (length) => {
      const out = Buffer.alloc(length);
      for (let index = 0; index < length; index++) out[index] = base.below(256);
      return out;
    },
    weighted: (choices) => {
      const total = choices.reduce((sum, [weight]) => sum + weight, 0);
      let draw = base.next() * total;
      for (const [weight, value] of choices) {
        draw -= weight;
        if (draw < 0) return value;
      }
      return choices[choices.length - 1]![1];
    },
    fork: () => seededRandomFrom(base.below(0x1_0000_0000)),
  };
}

/**
 * The seed to use: the one given (a `--seed` option), else `JSTEST_SEED` from the environment,
 * else one from the clock. Scenarios print it so any run can be replayed.
 */
export function chooseSeed(given?: number | string): number {
  if (given !== undefined && given !== '') return Number(given) >>> 0;
  const fromEnvironment = process.env['JSTEST_SEED'];
  if (fromEnvironment !== undefined && fromEnvironment !== '') return Number(fromEnvironment) >>> 0;
  return (Date.now() ^ (process.pid << 16)) >>> 0;
}
