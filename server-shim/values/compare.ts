import { Binary, Code, ObjectId, Timestamp } from 'bson';
import { compareNumbers } from './numbers.js';
import { asDocumentLike, regexParts, stringOf, typeOrder, TypeOrder } from './types.js';

/**
 * mongod's total order over BSON values (`BSONElement::woCompare` without collation): first the
 * canonical type bracket, then within it: numbers numerically across int/long/double, strings by
 * UTF-8 bytes, documents field by field (value type, then name, then value), arrays element by
 * element, binary by length then subtype then bytes, and so on.
 */
export function compareValues(a: unknown, b: unknown): -1 | 0 | 1 {
  const orderA = typeOrder(a);
  const orderB = typeOrder(b);
  if (orderA !== orderB) return orderA < orderB ? -1 : 1;
  switch (orderA) {
    case TypeOrder.MinKey:
    case TypeOrder.Undefined:
    case TypeOrder.Null:
    case TypeOrder.MaxKey:
      return 0;
    case TypeOrder.Number:
      return compareNumbers(a, b);
    case TypeOrder.String:
      return compareStrings(stringOf(a)!, stringOf(b)!);
    case TypeOrder.Object:
      return compareDocuments(asDocumentLike(a) as Record<string, unknown>, asDocumentLike(b) as Record<string, unknown>);
    case TypeOrder.Array:
      return compareArrays(a as unknown[], b as unknown[]);
    case TypeOrder.BinData:
      return compareBinary(a as Binary, b as Binary);
    case TypeOrder.ObjectId:
      return sign(Buffer.compare((a as ObjectId).id, (b as ObjectId).id));
    case TypeOrder.Boolean:
      return a === b ? 0 : a === false ? -1 : 1;
    case TypeOrder.Date:
      return sign((a as Date).getTime() - (b as Date).getTime());
    case TypeOrder.Timestamp:
      return compareTimestamps(a as Timestamp, b as Timestamp);
    case TypeOrder.RegEx: {
      const x = regexParts(a)!;
      const y = regexParts(b)!;
      return compareStrings(x.pattern, y.pattern) || compareStrings(x.options, y.options);
    }
    case TypeOrder.Code:
      return compareStrings(String((a as Code).code), String((b as Code).code));
    case TypeOrder.CodeWithScope:
      return (
        compareStrings(String((a as Code).code), String((b as Code).code)) ||
        compareDocuments(((a as Code).scope ?? {}) as Record<string, unknown>, ((b as Code).scope ?? {}) as Record<string, unknown>)
      );
    case TypeOrder.DBPointer: {
      const x = a as { namespace: string; oid: ObjectId };
      const y = b as { namespace: string; oid: ObjectId };
      return compareStrings(x.namespace, y.namespace) || sign(Buffer.compare(x.oid.id, y.oid.id));
    }
    default:
      return 0;
  }
}

/** True when mongod's query equality holds (`compareValues(a, b) === 0`). */
export function valuesEqual(a: unknown, b: unknown): boolean {
  return compareValues(a, b) === 0;
}

/** Bytewise UTF-8 order (what mongod uses without a collation), not UTF-16 code-unit order. */
export function compareStrings(a: string, b: string): -1 | 0 | 1 {
  if (a === b) return 0;
  // Code-unit order matches UTF-8 byte order except around surrogates; only then pay for bytes.
  if (!/[\ud800-\udfff]/.test(a) && !/[\ud800-\udfff]/.test(b)) return a < b ? -1 : 1;
  return sign(Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
}

function compareDocuments(a: Record<string, unknown>, b: Record<string, unknown>): -1 | 0 | 1 {
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  const length = Math.min(keysA.length, keysB.length);
  for (let index = 0; index < length; index += 1) {
    const keyA = keysA[index]!;
    const keyB = keysB[index]!;
    const valueA = a[keyA];
    const valueB = b[keyB];
    const byType = typeOrder(valueA) - typeOrder(valueB);
    if (byType !== 0) return sign(byType);
    const byName = compareStrings(keyA, keyB);
    if (byName !== 0) return byName;
    const byValue = compareValues(valueA, valueB);
    if (byValue !== 0) return byValue;
  }
  return sign(keysA.length - keysB.length);
}

function compareArrays(a: unknown[], b: unknown[]): -1 | 0 | 1 {
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index += 1) {
    const byValue = compareValues(a[index], b[index]);
    if (byValue !== 0) return byValue;
  }
  return sign(a.length - b.length);
}

function compareBinary(a: Binary, b: Binary): -1 | 0 | 1 {
  const bytesA = a.value();
  const bytesB = b.value();
  if (bytesA.length !== bytesB.length) return sign(bytesA.length - bytesB.length);
  if (a.sub_type !== b.sub_type) return sign(a.sub_type - b.sub_type);
  return sign(Buffer.compare(bytesA, bytesB));
}

function compareTimestamps(a: Timestamp, b: Timestamp): -1 | 0 | 1 {
  return sign(a.t - b.t) || sign(a.i - b.i);
}

function sign(value: number): -1 | 0 | 1 {
  return value < 0 ? -1 : value > 0 ? 1 : 0;
}
