import {
  Binary,
  BSONRegExp,
  BSONSymbol,
  Code,
  DBRef,
  Decimal128,
  Double,
  Int32,
  Long,
  MaxKey,
  MinKey,
  ObjectId,
  Timestamp,
} from 'bson';

/**
 * How the server sees BSON values: documents are decoded with `promoteValues: false` and
 * `bsonRegExp: true`, so every numeric keeps its BSON type (`Int32`, `Long`, `Double`,
 * `Decimal128`) and round-trips unchanged. Plain JavaScript numbers and bigints, which the server
 * itself creates, are accepted everywhere too.
 */

/** A decoded BSON document. */
export type Document = Record<string, unknown>;

/** mongod's `$type` names. `missing` is a path that does not exist. */
export type TypeName =
  | 'double'
  | 'string'
  | 'object'
  | 'array'
  | 'binData'
  | 'undefined'
  | 'objectId'
  | 'bool'
  | 'date'
  | 'null'
  | 'regex'
  | 'dbPointer'
  | 'javascript'
  | 'symbol'
  | 'javascriptWithScope'
  | 'int'
  | 'timestamp'
  | 'long'
  | 'decimal'
  | 'minKey'
  | 'maxKey'
  | 'missing';

/** BSON type numbers by `$type` name (for `{$type: 2}` queries). */
export const typeNumbers: Readonly<Record<Exclude<TypeName, 'missing'>, number>> = {
  double: 1,
  string: 2,
  object: 3,
  array: 4,
  binData: 5,
  undefined: 6,
  objectId: 7,
  bool: 8,
  date: 9,
  null: 10,
  regex: 11,
  dbPointer: 12,
  javascript: 13,
  symbol: 14,
  javascriptWithScope: 15,
  int: 16,
  timestamp: 17,
  long: 18,
  decimal: 19,
  minKey: -1,
  maxKey: 127,
};

function bsonTypeTag(value: object): string | undefined {
  const tag = (value as { _bsontype?: unknown })._bsontype;
  return typeof tag === 'string' ? tag : undefined;
}

/** The `$type` name of `value`. */
export function typeName(value: unknown): TypeName {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return 'string';
    case 'boolean':
      return 'bool';
    case 'number':
      return Number.isInteger(value) && value >= -2147483648 && value <= 2147483647 ? 'int' : 'double';
    case 'bigint':
      return 'long';
    case 'object':
      break;
    default:
      return 'undefined';
  }
  if (Array.isArray(value)) return 'array';
  if (value instanceof Date) return 'date';
  if (value instanceof RegExp) return 'regex';
  switch (bsonTypeTag(value)) {
    case 'Double':
      return 'double';
    case 'Int32':
      return 'int';
    case 'Long':
      return 'long';
    case 'Decimal128':
      return 'decimal';
    case 'ObjectId':
      return 'objectId';
    case 'Binary':
      return 'binData';
    case 'Timestamp':
      return 'timestamp';
    case 'BSONRegExp':
      return 'regex';
    case 'Code':
      return (value as Code).scope ? 'javascriptWithScope' : 'javascript';
    case 'BSONSymbol':
      return 'symbol';
    case 'MinKey':
      return 'minKey';
    case 'MaxKey':
      return 'maxKey';
    case 'DBPointer':
      return 'dbPointer';
    case 'DBRef':
      return 'object';
    case undefined:
      return 'object';
    default:
      return 'object';
  }
}

/**
 * mongod's canonical type order (BSONType canonicalization): values of different types sort by
 * this, and all numeric types share one bracket, as do strings and symbols.
 */
export const TypeOrder = {
  MinKey: 1,
  Undefined: 2,
  Null: 3,
  Number: 4,
  String: 5,
  Object: 6,
  Array: 7,
  BinData: 8,
  ObjectId: 9,
  Boolean: 10,
  Date: 11,
  Timestamp: 12,
  RegEx: 13,
  DBPointer: 14,
  Code: 15,
  CodeWithScope: 16,
  MaxKey: 17,
} as const;

/** The canonical type bracket of `value` (a missing value sorts as null). */
export function typeOrder(value: unknown): number {
  switch (typeName(value)) {
    case 'minKey':
      return TypeOrder.MinKey;
    case 'undefined':
      return TypeOrder.Undefined;
    case 'null':
    case 'missing':
      return TypeOrder.Null;
    case 'double':
    case 'int':
    case 'long':
    case 'decimal':
      return TypeOrder.Number;
    case 'string':
    case 'symbol':
      return TypeOrder.String;
    case 'object':
      return TypeOrder.Object;
    case 'array':
      return TypeOrder.Array;
    case 'binData':
      return TypeOrder.BinData;
    case 'objectId':
      return TypeOrder.ObjectId;
    case 'bool':
      return TypeOrder.Boolean;
    case 'date':
      return TypeOrder.Date;
    case 'timestamp':
      return TypeOrder.Timestamp;
    case 'regex':
      return TypeOrder.RegEx;
    case 'dbPointer':
      return TypeOrder.DBPointer;
    case 'javascript':
      return TypeOrder.Code;
    case 'javascriptWithScope':
      return TypeOrder.CodeWithScope;
    case 'maxKey':
      return TypeOrder.MaxKey;
  }
}

/** True for every BSON numeric type and plain JavaScript numbers and bigints. */
export function isNumeric(value: unknown): boolean {
  return typeOrder(value) === TypeOrder.Number;
}

/** True for a plain embedded document (not an array, a date or another BSON type). */
export function isDocument(value: unknown): value is Document {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Date || value instanceof RegExp) return false;
  const tag = bsonTypeTag(value);
  return tag === undefined;
}

/** A DBRef's fields as a plain document (`$ref`, `$id`, `$db`, then extra fields), else the value. */
export function asDocumentLike(value: unknown): unknown {
  if (value instanceof DBRef) {
    const fields: Document = { $ref: value.collection, $id: value.oid };
    if (value.db) fields.$db = value.db;
    return { ...fields, ...value.fields };
  }
  return value;
}

/** The string of a string or symbol value. */
export function stringOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value instanceof BSONSymbol) return value.valueOf();
  return undefined;
}

/** A regular expression value's pattern and options, whether a BSONRegExp or a RegExp. */
export function regexParts(value: unknown): { pattern: string; options: string } | undefined {
  if (value instanceof BSONRegExp) return { pattern: value.pattern, options: value.options };
  if (value instanceof RegExp) return { pattern: value.source, options: value.flags };
  return undefined;
}

export { Binary, BSONRegExp, BSONSymbol, Code, DBRef, Decimal128, Double, Int32, Long, MaxKey, MinKey, ObjectId, Timestamp };
