import { Double, Int32 } from 'bson';
import { CommandError, ErrorCodes } from '../errors/index.js';
import {
  addNumbers,
  compareValues,
  isDocument,
  isNumeric,
  multiplyNumbers,
  numberValue,
  stringOf,
  subtractNumbers,
  toNumber,
  typeName,
  valuesEqual,
  type Document,
} from '../values/index.js';
import { expressionPathValue, Missing } from './paths.js';

/** The variables an expression can read (`$$ROOT`, `$$CURRENT`, `$$NOW`). */
export interface ExpressionScope {
  root: Document;
  current: Document;
  now: Date;
}

/** A compiled aggregation expression; returns `Missing` where mongod's result is "missing". */
export type Expression = (scope: ExpressionScope) => unknown | Missing;

/** mongod's `$$REMOVE`: a computed field whose value is this is left out. */
const remove: Expression = () => Missing;

const invalid = (message: string): CommandError => new CommandError(ErrorCodes.InvalidPipelineOperator, message);
const badValue = (message: string): CommandError => new CommandError(ErrorCodes.BadValue, message);

/**
 * Compiles an aggregation expression: field paths (`"$a.b"`), variables (`"$$ROOT"`), literals,
 * documents and arrays of expressions, and operators (`{$add: [...]}`). Supported operators:
 * `$literal $add $subtract $multiply $divide $mod $abs $concat $toUpper $toLower $strLenCP
 * $eq $ne $gt $gte $lt $lte $cmp $and $or $not $cond $ifNull $size $arrayElemAt $in
 * $sum $avg $min $max $first $last $type $toString`. Others fail with InvalidPipelineOperator.
 */
export function compileExpression(expression: unknown): Expression {
  if (typeof expression === 'string') {
    if (expression.startsWith('$$')) return compileVariable(expression.slice(2));
    if (expression.startsWith('$')) {
      const path = expression.slice(1);
      if (path === '') throw badValue("'$' by itself is not a valid FieldPath");
      const components = path.split('.');
      return (scope) => expressionPathValue(scope.current, components);
    }
    return () => expression;
  }
  if (Array.isArray(expression)) {
    const elements = expression.map(compileExpression);
    return (scope) => elements.map((element) => nullIfMissing(element(scope)));
  }
  if (isDocument(expression)) {
    const keys = Object.keys(expression);
    if (keys.length === 1 && keys[0]!.startsWith('$')) return compileOperator(keys[0]!, expression[keys[0]!]);
    if (keys.some((key) => key.startsWith('$'))) throw invalid(`an expression specification must contain exactly one field, the name of the expression. Found ${keys.length} fields in ${JSON.stringify(keys)}`);
    const fields = keys.map((key) => [key, compileExpression(expression[key])] as const);
    return (scope) => {
      const result: Document = {};
      for (const [key, field] of fields) {
        const value = field(scope);
        if (value !== Missing) result[key] = value;
      }
      return result;
    };
  }
  return () => expression;
}

function compileVariable(text: string): Expression {
  const [name, ...rest] = text.split('.');
  const base: Expression = (() => {
    switch (name) {
      case 'ROOT':
        return (scope: ExpressionScope) => scope.root;
      case 'CURRENT':
        return (scope: ExpressionScope) => scope.current;
      case 'NOW':
        return (scope: ExpressionScope) => scope.now;
      case 'REMOVE':
        return remove;
      default:
        throw badValue(`Use of undefined variable: ${name}`);
    }
  })();
  if (rest.length === 0) return base;
  return (scope) => {
    const value = base(scope);
    return value === Missing ? Missing : expressionPathValue(value, rest);
  };
}

function nullIfMissing(value: unknown | Missing): unknown {
  return value === Missing || value === undefined ? null : value;
}

function isNullish(value: unknown | Missing): boolean {
  return value === Missing || value === null || value === undefined;
}

/** mongod's truthiness: false, null, missing, undefined and 0 are false. */
export function expressionTruthy(value: unknown | Missing): boolean {
  if (isNullish(value) || value === false) return false;
  if (isNumeric(value)) return toNumber(value) !== 0;
  return true;
}

function argumentList(operator: string, operand: unknown, count?: { min?: number; max?: number }): Expression[] {
  const list = Array.isArray(operand) ? operand : [operand];
  if (count?.min !== undefined && list.length < count.min) throw invalid(`Expression ${operator} takes at least ${count.min} arguments, and ${list.length} were passed in.`);
  if (count?.max !== undefined && list.length > count.max) throw invalid(`Expression ${operator} takes at most ${count.max} arguments, and ${list.length} were passed in.`);
  return list.map(compileExpression);
}

function numericArguments(operator: string, values: unknown[]): unknown[] | null {
  if (values.some(isNullish)) return null;
  for (const value of values) {
    if (!isNumeric(value) && !(value instanceof Date)) throw new CommandError(ErrorCodes.TypeMismatch, `${operator} only supports numeric types, not ${typeName(value)}`);
  }
  return values;
}

/** `$sum`/`$avg`/`$min`/`$max` over one array argument or several arguments. */
function compileArrayAccumulator(operator: string, operand: unknown): Expression {
  const args = argumentList(operator, operand);
  return (scope) => {
    let values: unknown[];
    if (args.length === 1) {
      const single = args[0]!(scope);
      values = Array.isArray(single) ? single : [single];
    } else {
      values = args.map((arg) => arg(scope));
    }
    return accumulate(operator, values.filter((value) => value !== Missing));
  };
}

/** The result of an accumulator over values, with mongod's treatment of non-numeric inputs. */
export function accumulate(operator: string, values: unknown[]): unknown {
  switch (operator) {
    case '$sum': {
      let total: unknown = new Int32(0);
      for (const value of values) if (isNumeric(value)) total = addNumbers(total, value);
      return total;
    }
    case '$avg': {
      const numbers = values.filter(isNumeric);
      if (numbers.length === 0) return null;
      return new Double(numbers.reduce((total: number, value) => total + toNumber(value), 0) / numbers.length);
    }
    case '$min':
    case '$max': {
      let best: unknown = undefined;
      for (const value of values) {
        if (isNullish(value)) continue;
        if (best === undefined || compareValues(value, best) === (operator === '$min' ? -1 : 1)) best = value;
      }
      return best === undefined ? null : best;
    }
    default:
      throw invalid(`unknown accumulator ${operator}`);
  }
}

function compileComparison(operator: string, operand: unknown): Expression {
  const [left, right] = argumentList(operator, operand, { min: 2, max: 2 }) as [Expression, Expression];
  return (scope) => {
    const order = compareValues(nullIfMissing(left(scope)), nullIfMissing(right(scope)));
    switch (operator) {
      case '$eq':
        return order === 0;
      case '$ne':
        return order !== 0;
      case '$gt':
        return order > 0;
      case '$gte':
        return order >= 0;
      case '$lt':
        return order < 0;
      case '$lte':
        return order <= 0;
      default:
        return new Int32(order);
    }
  };
}

function compileOperator(operator: string, operand: unknown): Expression {
  switch (operator) {
    case '$literal':
      return () => operand;
    case '$add': {
      const args = argumentList(operator, operand);
      return (scope) => {
        const values = numericArguments(operator, args.map((arg) => arg(scope)));
        if (values === null) return null;
        let date: Date | undefined;
        let total: unknown = new Int32(0);
        for (const value of values) {
          if (value instanceof Date) {
            if (date) throw badValue('only one date allowed in an $add expression');
            date = value;
          } else total = addNumbers(total, value);
        }
        return date ? new Date(date.getTime() + toNumber(total)) : total;
      };
    }
    case '$multiply': {
      const args = argumentList(operator, operand);
      return (scope) => {
        const values = numericArguments(operator, args.map((arg) => arg(scope)));
        return values === null ? null : values.reduce((product: unknown, value) => multiplyNumbers(product, value), new Int32(1));
      };
    }
    case '$subtract': {
      const [left, right] = argumentList(operator, operand, { min: 2, max: 2 }) as [Expression, Expression];
      return (scope) => {
        const a = left(scope);
        const b = right(scope);
        if (isNullish(a) || isNullish(b)) return null;
        if (a instanceof Date && b instanceof Date) return numberValue(a.getTime() - b.getTime());
        if (a instanceof Date && isNumeric(b)) return new Date(a.getTime() - toNumber(b));
        numericArguments(operator, [a, b]);
        return subtractNumbers(a, b);
      };
    }
    case '$divide':
    case '$mod': {
      const [left, right] = argumentList(operator, operand, { min: 2, max: 2 }) as [Expression, Expression];
      return (scope) => {
        const values = numericArguments(operator, [left(scope), right(scope)]);
        if (values === null) return null;
        const divisor = toNumber(values[1]);
        if (divisor === 0) throw badValue(operator === '$divide' ? "can't $divide by zero" : "can't $mod by zero");
        return operator === '$divide' ? new Double(toNumber(values[0]) / divisor) : numberValue(toNumber(values[0]) % divisor);
      };
    }
    case '$abs': {
      const [argument] = argumentList(operator, operand, { min: 1, max: 1 }) as [Expression];
      return (scope) => {
        const value = argument(scope);
        if (isNullish(value)) return null;
        numericArguments(operator, [value]);
        return numberValue(Math.abs(toNumber(value)));
      };
    }
    case '$concat': {
      const args = argumentList(operator, operand);
      return (scope) => {
        let result = '';
        for (const arg of args) {
          const value = arg(scope);
          if (isNullish(value)) return null;
          const text = stringOf(value);
          if (text === undefined) throw badValue(`$concat only supports strings, not ${typeName(value)}`);
          result += text;
        }
        return result;
      };
    }
    case '$toUpper':
    case '$toLower': {
      const [argument] = argumentList(operator, operand, { min: 1, max: 1 }) as [Expression];
      return (scope) => {
        const value = argument(scope);
        const text = isNullish(value) ? '' : (stringOf(value) ?? String(nullIfMissing(value)));
        return operator === '$toUpper' ? text.toUpperCase() : text.toLowerCase();
      };
    }
    case '$strLenCP': {
      const [argument] = argumentList(operator, operand, { min: 1, max: 1 }) as [Expression];
      return (scope) => {
        const text = stringOf(argument(scope));
        if (text === undefined) throw badValue('$strLenCP requires a string argument');
        return new Int32([...text].length);
      };
    }
    case '$toString': {
      const [argument] = argumentList(operator, operand, { min: 1, max: 1 }) as [Expression];
      return (scope) => {
        const value = argument(scope);
        if (isNullish(value)) return null;
        if (value instanceof Date) return value.toISOString();
        if (isNumeric(value)) return String(toNumber(value));
        return stringOf(value) ?? String(value);
      };
    }
    case '$eq':
    case '$ne':
    case '$gt':
    case '$gte':
    case '$lt':
    case '$lte':
    case '$cmp':
      return compileComparison(operator, operand);
    case '$and': {
      const args = argumentList(operator, operand);
      return (scope) => args.every((arg) => expressionTruthy(arg(scope)));
    }
    case '$or': {
      const args = argumentList(operator, operand);
      return (scope) => args.some((arg) => expressionTruthy(arg(scope)));
    }
    case '$not': {
      const [argument] = argumentList(operator, operand, { min: 1, max: 1 }) as [Expression];
      return (scope) => !expressionTruthy(argument(scope));
    }
    case '$cond': {
      let parts: unknown[];
      if (Array.isArray(operand)) parts = operand;
      else if (isDocument(operand)) parts = [operand.if, operand.then, operand.else];
      else throw badValue('$cond needs an array or an object with if, then and else');
      if (parts.length !== 3) throw invalid(`Expression $cond takes exactly 3 arguments. ${parts.length} were passed in.`);
      const [condition, whenTrue, whenFalse] = parts.map(compileExpression) as [Expression, Expression, Expression];
      return (scope) => (expressionTruthy(condition(scope)) ? whenTrue(scope) : whenFalse(scope));
    }
    case '$ifNull': {
      const args = argumentList(operator, operand, { min: 2 });
      return (scope) => {
        for (const arg of args.slice(0, -1)) {
          const value = arg(scope);
          if (!isNullish(value)) return value;
        }
        return args[args.length - 1]!(scope);
      };
    }
    case '$size': {
      const [argument] = argumentList(operator, operand, { min: 1, max: 1 }) as [Expression];
      return (scope) => {
        const value = argument(scope);
        if (!Array.isArray(value)) throw badValue(`The argument to $size must be an array. Type of argument: ${value === Missing ? 'missing' : typeName(value)}`);
        return new Int32(value.length);
      };
    }
    case '$arrayElemAt': {
      const [array, index] = argumentList(operator, operand, { min: 2, max: 2 }) as [Expression, Expression];
      return (scope) => {
        const value = array(scope);
        const position = index(scope);
        if (isNullish(value) || isNullish(position)) return null;
        if (!Array.isArray(value)) throw badValue(`$arrayElemAt's first argument must be an array, but is ${typeName(value)}`);
        const at = Math.trunc(toNumber(position));
        const element = at < 0 ? value[value.length + at] : value[at];
        return element === undefined ? Missing : element;
      };
    }
    case '$in': {
      const [needle, haystack] = argumentList(operator, operand, { min: 2, max: 2 }) as [Expression, Expression];
      return (scope) => {
        const list = haystack(scope);
        if (!Array.isArray(list)) throw badValue(`$in requires an array as a second argument, found: ${list === Missing ? 'missing' : typeName(list)}`);
        const value = nullIfMissing(needle(scope));
        return list.some((element) => valuesEqual(element, value));
      };
    }
    case '$first':
    case '$last': {
      const [argument] = argumentList(operator, operand, { min: 1, max: 1 }) as [Expression];
      return (scope) => {
        const value = argument(scope);
        if (isNullish(value)) return null;
        if (!Array.isArray(value)) throw badValue(`${operator}'s argument must be an array, but is ${typeName(value)}`);
        const element = operator === '$first' ? value[0] : value[value.length - 1];
        return element === undefined ? Missing : element;
      };
    }
    case '$sum':
    case '$avg':
    case '$min':
    case '$max':
      return compileArrayAccumulator(operator, operand);
    case '$type': {
      const [argument] = argumentList(operator, operand, { min: 1, max: 1 }) as [Expression];
      return (scope) => {
        const value = argument(scope);
        return value === Missing ? 'missing' : typeName(value);
      };
    }
    default:
      throw invalid(`Unrecognized expression '${operator}'`);
  }
}
