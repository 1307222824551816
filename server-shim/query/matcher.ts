import { BSONRegExp } from 'bson';
import { CommandError, ErrorCodes } from '../errors/index.js';
import {
  compareValues,
  isDocument,
  isNumeric,
  regexParts,
  stringOf,
  toExactInteger,
  toNumber,
  typeName,
  typeNumbers,
  typeOrder,
  TypeOrder,
  valuesEqual,
  type Document,
} from '../values/index.js';
import { Missing, valuesAtPath } from './paths.js';
import { compileRegex } from './regex.js';

/** A compiled query filter. */
export type Matcher = (document: Document) => boolean;

/** A test of one value found at a path (`Missing` when the path does not exist). */
type ValuePredicate = (value: unknown | Missing) => boolean;

const badValue = (message: string): CommandError => new CommandError(ErrorCodes.BadValue, message);

/**
 * Compiles a query filter (`find`'s `filter`, `$match`, `update`'s `q`) into a predicate with
 * mongod's semantics: implicit array traversal, type-bracketed comparisons, null matching
 * missing fields, negations over all array elements. Throws `CommandError` (BadValue) for an
 * unknown or malformed operator, as mongod does when it parses the query.
 */
export function compileFilter(filter: unknown): Matcher {
  if (filter === undefined || filter === null) return () => true;
  if (!isDocument(filter)) throw badValue('filter must be an object');
  const clauses: Matcher[] = [];
  for (const [key, value] of Object.entries(filter)) clauses.push(compileClause(key, value));
  if (clauses.length === 0) return () => true;
  if (clauses.length === 1) return clauses[0]!;
  return (document) => clauses.every((clause) => clause(document));
}

function compileClause(key: string, value: unknown): Matcher {
  if (key.startsWith('$')) {
    switch (key) {
      case '$and':
      case '$or':
      case '$nor': {
        if (!Array.isArray(value) || value.length === 0) throw badValue(`${key} must be a nonempty array`);
        const parts = value.map((part) => {
          if (!isDocument(part)) throw badValue(`${key} argument's entries must be objects`);
          return compileFilter(part);
        });
        if (key === '$and') return (document) => parts.every((part) => part(document));
        if (key === '$or') return (document) => parts.some((part) => part(document));
        return (document) => !parts.some((part) => part(document));
      }
      case '$comment':
        return () => true;
      case '$alwaysTrue':
        return () => true;
      case '$alwaysFalse':
        return () => false;
      case '$expr':
      case '$where':
      case '$text':
      case '$jsonSchema':
        throw badValue(`${key} is not supported by this server`);
      default:
        throw badValue(`unknown top level operator: ${key}. If you have a field name that starts with a '$' symbol, consider using $getField or $setField.`);
    }
  }
  if (key === '') throw badValue('empty field names are not allowed in a query');
  const predicate = compileValueCondition(value, key);
  return (document) => predicate.matches(valuesAtPath(document, key));
}

/** A condition on the values found at one path. */
interface PathCondition {
  matches(values: (unknown | Missing)[]): boolean;
}

/** True when `value` is an operator object like `{$gt: 1}` rather than a literal document. */
export function isOperatorObject(value: unknown): value is Document {
  if (!isDocument(value)) return false;
  const first = Object.keys(value)[0];
  return first !== undefined && first.startsWith('$') && first !== '$ref' && first !== '$id' && first !== '$db';
}

function compileValueCondition(value: unknown, path: string): PathCondition {
  if (isOperatorObject(value)) {
    const conditions = Object.entries(value).map(([operator, operand]) => compileOperator(operator, operand, value, path));
    return { matches: (values) => conditions.every((condition) => condition.matches(values)) };
  }
  if (regexParts(value) !== undefined) return anyValue(regexPredicate(value));
  return anyValue(equalityPredicate(value));
}

/**
 * Matches when some value at the path, or some element of an array value, satisfies the
 * predicate (mongod's "implicit $elemMatch" for leaf predicates).
 */
function anyValue(predicate: ValuePredicate): PathCondition {
  return {
    matches: (values) => {
      for (const value of values) {
        if (predicate(value)) return true;
        if (Array.isArray(value)) for (const element of value) if (predicate(element)) return true;
      }
      return false;
    },
  };
}

function negate(condition: PathCondition): PathCondition {
  return { matches: (values) => !condition.matches(values) };
}

function equalityPredicate(target: unknown): ValuePredicate {
  if (target === null || target === undefined) return (value) => value === Missing || value === null || value === undefined;
  return (value) => value !== Missing && valuesEqual(value, target);
}

function comparisonPredicate(operator: '$gt' | '$gte' | '$lt' | '$lte', target: unknown): ValuePredicate {
  const wantsEqual = operator === '$gte' || operator === '$lte';
  const sign = operator === '$gt' || operator === '$gte' ? 1 : -1;
  const targetOrder = typeOrder(target);
  // Comparisons against MinKey or MaxKey cross type brackets; all others stay within one.
  const crossesTypes = targetOrder === TypeOrder.MinKey || targetOrder === TypeOrder.MaxKey;
  const targetIsNaN = isNumeric(target) && Number.isNaN(toNumber(target));
  return (value) => {
    if (value === Missing) return target === null && wantsEqual;
    if (!crossesTypes && typeOrder(value) !== targetOrder) return false;
    if (isNumeric(value) && !crossesTypes) {
      const valueIsNaN = Number.isNaN(toNumber(value));
      // NaN only equals NaN; it is neither above nor below any number in a query.
      if (valueIsNaN || targetIsNaN) return wantsEqual && valueIsNaN && targetIsNaN;
    }
    const order = compareValues(value, target);
    return order === sign || (wantsEqual && order === 0);
  };
}

function regexPredicate(regexValue: unknown, optionsOverride?: string): ValuePredicate {
  const parts = regexParts(regexValue)!;
  const regex = compileRegex(parts.pattern, optionsOverride ?? parts.options);
  return (value) => {
    const text = stringOf(value);
    if (text !== undefined) return regex.test(text);
    const stored = regexParts(value);
    return stored !== undefined && stored.pattern === parts.pattern && stored.options === parts.options;
  };
}

function inPredicate(operand: unknown, operator: string): ValuePredicate {
  if (!Array.isArray(operand)) throw badValue(`${operator} needs an array`);
  const predicates = operand.map((element) => {
    if (isOperatorObject(element)) throw badValue(`cannot nest $ under ${operator}`);
    return regexParts(element) !== undefined ? regexPredicate(element) : equalityPredicate(element);
  });
  return (value) => predicates.some((predicate) => predicate(value));
}

const typeAliases: Record<string, TypeName[]> = { number: ['double', 'int', 'long', 'decimal'] };
type TypeName = ReturnType<typeof typeName>;

function typePredicate(operand: unknown): ValuePredicate {
  const wanted = new Set<TypeName>();
  for (const item of Array.isArray(operand) ? operand : [operand]) {
    const text = stringOf(item);
    if (text !== undefined) {
      if (typeAliases[text]) for (const name of typeAliases[text]!) wanted.add(name);
      else if (text in typeNumbers) wanted.add(text as TypeName);
      else throw badValue(`Unknown type name alias: ${text}`);
    } else if (isNumeric(item)) {
      const number = toNumber(item);
      const name = (Object.entries(typeNumbers) as [TypeName, number][]).find(([, code]) => code === number)?.[0];
      if (name === undefined) throw badValue(`Invalid numerical type code: ${number}`);
      wanted.add(name);
    } else {
      throw badValue('type must be represented as a number or a string');
    }
  }
  return (value) => value !== Missing && wanted.has(typeName(value));
}

function compileOperator(operator: string, operand: unknown, siblings: Document, path: string): PathCondition {
  switch (operator) {
    case '$eq':
      return anyValue(equalityPredicate(operand));
    case '$ne':
      return negate(anyValue(equalityPredicate(operand)));
    case '$gt':
    case '$gte':
    case '$lt':
    case '$lte':
      if (regexParts(operand) !== undefined) throw badValue(`Can't have RegEx as arg to predicate over field '${path}'.`);
      return anyValue(comparisonPredicate(operator, operand));
    case '$in':
      return anyValue(inPredicate(operand, '$in'));
    case '$nin':
      return negate(anyValue(inPredicate(operand, '$nin')));
    case '$exists': {
      const wanted = truthy(operand);
      return { matches: (values) => values.some((value) => value !== Missing) === wanted };
    }
    case '$regex': {
      const options = siblings.$options;
      if (options !== undefined && stringOf(options) === undefined) throw badValue('$options has to be a string');
      const parts = regexParts(operand);
      const pattern = parts?.pattern ?? stringOf(operand);
      if (pattern === undefined) throw badValue('$regex has to be a string');
      const merged = stringOf(options) ?? parts?.options ?? '';
      return anyValue(regexPredicate(new BSONRegExp(pattern, ''), merged));
    }
    case '$options':
      if (!('$regex' in siblings)) throw badValue('$options needs a $regex');
      return { matches: () => true };
    case '$not': {
      if (regexParts(operand) !== undefined) return negate(anyValue(regexPredicate(operand)));
      if (!isOperatorObject(operand)) throw badValue('$not needs a regex or a document');
      return negate(compileValueCondition(operand, path));
    }
    case '$size': {
      const size = toExactInteger(operand);
      if (!isNumeric(operand) || size === undefined || size < 0n) throw badValue('$size needs a non-negative integer');
      return { matches: (values) => values.some((value) => Array.isArray(value) && BigInt(value.length) === size) };
    }
    case '$all': {
      if (!Array.isArray(operand)) throw badValue('$all needs an array');
      if (operand.length === 0) return { matches: () => false };
      const conditions = operand.map((element) =>
        isDocument(element) && Object.keys(element)[0] === '$elemMatch' ? compileOperator('$elemMatch', element.$elemMatch, element, path) : compileValueCondition(element, path),
      );
      return { matches: (values) => conditions.every((condition) => condition.matches(values)) };
    }
    case '$elemMatch': {
      if (!isDocument(operand)) throw badValue('$elemMatch needs an Object');
      const asValueCondition = isOperatorObject(operand) && !['$and', '$or', '$nor'].includes(Object.keys(operand)[0]!);
      const elementMatches: ValuePredicate = asValueCondition
        ? ((condition) => (element) => condition.matches([element]))(compileValueCondition(operand, path))
        : ((matcher) => (element) => isDocument(element) && matcher(element))(compileFilter(operand));
      return { matches: (values) => values.some((value) => Array.isArray(value) && value.some((element) => elementMatches(element))) };
    }
    case '$type':
      return anyValue(typePredicate(operand));
    case '$mod': {
      if (!Array.isArray(operand) || operand.length !== 2 || !operand.every(isNumeric)) throw badValue('malformed mod, needs to be an array of two numbers');
      const divisor = Math.trunc(toNumber(operand[0]));
      const remainder = Math.trunc(toNumber(operand[1]));
      if (divisor === 0) throw badValue('divisor cannot be 0');
      return anyValue((value) => value !== Missing && isNumeric(value) && Math.trunc(toNumber(value)) % divisor === remainder);
    }
    case '$comment':
      return { matches: () => true };
    default:
      throw badValue(`unknown operator: ${operator}`);
  }
}

function truthy(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (isNumeric(value)) return toNumber(value) !== 0;
  return value !== null && value !== undefined;
}

/**
 * The equality conditions of a filter (`{a: 1}`, `{a: {$eq: 1}}`, also inside `$and`), as
 * path -> value. An upsert seeds the document it inserts with these, as mongod does.
 */
export function equalityFields(filter: unknown): Map<string, unknown> {
  const fields = new Map<string, unknown>();
  if (!isDocument(filter)) return fields;
  for (const [key, value] of Object.entries(filter)) {
    if (key === '$and' && Array.isArray(value)) {
      for (const part of value) for (const [path, fieldValue] of equalityFields(part)) fields.set(path, fieldValue);
    } else if (!key.startsWith('$')) {
      if (isOperatorObject(value)) {
        if (Object.hasOwn(value, '$eq')) fields.set(key, value.$eq);
      } else if (regexParts(value) === undefined) {
        fields.set(key, value);
      }
    }
  }
  return fields;
}
