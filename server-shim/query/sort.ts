import { CommandError, ErrorCodes, LocationCodes } from '../errors/index.js';
import { compareValues, isDocument, isNumeric, toNumber, type Document } from '../values/index.js';
import { Missing, valuesAtPath } from './paths.js';

/** One sort key: a dotted path and a direction. */
export interface SortField {
  path: string;
  direction: 1 | -1;
}

/** A compiled sort: its fields and a comparator over documents. */
export interface Sort {
  fields: SortField[];
  compare(a: Document, b: Document): number;
}

/**
 * Parses a sort specification (`{a: 1, "b.c": -1}`); throws BadValue-class errors as mongod
 * does for directions other than 1 and -1 and for `$meta` sorts (no text search here).
 */
export function parseSort(specification: unknown): SortField[] {
  if (specification === undefined || specification === null) return [];
  if (!isDocument(specification)) throw new CommandError(ErrorCodes.TypeMismatch, 'sort must be an object');
  return Object.entries(specification).map(([path, direction]) => {
    if (path === '') throw new CommandError(ErrorCodes.BadValue, 'FieldPath cannot be constructed with empty string');
    if (isDocument(direction)) throw new CommandError(ErrorCodes.BadValue, `$meta sort by ${JSON.stringify(direction)} is not supported by this server`);
    const number = isNumeric(direction) ? toNumber(direction) : NaN;
    if (number !== 1 && number !== -1) {
      throw new CommandError(LocationCodes.BadSortOrder, '$sort key ordering must be 1 (for ascending) or -1 (for descending)');
    }
    return { path, direction: number };
  });
}

/**
 * The value a document sorts by for one field, as mongod computes it: with arrays, the smallest
 * element for an ascending sort and the largest for a descending one; a missing field sorts as
 * null; an empty array sorts below null.
 */
export function sortKeyValue(document: Document, field: SortField): unknown {
  let best: unknown = Missing;
  let sawEmptyArray = false;
  const consider = (value: unknown): void => {
    if (best === Missing || compareValues(value, best) === (field.direction === 1 ? -1 : 1)) best = value;
  };
  for (const value of valuesAtPath(document, field.path)) {
    if (value === Missing) consider(null);
    else if (Array.isArray(value)) {
      if (value.length === 0) sawEmptyArray = true;
      for (const element of value) consider(element);
    } else consider(value);
  }
  if (best === Missing) return sawEmptyArray ? undefined : null;
  return best;
}

/** Compiles a sort specification into a comparator. */
export function compileSort(specification: unknown): Sort | undefined {
  const fields = parseSort(specification);
  if (fields.length === 0) return undefined;
  return {
    fields,
    compare: (a, b) => {
      for (const field of fields) {
        const order = compareValues(sortKeyValue(a, field), sortKeyValue(b, field));
        if (order !== 0) return order * field.direction;
      }
      return 0;
    },
  };
}
