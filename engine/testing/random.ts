/**
 * A small seeded pseudo-random generator (mulberry32) for reproducible workloads: the same
 * seed always yields the same sequence, so a failing test prints its seed and can be re-run.
 */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, bound). */
  below(bound: number): number;
  /** One element of `items`. */
  pick<T>(items: readonly T[]): T;
  /** The elements of `items` in a random order (a new array). */
  shuffle<T>(items: readonly T[]): T[];
}

export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const below = (bound: number): number => Math.floor(next() * bound);
  return {
    next,
    below,
    pick: (items) => items[below(items.length)]!,
    shuffle: (items) => {
      const out = [...items];
      for (let i = out.length - 1; i > 0; i--) {
        const j = below(i + 1);
        [out[i], out[j]] = [out[j]!, out[i]!];
      }
      return out;
    },
  };
}

/** A seed from the environment (`TEST_SEED`) or the clock, so failures can be replayed. */
export function testSeed(): number {
  const fromEnvironment = process.env['TEST_SEED'];
  return fromEnvironment !== undefined ? Number(fromEnvironment) >>> 0 : (Date.now() ^ (process.pid << 16)) >>> 0;
}
