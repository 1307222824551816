import { Decimal128, Double, Int32, Long } from 'bson';
import { typeName } from './types.js';

/**
 * Numbers the way mongod treats them: comparisons are exact across int, long and double (a long
 * above 2^53 is not rounded to compare with a double), and arithmetic keeps the widest input
 * type (int -> long on overflow -> double), like `$inc`, `$sum` and `$add`.
 *
 * Decimal128 values compare and compute through their nearest double: the bson library has no
 * decimal arithmetic. That is exact for the decimals people usually store and is the one known
 * gap.
 */

export type NumericKind = 'int' | 'long' | 'double' | 'decimal';

const int64Minimum = -(2n ** 63n);
const int64Maximum = 2n ** 63n - 1n;

/** The numeric kind of `value`, or undefined when it is not a number. */
export function numericKind(value: unknown): NumericKind | undefined {
  const name = typeName(value);
  return name === 'int' || name === 'long' || name === 'double' || name === 'decimal' ? name : undefined;
}

/** `value` as a JavaScript number (nearest double for longs and decimals); NaN for non-numbers. */
export function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Int32 || value instanceof Double) return value.value;
  if (value instanceof Long) return value.toNumber();
  if (value instanceof Decimal128) return Number(value.toString());
  return NaN;
}

/** `value` as an exact bigint when it is an integral number, else undefined. */
export function toExactInteger(value: unknown): bigint | undefined {
  if (typeof value === 'bigint') return value;
  if (value instanceof Long) return value.toBigInt();
  const number = toNumber(value);
  return Number.isInteger(number) ? BigInt(number) : undefined;
}

/** -1, 0 or 1 as `a` is below, equal to or above `b`; NaN is below every number and equals NaN. */
export function compareNumbers(a: unknown, b: unknown): -1 | 0 | 1 {
  const kindA = numericKind(a);
  const kindB = numericKind(b);
  if ((kindA === 'long' || kindB === 'long') && kindA !== kindB) return compareLongWithOther(a, b);
  if (kindA === 'long' && kindB === 'long') {
    const x = toExactInteger(a)!;
    const y = toExactInteger(b)!;
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return compareDoubles(toNumber(a), toNumber(b));
}

function compareDoubles(x: number, y: number): -1 | 0 | 1 {
  if (Number.isNaN(x)) return Number.isNaN(y) ? 0 : -1;
  if (Number.isNaN(y)) return 1;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Compares when exactly one side is a long: exact even above 2^53. */
function compareLongWithOther(a: unknown, b: unknown): -1 | 0 | 1 {
  if (numericKind(a) === 'long') return (-compareLongWithOther(b, a) || 0) as -1 | 0 | 1;
  // Here `b` is the long.
  const other = toNumber(a);
  const long = toExactInteger(b)!;
  if (Number.isNaN(other)) return -1;
  if (other === Infinity) return 1;
  if (other === -Infinity) return -1;
  const floor = BigInt(Math.floor(other));
  if (floor < long) return -1;
  if (floor > long) return 1;
  return Number.isInteger(other) ? 0 : 1;
}

/** An int32 when it fits, else a long, like mongod's result of integer arithmetic. */
export function integerResult(value: bigint): Int32 | Long | Double {
  if (value >= -2147483648n && value <= 2147483647n) return new Int32(Number(value));
  if (value >= int64Minimum && value <= int64Maximum) return Long.fromBigInt(value);
  return new Double(Number(value));
}

function widestKind(a: NumericKind, b: NumericKind): NumericKind {
  const order: NumericKind[] = ['int', 'long', 'double', 'decimal'];
  return order[Math.max(order.indexOf(a), order.indexOf(b))]!;
}

function arithmetic(a: unknown, b: unknown, onIntegers: (x: bigint, y: bigint) => bigint, onDoubles: (x: number, y: number) => number): Int32 | Long | Double | Decimal128 {
  const kind = widestKind(numericKind(a) ?? 'double', numericKind(b) ?? 'double');
  if (kind === 'decimal') return Decimal128.fromString(String(onDoubles(toNumber(a), toNumber(b))));
  if (kind === 'double') return new Double(onDoubles(toNumber(a), toNumber(b)));
  const result = onIntegers(toExactInteger(a)!, toExactInteger(b)!);
  if (kind === 'int') return integerResult(result);
  return result >= int64Minimum && result <= int64Maximum ? Long.fromBigInt(result) : new Double(Number(result));
}

/** `a + b` with mongod's type promotion. Both must be numeric. */
export function addNumbers(a: unknown, b: unknown): Int32 | Long | Double | Decimal128 {
  return arithmetic(a, b, (x, y) => x + y, (x, y) => x + y);
}

/** `a - b` with mongod's type promotion. */
export function subtractNumbers(a: unknown, b: unknown): Int32 | Long | Double | Decimal128 {
  return arithmetic(a, b, (x, y) => x - y, (x, y) => x - y);
}

/** `a * b` with mongod's type promotion. */
export function multiplyNumbers(a: unknown, b: unknown): Int32 | Long | Double | Decimal128 {
  return arithmetic(a, b, (x, y) => x * y, (x, y) => x * y);
}

/** A JavaScript number as the BSON type mongod would give it: int32 when integral and in range, else double. */
export function numberValue(value: number): Int32 | Double {
  return Number.isInteger(value) && value >= -2147483648 && value <= 2147483647 && !Object.is(value, -0) ? new Int32(value) : new Double(value);
}
