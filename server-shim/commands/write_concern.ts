import { Long } from 'bson';
import { CommandError, ErrorCodes } from '../errors/index.js';
import { isDocument, isNumeric, toNumber, typeName, type Document } from '../values/index.js';

/** The most members a replica set may have: `w` above it is not a write concern at all. */
const maximumMembers = 50;
/** Data-bearing members of this server's replica set: itself. */
const memberCount = 1;

/**
 * A command's write concern, parsed as mongod parses it: `w` (a member count or a mode name),
 * the durability it asks for (`j` or `fsync`), `wtimeout` in milliseconds (0: no limit), and
 * whether the client gave it or the default applies.
 */
export interface WriteConcern {
  w: number | string;
  j?: boolean;
  fsync?: boolean;
  wtimeout: number;
  clientSupplied: boolean;
}

/** The write concern a command without one gets on a one-member replica set: `{w: 1}`. */
export const defaultWriteConcern: WriteConcern = { w: 1, wtimeout: 0, clientSupplied: false };

/**
 * Parses a command's `writeConcern` field. Missing or empty: the default. Refused up front, as
 * mongod refuses them before the command runs: a field that is not a document (TypeMismatch),
 * `w` below 0 or above 50 or neither a number nor a string, `j` and `fsync` both true
 * (FailedToParse), `j`, `fsync` or `wtimeout` of the wrong type (TypeMismatch). Other fields
 * (`getLastError`, `wOpTime`, `provenance`...) are accepted and ignored, as mongod does.
 */
export function parseWriteConcern(value: unknown): WriteConcern {
  if (value === undefined) return defaultWriteConcern;
  if (!isDocument(value)) {
    throw new CommandError(ErrorCodes.TypeMismatch, `"writeConcern" had the wrong type. Expected object, found ${typeName(value)}`);
  }
  if (Object.keys(value).length === 0) return defaultWriteConcern;
  const concern: WriteConcern = { w: 1, wtimeout: 0, clientSupplied: true };
  if (value.w !== undefined) {
    if (isNumeric(value.w)) {
      const w = toNumber(value.w);
      if (!Number.isInteger(w) || w < 0 || w > maximumMembers) {
        throw new CommandError(ErrorCodes.FailedToParse, `w has to be a non-negative number and not greater than ${maximumMembers}; found: ${w}`);
      }
      concern.w = w;
    } else if (typeof value.w === 'string') {
      concern.w = value.w;
    } else {
      throw new CommandError(ErrorCodes.FailedToParse, `w has to be a number or a string; found: ${typeName(value.w)}`);
    }
  }
  const j = optionalSafeBoolean(value, 'j');
  const fsync = optionalSafeBoolean(value, 'fsync');
  if (j === true && fsync === true) throw new CommandError(ErrorCodes.FailedToParse, 'fsync and j options cannot be used together');
  if (j !== undefined) concern.j = j;
  if (fsync !== undefined) concern.fsync = fsync;
  if (value.wtimeout !== undefined) {
    if (!isNumeric(value.wtimeout)) throw wrongType('wtimeout', value.wtimeout, '[long, int, decimal, double]');
    concern.wtimeout = Math.max(0, Math.trunc(toNumber(value.wtimeout)));
  }
  return concern;
}

/** A boolean field that also takes a number (IDL `safeBool`), as `j` and `fsync` do. */
function optionalSafeBoolean(document: Document, field: string): boolean | undefined {
  const value = document[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'boolean') return value;
  if (isNumeric(value)) return toNumber(value) !== 0;
  throw wrongType(field, value, '[bool, long, int, decimal, double]');
}

function wrongType(field: string, value: unknown, expected: string): CommandError {
  return new CommandError(ErrorCodes.TypeMismatch, `BSON field 'writeConcern.${field}' is the wrong type '${typeName(value)}', expected types '${expected}'`);
}

/**
 * Refuses, before the command runs, what a server that is not a replica set member cannot
 * mean (mongod's `validateWriteConcern`): `w` above 1, or a mode other than `majority`.
 */
export function checkWriteConcernForStandalone(concern: WriteConcern): void {
  if (typeof concern.w === 'number' && concern.w > 1) throw new CommandError(ErrorCodes.BadValue, "cannot use 'w' > 1 when a host is not replicated");
  if (typeof concern.w === 'string' && concern.w !== 'majority') {
    throw new CommandError(ErrorCodes.BadValue, `cannot use non-majority 'w' mode ${concern.w} when a host is not a member of a replica set`);
  }
}

/**
 * True when the write concern waits for durability: `j: true`, `fsync: true`, or
 * `w: 'majority'` (the replica set's `writeConcernMajorityJournalDefault` is true).
 */
export function waitsForDurability(concern: WriteConcern): boolean {
  return concern.j === true || concern.fsync === true || concern.w === 'majority';
}

/** The write concern as mongod reports it in `errInfo.writeConcern`. */
export function writeConcernDocument(concern: WriteConcern): Document {
  const document: Document = { w: concern.w };
  if (concern.j !== undefined) document.j = concern.j;
  if (concern.fsync !== undefined) document.fsync = concern.fsync;
  document.wtimeout = Long.fromNumber(concern.wtimeout);
  document.provenance = concern.clientSupplied ? 'clientSupplied' : 'implicitDefault';
  return document;
}

/**
 * Why the write concern cannot be satisfied by the members there are, as mongod's replication
 * coordinator answers after the write is applied: `w: N` above the member count is
 * UnsatisfiableWriteConcern (100), a mode that is neither `majority` nor one of the replica
 * set's `getLastErrorModes` (none are configured) is UnknownReplWriteConcern (79).
 */
export function unsatisfiableReason(concern: WriteConcern): { code: number; errmsg: string } | undefined {
  if (typeof concern.w === 'number' && concern.w > memberCount) return { code: ErrorCodes.UnsatisfiableWriteConcern, errmsg: 'Not enough data-bearing nodes' };
  if (typeof concern.w === 'string' && concern.w !== 'majority') {
    return { code: ErrorCodes.UnknownReplWriteConcern, errmsg: `No write concern mode named '${concern.w}' found in replica set configuration` };
  }
  return undefined;
}
