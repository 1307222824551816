import { Binary, Long, Timestamp } from 'bson';
import { CommandError, ErrorCodes, LocationCodes } from '../errors/index.js';
import { checkNamespace, type Namespace } from '../storage/index.js';
import { isDocument, isNumeric, toNumber, typeName, type Document } from '../values/index.js';
import type { CommandRequest } from './context.js';

/**
 * Fields any command may carry (sessions, read and write concerns, API versioning, cluster time,
 * comments). They are accepted and, where this single node has nothing to do with them, ignored.
 */
export const genericFields = new Set([
  '$db',
  'lsid',
  '$clusterTime',
  'txnNumber',
  'autocommit',
  'startTransaction',
  'readConcern',
  'writeConcern',
  '$readPreference',
  'apiVersion',
  'apiStrict',
  'apiDeprecationErrors',
  'comment',
  'maxTimeMS',
  '$audit',
  '$client',
  'mayBypassWriteBlocking',
  '$queryOptions',
]);

/**
 * Refuses fields the command does not know, as mongod's command parsers do:
 * "BSON field 'find.foo' is an unknown field." (40415).
 */
export function checkKnownFields(request: CommandRequest, known: readonly string[]): void {
  // A document sequence kept as received is a field of the command too.
  for (const field of request.sequences === undefined ? Object.keys(request.body) : [...Object.keys(request.body), ...request.sequences.keys()]) {
    if (field === request.name || genericFields.has(field) || known.includes(field)) continue;
    throw new CommandError(LocationCodes.UnknownField, `BSON field '${request.name}.${field}' is an unknown field.`);
  }
}

/** mongod's wrong-type message for a command field. */
function wrongType(request: CommandRequest, field: string, value: unknown, expected: string): CommandError {
  return new CommandError(ErrorCodes.TypeMismatch, `BSON field '${request.name}.${field}' is the wrong type '${typeName(value)}', expected type${expected.includes(',') ? 's' : ''} '${expected}'`);
}

/** The namespace named by the command's first field (a collection name). */
export function collectionNamespace(request: CommandRequest): Namespace {
  if (typeof request.argument !== 'string') {
    throw new CommandError(ErrorCodes.InvalidNamespace, `collection name has invalid type ${typeName(request.argument)}`);
  }
  return checkNamespace(request.db, request.argument);
}

/** An optional numeric field as an integer; TypeMismatch for other types. */
export function optionalInteger(request: CommandRequest, field: string): number | undefined {
  const value = request.body[field];
  if (value === undefined || value === null) return undefined;
  if (!isNumeric(value)) throw wrongType(request, field, value, '[long, int, decimal, double]');
  return Math.trunc(toNumber(value));
}

/** An optional numeric field that must not be negative (51024 otherwise, like mongod). */
export function optionalNonNegativeInteger(request: CommandRequest, field: string): number | undefined {
  const value = optionalInteger(request, field);
  if (value !== undefined && value < 0) {
    throw new CommandError(LocationCodes.NegativeValue, `BSON field '${field}' value must be >= 0, actual value '${value}'`);
  }
  return value;
}

/** An optional boolean field (numbers are accepted as truthiness, like mongod's IDL). */
export function optionalBoolean(request: CommandRequest, field: string): boolean | undefined {
  const value = request.body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'boolean') return value;
  if (isNumeric(value)) return toNumber(value) !== 0;
  throw wrongType(request, field, value, 'bool');
}

/** An optional document field; TypeMismatch for other types. */
export function optionalDocument(request: CommandRequest, field: string): Document | undefined {
  const value = request.body[field];
  if (value === undefined || value === null) return undefined;
  if (!isDocument(value)) throw wrongType(request, field, value, 'object');
  return value;
}

/** A required array field: 40414 when missing, TypeMismatch when not an array. */
export function requiredArray(request: CommandRequest, field: string): unknown[] {
  const value = request.body[field];
  if (value === undefined) throw new CommandError(LocationCodes.MissingRequiredField, `BSON field '${request.name}.${field}' is missing but a required field`);
  if (!Array.isArray(value)) throw wrongType(request, field, value, 'array');
  return value;
}

/** A required BSON Timestamp field: 40414 when missing, TypeMismatch when of another type. */
export function requiredTimestamp(request: CommandRequest, field: string): Timestamp {
  const value = request.body[field];
  if (value === undefined) throw new CommandError(LocationCodes.MissingRequiredField, `BSON field '${request.name}.${field}' is missing but a required field`);
  if (!(value instanceof Timestamp)) throw wrongType(request, field, value, 'timestamp');
  return value;
}

/** The command's first field as BinData (any subtype): TypeMismatch otherwise. */
export function binaryArgument(request: CommandRequest): Buffer {
  if (!(request.argument instanceof Binary)) throw wrongType(request, request.name, request.argument, 'binData');
  return Buffer.from(request.argument.buffer);
}

/** An optional string field. */
export function optionalString(request: CommandRequest, field: string): string | undefined {
  const value = request.body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw wrongType(request, field, value, 'string');
  return value;
}

/** Refuses a collation other than the simple one: this server compares strings bytewise only. */
export function checkSimpleCollation(collation: unknown): void {
  if (collation === undefined || collation === null) return;
  if (isDocument(collation) && collation.locale === 'simple') return;
  throw new CommandError(ErrorCodes.BadValue, 'collations other than {locale: "simple"} are not supported by this server');
}

/** The logical session id of a request (`lsid.id` as hex), if any. */
export function sessionId(request: CommandRequest): string | undefined {
  const lsid = request.body.lsid;
  if (!isDocument(lsid)) return undefined;
  const id = lsid.id as { toString?: (encoding: string) => string; toHexString?: () => string } | undefined;
  return id?.toHexString?.() ?? id?.toString?.('hex');
}

/** A cursor reply: `{cursor: {firstBatch|nextBatch, id, ns}}`. */
export function cursorReply(ns: string, documents: Document[], id: Long, batch: 'firstBatch' | 'nextBatch'): Document {
  return { cursor: { [batch]: documents, id, ns } };
}
