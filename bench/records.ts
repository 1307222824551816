/** The records every engine benchmark writes, the same as WiredTiger's reference figures used. */

/** `key%012d`, as the WiredTiger figures were taken with. */
export function benchKey(i: number): string {
  return `key${String(i).padStart(12, '0')}`;
}

/** The 100-byte value of every bench record: `abc...z` repeated. */
export function benchValue(): Buffer {
  const value = Buffer.alloc(100);
  for (let i = 0; i < value.length; i++) value[i] = 97 + (i % 26);
  return value;
}
