import { Timestamp } from 'bson';
import { CommandError, ErrorCodes } from '../errors/index.js';
import {
  addNumbers,
  compareValues,
  copyDocument,
  integerResult,
  isDocument,
  isNumeric,
  multiplyNumbers,
  numericKind,
  toNumber,
  typeName,
  valuesEqual,
  Double,
  Long,
  type Document,
} from '../values/index.js';
import { compileFilter, equalityFields, isOperatorObject } from './matcher.js';
import { isArrayIndex, Missing } from './paths.js';
import { compilePipeline, type PipelineContext } from './pipeline.js';
import { compileSort } from './sort.js';

/** What an update does to one document. */
export interface CompiledUpdate {
  kind: 'replacement' | 'operators' | 'pipeline';
  /**
   * Returns the updated document (the input is not changed). `inserting` is true when the
   * document is being created by an upsert, so `$setOnInsert` applies.
   */
  apply(document: Document, inserting: boolean): Document;
}

const supportedOperators = new Set(['$set', '$unset', '$inc', '$mul', '$min', '$max', '$push', '$addToSet', '$pop', '$pull', '$rename', '$currentDate', '$setOnInsert']);

const failedToParse = (message: string): CommandError => new CommandError(ErrorCodes.FailedToParse, message);

/**
 * Compiles an update (`u` of an update statement): a replacement document, an operator document
 * (`$set $unset $inc $mul $min $max $push $addToSet $pop $pull $rename $currentDate
 * $setOnInsert`) or a pipeline of `$set`/`$addFields`/`$unset`/`$project`/`$replaceWith` stages.
 * Errors carry mongod's codes: FailedToParse for an unknown modifier, ConflictingUpdateOperators,
 * TypeMismatch for `$inc` on a string, ImmutableField for an `_id` change, and so on.
 */
export function compileUpdate(update: unknown, context?: PipelineContext): CompiledUpdate {
  if (Array.isArray(update)) return compilePipelineUpdate(update, context);
  if (!isDocument(update)) throw failedToParse('Update argument must be either an object or an array');
  const keys = Object.keys(update);
  if (keys.length === 0 || !keys[0]!.startsWith('$')) return compileReplacement(update);
  return compileOperatorUpdate(update);
}

function compileReplacement(replacement: Document): CompiledUpdate {
  for (const key of Object.keys(replacement)) {
    if (key.startsWith('$')) {
      throw new CommandError(
        ErrorCodes.DollarPrefixedFieldName,
        `The dollar ($) prefixed field '${key}' in '${key}' is not allowed in the context of an update's replacement document. Consider using an aggregation pipeline with $replaceWith.`,
      );
    }
  }
  return {
    kind: 'replacement',
    apply: (document) => {
      const result: Document = {};
      if (Object.hasOwn(document, '_id')) result._id = document._id;
      const copy = copyDocument(replacement);
      if (Object.hasOwn(copy, '_id') && Object.hasOwn(result, '_id') && !valuesEqual(copy._id, result._id)) {
        throw new CommandError(
          ErrorCodes.ImmutableField,
          `After applying the update, the (immutable) field '_id' was found to have been altered to _id: ${describeValue(copy._id)}`,
        );
      }
      for (const [key, value] of Object.entries(copy)) if (key !== '_id' || !Object.hasOwn(result, '_id')) result[key] = value;
      return result;
    },
  };
}

interface FieldUpdate {
  operator: string;
  path: string;
  components: string[];
  argument: unknown;
}

function compareComponents(a: string[], b: string[]): number {
  for (let index = 0; index < Math.min(a.length, b.length); index += 1) {
    const x = a[index]!;
    const y = b[index]!;
    if (x === y) continue;
    if (isArrayIndex(x) && isArrayIndex(y)) return Number(x) - Number(y);
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

function compileOperatorUpdate(update: Document): CompiledUpdate {
  const fieldUpdates: FieldUpdate[] = [];
  for (const [operator, fields] of Object.entries(update)) {
    if (!operator.startsWith('$') || !supportedOperators.has(operator)) {
      throw failedToParse(`Unknown modifier: ${operator}. Expected a valid update modifier or pipeline-style update specified as an array`);
    }
    if (!isDocument(fields)) {
      throw failedToParse(`Modifiers operate on fields but we found type ${typeName(fields)} instead. For example: {$mod: {<field>: ...}} not {${operator}: ${describeValue(fields)}}`);
    }
    for (const [path, argument] of Object.entries(fields)) {
      const components = path.split('.');
      if (path === '' || components.some((component) => component === '')) {
        throw new CommandError(ErrorCodes.EmptyFieldName, `An update path '${path}' contains an empty field name, which is not allowed.`);
      }
      validateArgument(operator, path, argument);
      fieldUpdates.push({ operator, path, components, argument });
      if (operator === '$rename') {
        const target = argument as string;
        fieldUpdates.push({ operator: '$renameTarget', path: target, components: target.split('.'), argument: path });
      }
    }
  }
  fieldUpdates.sort((a, b) => compareComponents(a.components, b.components));
  for (let index = 1; index < fieldUpdates.length; index += 1) {
    const previous = fieldUpdates[index - 1]!;
    const current = fieldUpdates[index]!;
    const prefix = previous.components.length <= current.components.length && previous.components.every((component, position) => current.components[position] === component);
    if (prefix) throw new CommandError(ErrorCodes.ConflictingUpdateOperators, `Updating the path '${current.path}' would create a conflict at '${previous.path}'`);
  }
  return {
    kind: 'operators',
    apply: (original, inserting) => {
      const document = copyDocument(original);
      for (const fieldUpdate of fieldUpdates) applyFieldUpdate(document, fieldUpdate, inserting, original);
      if (!inserting && Object.hasOwn(original, '_id') && !(Object.hasOwn(document, '_id') && valuesEqual(document._id, original._id) && typeName(document._id) === typeName(original._id))) {
        throw new CommandError(ErrorCodes.ImmutableField, "Performing an update on the path '_id' would modify the immutable field '_id'");
      }
      return document;
    },
  };
}

function validateArgument(operator: string, path: string, argument: unknown): void {
  switch (operator) {
    case '$inc':
    case '$mul':
      if (!isNumeric(argument)) {
        throw new CommandError(ErrorCodes.TypeMismatch, `Cannot ${operator === '$inc' ? 'increment' : 'multiply'} with non-numeric argument: {${path}: ${describeValue(argument)}}`);
      }
      return;
    case '$rename':
      if (typeof argument !== 'string') throw new CommandError(ErrorCodes.BadValue, `The 'to' field for $rename must be a string: ${path}: ${describeValue(argument)}`);
      if (argument === path) throw new CommandError(ErrorCodes.BadValue, `The source and target field for $rename must differ: ${path}: "${argument}"`);
      return;
    case '$pop':
      if (!isNumeric(argument) || Math.abs(toNumber(argument)) !== 1) throw failedToParse(`$pop expects 1 or -1, found: ${describeValue(argument)}`);
      return;
    case '$currentDate': {
      const ok = typeof argument === 'boolean' || (isDocument(argument) && (argument.$type === 'date' || argument.$type === 'timestamp'));
      if (!ok) throw new CommandError(ErrorCodes.BadValue, `${describeValue(argument)} is not valid type for $currentDate. Please use a boolean ('true') or a $type expression ({$type: 'timestamp/date'}).`);
      return;
    }
    case '$push':
    case '$addToSet':
      if (isDocument(argument) && Object.hasOwn(argument, '$each') && !Array.isArray(argument.$each)) {
        throw new CommandError(ErrorCodes.BadValue, `The argument to $each in ${operator} must be an array but it was of type: ${typeName(argument.$each)}`);
      }
      return;
  }
}

/** A short, JSON-like rendering of a value for error messages. */
export function describeValue(value: unknown): string {
  try {
    return JSON.stringify(value, (_key, inner) => (typeof inner === 'bigint' ? inner.toString() : inner)) ?? String(value);
  } catch {
    return String(value);
  }
}

/** The container holding the last component of a path, created on the way when `create`. */
function locate(document: Document, components: string[], create: boolean): { container: Document | unknown[]; key: string } | undefined {
  let current: Document | unknown[] = document;
  for (let index = 0; index < components.length - 1; index += 1) {
    const component = components[index]!;
    let next: unknown;
    if (Array.isArray(current)) {
      if (!isArrayIndex(component)) {
        throw new CommandError(ErrorCodes.PathNotViable, `Cannot create field '${component}' in element {${components.slice(0, index).join('.')}: ${describeValue(current)}}`);
      }
      next = current[Number(component)];
    } else {
      next = Object.hasOwn(current, component) ? current[component] : undefined;
    }
    if (next === undefined) {
      if (!create) return undefined;
      next = {};
      assign(current, component, next);
    } else if (!isDocument(next) && !Array.isArray(next)) {
      if (!create) return undefined;
      throw new CommandError(ErrorCodes.PathNotViable, `Cannot create field '${components[index + 1]}' in element {${component}: ${describeValue(next)}}`, {}, undefined);
    }
    current = next as Document | unknown[];
  }
  return { container: current, key: components[components.length - 1]! };
}

function assign(container: Document | unknown[], key: string, value: unknown): void {
  if (Array.isArray(container)) {
    if (!isArrayIndex(key)) throw new CommandError(ErrorCodes.PathNotViable, `Cannot create field '${key}' in an array`);
    const position = Number(key);
    while (container.length < position) container.push(null);
    container[position] = value;
  } else {
    container[key] = value;
  }
}

function read(container: Document | unknown[], key: string): unknown | Missing {
  if (Array.isArray(container)) {
    if (!isArrayIndex(key)) return Missing;
    const position = Number(key);
    return position < container.length ? container[position] : Missing;
  }
  return Object.hasOwn(container, key) ? container[key] : Missing;
}

function unset(container: Document | unknown[], key: string): void {
  if (Array.isArray(container)) {
    // mongod keeps array positions: an unset element becomes null.
    if (isArrayIndex(key) && Number(key) < container.length) container[Number(key)] = null;
  } else {
    delete container[key];
  }
}

function nonArrayError(path: string, value: unknown, original: Document): CommandError {
  return new CommandError(
    ErrorCodes.BadValue,
    `The field '${path}' must be an array but is of type ${typeName(value)} in document {_id: ${describeValue(original._id)}}`,
  );
}

function applyFieldUpdate(document: Document, update: FieldUpdate, inserting: boolean, original: Document): void {
  const { operator, components, argument, path } = update;
  if (operator === '$setOnInsert' && !inserting) return;
  if (operator === '$renameTarget') return;
  const needsCreate = !['$unset', '$pop', '$pull', '$rename'].includes(operator);
  const location = locate(document, components, needsCreate);
  if (location === undefined) return;
  const { container, key } = location;
  const existing = read(container, key);
  switch (operator) {
    case '$set':
    case '$setOnInsert':
      assign(container, key, cloneValue(argument));
      return;
    case '$unset':
      if (existing !== Missing) unset(container, key);
      return;
    case '$inc':
    case '$mul': {
      if (existing === Missing) {
        assign(container, key, operator === '$inc' ? argument : zeroLike(argument));
        return;
      }
      if (!isNumeric(existing)) {
        throw new CommandError(
          ErrorCodes.TypeMismatch,
          `Cannot apply ${operator} to a value of non-numeric type. {_id: ${describeValue(original._id)}} has the field '${key}' of non-numeric type ${typeName(existing)}`,
        );
      }
      assign(container, key, operator === '$inc' ? addNumbers(existing, argument) : multiplyNumbers(existing, argument));
      return;
    }
    case '$min':
    case '$max':
      if (existing === Missing || compareValues(argument, existing) === (operator === '$min' ? -1 : 1)) assign(container, key, cloneValue(argument));
      return;
    case '$currentDate':
      assign(container, key, isDocument(argument) && argument.$type === 'timestamp' ? new Timestamp({ t: Math.floor(Date.now() / 1000), i: 1 }) : new Date());
      return;
    case '$push':
    case '$addToSet': {
      if (existing !== Missing && !Array.isArray(existing)) throw nonArrayError(path, existing, original);
      const array = existing === Missing ? [] : (existing as unknown[]);
      const modifiers = isDocument(argument) && Object.hasOwn(argument, '$each') ? argument : undefined;
      const values = (modifiers ? (modifiers.$each as unknown[]) : [argument]).map(cloneValue);
      if (operator === '$addToSet') {
        for (const value of values) if (!array.some((element) => valuesEqual(element, value))) array.push(value);
      } else {
        const position = modifiers?.$position !== undefined ? Math.trunc(toNumber(modifiers.$position)) : array.length;
        const at = position < 0 ? Math.max(array.length + position, 0) : Math.min(position, array.length);
        array.splice(at, 0, ...values);
        if (modifiers?.$sort !== undefined) sortArray(array, modifiers.$sort);
        if (modifiers?.$slice !== undefined) {
          const slice = Math.trunc(toNumber(modifiers.$slice));
          const kept = slice >= 0 ? array.slice(0, slice) : array.slice(Math.max(array.length + slice, 0));
          array.splice(0, array.length, ...kept);
        }
      }
      if (existing === Missing) assign(container, key, array);
      return;
    }
    case '$pop': {
      if (existing === Missing) return;
      if (!Array.isArray(existing)) throw nonArrayError(path, existing, original);
      if (toNumber(argument) === 1) existing.pop();
      else existing.shift();
      return;
    }
    case '$pull': {
      if (existing === Missing) return;
      if (!Array.isArray(existing)) throw nonArrayError(path, existing, original);
      const matches = pullMatcher(argument);
      const kept = existing.filter((element) => !matches(element));
      existing.splice(0, existing.length, ...kept);
      return;
    }
    case '$rename': {
      if (existing === Missing) return;
      unset(container, key);
      const targetComponents = (argument as string).split('.');
      const target = locate(document, targetComponents, true)!;
      assign(target.container, target.key, existing);
      return;
    }
  }
}

function zeroLike(argument: unknown): unknown {
  switch (numericKind(argument)) {
    case 'long':
      return Long.fromNumber(0);
    case 'double':
    case 'decimal':
      return new Double(0);
    default:
      return integerResult(0n);
  }
}

function cloneValue(value: unknown): unknown {
  if (isDocument(value)) return copyDocument(value);
  if (Array.isArray(value)) return (copyDocument({ value }) as { value: unknown[] }).value;
  return value;
}

function sortArray(array: unknown[], specification: unknown): void {
  if (isNumeric(specification)) {
    const direction = toNumber(specification) < 0 ? -1 : 1;
    array.sort((a, b) => compareValues(a, b) * direction);
    return;
  }
  const sort = compileSort(specification);
  if (sort) array.sort((a, b) => (isDocument(a) && isDocument(b) ? sort.compare(a, b) : compareValues(a, b)));
}

/** `$pull`'s condition: a query on documents, a condition on values, or a value to equal. */
function pullMatcher(condition: unknown): (element: unknown) => boolean {
  if (isOperatorObject(condition)) {
    const matcher = compileFilter({ value: condition });
    return (element) => matcher({ value: element });
  }
  if (isDocument(condition)) {
    const matcher = compileFilter(condition);
    return (element) => isDocument(element) && matcher(element);
  }
  return (element) => valuesEqual(element, condition);
}

function compilePipelineUpdate(stages: unknown[], context?: PipelineContext): CompiledUpdate {
  const allowed = new Set(['$addFields', '$set', '$project', '$unset', '$replaceRoot', '$replaceWith']);
  for (const stage of stages) {
    const name = isDocument(stage) ? Object.keys(stage)[0] : undefined;
    if (name === undefined || !allowed.has(name)) {
      throw new CommandError(ErrorCodes.InvalidOptions, `${name ?? 'stage'} is not allowed to be used within an update`);
    }
  }
  const pipeline = compilePipeline(stages, context);
  return {
    kind: 'pipeline',
    apply: (document) => {
      const [result] = [...pipeline([copyDocument(document)])];
      if (result === undefined) return document;
      if (Object.hasOwn(document, '_id') && !(Object.hasOwn(result, '_id') && valuesEqual(result._id, document._id))) {
        throw new CommandError(ErrorCodes.ImmutableField, "Performing an update on the path '_id' would modify the immutable field '_id'");
      }
      return result;
    },
  };
}

/**
 * The document an upsert starts from: the filter's equality fields (dotted paths become
 * embedded documents), before the update is applied, as mongod builds it.
 */
export function upsertSeed(filter: unknown): Document {
  const seed: Document = {};
  for (const [path, value] of equalityFields(filter)) {
    const components = path.split('.');
    if (components[0]!.startsWith('$')) continue;
    try {
      const location = locate(seed, components, true);
      if (location) assign(location.container, location.key, cloneValue(value));
    } catch {
      // Conflicting equality paths (`a` and `a.b`): mongod leaves the later one out too.
    }
  }
  return seed;
}
