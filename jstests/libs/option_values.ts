import { InvalidArgumentError } from 'commander';

/** Option parsers shared by the long campaigns' command lines (`npm run crash`, `npm run damage`). */

/** A count: an integer of at least 1. */
export function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new InvalidArgumentError('expected a positive integer');
  return parsed;
}

/** A seed or a count that may be 0: an integer of at least 0. */
export function nonNegativeInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new InvalidArgumentError('expected a non-negative integer');
  return parsed;
}
