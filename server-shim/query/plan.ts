import { compareValues, isDocument, regexParts, typeOrder, TypeOrder, type Document } from '../values/index.js';
import { isOperatorObject } from './matcher.js';

/** One end of a key range. */
export interface RangeBound {
  value: unknown;
  inclusive: boolean;
}

/**
 * How to find the documents a filter may match, by the collection's key field (`_id`, or `ts`
 * for the oplog). The filter itself is still applied to every candidate: a plan only narrows
 * what is read.
 */
export type AccessPlan =
  /** Look up these key values (sorted, without duplicates); an empty list reads nothing. */
  | { kind: 'points'; values: unknown[] }
  /** Read keys of one type bracket between optional bounds. */
  | { kind: 'range'; bracket: number; lower?: RangeBound; upper?: RangeBound }
  /** Read everything. */
  | { kind: 'scan' };

/**
 * Chooses an access plan from the conditions on `keyField` at the top of the filter (or of a
 * top-level `$and`): equality and `$in` become point lookups, `$gt $gte $lt $lte` a key range
 * within the operand's type bracket (comparisons never cross types in mongod), anything else a
 * full scan.
 */
export function planAccess(filter: Document | undefined, keyField: string): AccessPlan {
  const conditions: unknown[] = [];
  const gather = (part: unknown): void => {
    if (!isDocument(part)) return;
    for (const [key, value] of Object.entries(part)) {
      if (key === keyField) conditions.push(value);
      else if (key === '$and' && Array.isArray(value)) value.forEach(gather);
    }
  };
  gather(filter);

  let range: { bracket: number; lower?: RangeBound; upper?: RangeBound } | undefined;
  for (const condition of conditions) {
    if (!isOperatorObject(condition)) {
      if (regexParts(condition) === undefined) return { kind: 'points', values: [condition] };
      continue;
    }
    if (Object.hasOwn(condition, '$eq') && regexParts(condition.$eq) === undefined) return { kind: 'points', values: [condition.$eq] };
    if (Array.isArray(condition.$in) && condition.$in.every((value) => regexParts(value) === undefined && !isOperatorObject(value))) {
      const values = [...condition.$in].sort(compareValues).filter((value, index, sorted) => index === 0 || compareValues(sorted[index - 1], value) !== 0);
      return { kind: 'points', values };
    }
    for (const [operator, operand] of Object.entries(condition)) {
      if (!['$gt', '$gte', '$lt', '$lte'].includes(operator)) continue;
      const bracket = typeOrder(operand);
      if (bracket === TypeOrder.MinKey || bracket === TypeOrder.MaxKey || regexParts(operand) !== undefined) continue;
      if (range !== undefined && range.bracket !== bracket) return { kind: 'points', values: [] };
      range ??= { bracket };
      const bound = { value: operand, inclusive: operator.endsWith('e') };
      if (operator.startsWith('$g')) {
        if (range.lower === undefined || tighterLower(bound, range.lower)) range.lower = bound;
      } else if (range.upper === undefined || tighterUpper(bound, range.upper)) {
        range.upper = bound;
      }
    }
  }
  return range === undefined ? { kind: 'scan' } : { kind: 'range', ...range };
}

function tighterLower(candidate: RangeBound, current: RangeBound): boolean {
  const order = compareValues(candidate.value, current.value);
  return order > 0 || (order === 0 && !candidate.inclusive);
}

function tighterUpper(candidate: RangeBound, current: RangeBound): boolean {
  const order = compareValues(candidate.value, current.value);
  return order < 0 || (order === 0 && !candidate.inclusive);
}
