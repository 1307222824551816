import { Int32, Long } from 'bson';
import { CommandError, LocationCodes } from '../errors/index.js';
import { compareValues, copyDocument, encodeKey, isDocument, isNumeric, toNumber, valuesEqual, type Document } from '../values/index.js';
import { accumulate, compileExpression, type Expression, type ExpressionScope } from './expressions.js';
import { compileFilter } from './matcher.js';
import { Missing, valueAt } from './paths.js';
import { compileProjection } from './projection.js';
import { parseSort, sortKeyValue, type SortField } from './sort.js';

/** Settings shared by every stage of one pipeline. */
export interface PipelineContext {
  /** The value of `$$NOW` (fixed for the whole pipeline, as in mongod). */
  now?: Date;
  /**
   * Sees the output of stage `index` as it streams (explain counts and times each stage with
   * it); returns the stream the next stage reads.
   */
  observe?: (index: number, output: Iterable<Document>) => Iterable<Document>;
}

/** A stage: a lazy transformation of a document stream. */
export type Stage = (input: Iterable<Document>) => Iterable<Document>;

/** A compiled pipeline. */
export type Pipeline = (input: Iterable<Document>) => Iterable<Document>;

const stageError = (code: number, message: string): CommandError => new CommandError(code, message);

/**
 * Compiles an aggregation pipeline. Streaming stages (`$match $project $addFields $set $unset
 * $skip $limit $unwind $replaceRoot $replaceWith`) pass documents through one at a time;
 * `$sort`, `$group` and `$count` consume their input first. A `$sort` followed by a `$limit`
 * keeps only the top documents, so its memory is bounded by the limit.
 */
export function compilePipeline(stages: unknown[], context: PipelineContext = {}): Pipeline {
  const now = context.now ?? new Date();
  const compiled: Stage[] = [];
  for (let index = 0; index < stages.length; index += 1) {
    const stage = stages[index];
    if (!isDocument(stage) || Object.keys(stage).length !== 1) {
      throw stageError(LocationCodes.PipelineStageNotOneField, 'A pipeline stage specification object must contain exactly one field.');
    }
    const [name, argument] = Object.entries(stage)[0]!;
    if (name === '$sort') {
      // Fold a following $limit (and the $skip before it) into the sort as a top-k bound.
      const next = stages[index + 1];
      const limit = isDocument(next) && next.$limit !== undefined && isNumeric(next.$limit) ? toNumber(next.$limit) : undefined;
      compiled.push(sortStage(parseSort(argument), limit));
      continue;
    }
    compiled.push(compileStage(name, argument, now));
  }
  const observe = context.observe;
  if (observe === undefined) return (input) => compiled.reduce<Iterable<Document>>((stream, stage) => stage(stream), input);
  return (input) => compiled.reduce<Iterable<Document>>((stream, stage, index) => observe(index, stage(stream)), input);
}

function compileStage(name: string, argument: unknown, now: Date): Stage {
  switch (name) {
    case '$match': {
      if (!isDocument(argument)) throw stageError(15959, 'the match filter must be an expression in an object');
      const matcher = compileFilter(argument);
      return function* (input) {
        for (const document of input) if (matcher(document)) yield document;
      };
    }
    case '$project': {
      if (!isDocument(argument) || Object.keys(argument).length === 0) throw stageError(51272, '$project specification must have at least one field');
      const projector = compileProjection(argument, '$project')!;
      return mapStage(projector);
    }
    case '$addFields':
    case '$set': {
      if (!isDocument(argument)) throw stageError(40272, `${name} specification stage must be an object, got ${typeof argument}`);
      const fields = Object.entries(argument).map(([path, expression]) => [path.split('.'), compileExpression(expression)] as const);
      return mapStage((document) => {
        const result = copyDocument(document);
        const scope: ExpressionScope = { root: document, current: document, now };
        for (const [components, expression] of fields) setPath(result, components, expression(scope));
        return result;
      });
    }
    case '$unset': {
      const paths = typeof argument === 'string' ? [argument] : argument;
      if (!Array.isArray(paths) || paths.length === 0 || !paths.every((path) => typeof path === 'string')) {
        throw stageError(31002, '$unset specification must be a string or an array containing only string values');
      }
      const projector = compileProjection(Object.fromEntries(paths.map((path) => [path, 0])), '$unset')!;
      return mapStage(projector);
    }
    case '$skip': {
      const count = nonNegativeInteger(argument, '$skip');
      return function* (input) {
        let skipped = 0;
        for (const document of input) {
          if (skipped < count) skipped += 1;
          else yield document;
        }
      };
    }
    case '$limit': {
      if (!isNumeric(argument)) throw stageError(LocationCodes.StageValueNotNumber, 'the limit must be specified as a number');
      const count = toNumber(argument);
      if (!Number.isInteger(count) || count <= 0) throw stageError(LocationCodes.NonPositiveLimit, 'the limit must be positive');
      return function* (input) {
        if (count <= 0) return;
        let taken = 0;
        for (const document of input) {
          yield document;
          taken += 1;
          if (taken >= count) return;
        }
      };
    }
    case '$count': {
      if (typeof argument !== 'string' || argument === '') throw stageError(LocationCodes.BadCountField, 'the count field must be a non-empty string');
      if (argument.startsWith('$')) throw stageError(40158, "the count field cannot be a $-prefixed path");
      if (argument.includes('.')) throw stageError(40160, "the count field cannot contain '.'");
      return function* (input) {
        let count = 0;
        for (const document of input) {
          void document;
          count += 1;
        }
        // Like mongod, an empty input gives no document at all rather than a count of 0.
        if (count > 0) yield { [argument]: new Int32(count) };
      };
    }
    case '$group':
      return groupStage(argument, now);
    case '$unwind':
      return unwindStage(argument);
    case '$replaceRoot':
    case '$replaceWith': {
      const expression = compileExpression(name === '$replaceRoot' ? (isDocument(argument) ? argument.newRoot : undefined) : argument);
      return mapStage((document) => {
        const value = expression({ root: document, current: document, now });
        if (!isDocument(value)) {
          throw stageError(40228, `'newRoot' expression must evaluate to an object, but resulting value was: ${value === Missing ? 'MISSING' : String(value)}`);
        }
        return value;
      });
    }
    case '$lookup':
    case '$facet':
    case '$out':
    case '$merge':
    case '$graphLookup':
    case '$unionWith':
    case '$bucket':
    case '$sample':
      throw stageError(LocationCodes.UnrecognizedPipelineStage, `${name} is not supported by this server`);
    default:
      throw stageError(LocationCodes.UnrecognizedPipelineStage, `Unrecognized pipeline stage name: '${name}'`);
  }
}

function mapStage(transform: (document: Document) => Document): Stage {
  return function* (input) {
    for (const document of input) yield transform(document);
  };
}

function nonNegativeInteger(value: unknown, stage: string): number {
  if (!isNumeric(value)) throw stageError(LocationCodes.StageValueNotNumber, `${stage} value must be a number`);
  const count = toNumber(value);
  if (!Number.isInteger(count) || count < 0) throw stageError(LocationCodes.NegativeValue, `invalid argument to ${stage} stage: Expected a non-negative number`);
  return count;
}

/** Sets (or, for `Missing`, removes) the value at a dotted path, creating documents on the way. */
function setPath(document: Document, components: string[], value: unknown | Missing): void {
  let current: Document = document;
  for (const component of components.slice(0, -1)) {
    const next = current[component];
    if (!isDocument(next)) {
      if (value === Missing) return;
      current[component] = {};
    }
    current = current[component] as Document;
  }
  const last = components[components.length - 1]!;
  if (value === Missing) delete current[last];
  else current[last] = value;
}

/**
 * Sorts documents. With a limit, only the top `limit` documents are kept while reading, so a
 * sort with a limit needs memory for the limit and not for the input.
 */
export function sortStage(fields: SortField[], limit?: number): Stage {
  if (fields.length === 0) throw stageError(15976, '$sort stage must have at least one sort key');
  return function* (input) {
    const decorated: { keys: unknown[]; document: Document; sequence: number }[] = [];
    const compare = (a: (typeof decorated)[number], b: (typeof decorated)[number]): number => {
      for (let index = 0; index < fields.length; index += 1) {
        const order = compareValues(a.keys[index], b.keys[index]);
        if (order !== 0) return order * fields[index]!.direction;
      }
      return a.sequence - b.sequence;
    };
    let sequence = 0;
    for (const document of input) {
      const entry = { keys: fields.map((field) => sortKeyValue(document, field)), document, sequence: sequence++ };
      if (limit === undefined) {
        decorated.push(entry);
        continue;
      }
      if (decorated.length === limit && compare(entry, decorated[decorated.length - 1]!) >= 0) continue;
      // Binary insertion keeps the top `limit` in order.
      let low = 0;
      let high = decorated.length;
      while (low < high) {
        const middle = (low + high) >>> 1;
        if (compare(decorated[middle]!, entry) <= 0) low = middle + 1;
        else high = middle;
      }
      decorated.splice(low, 0, entry);
      if (decorated.length > limit) decorated.pop();
    }
    if (limit === undefined) decorated.sort(compare);
    for (const entry of decorated) yield entry.document;
  };
}

interface Accumulator {
  field: string;
  operator: string;
  expression: Expression;
}

const groupOperators = new Set(['$sum', '$avg', '$min', '$max', '$first', '$last', '$push', '$addToSet', '$count']);

function groupStage(argument: unknown, now: Date): Stage {
  if (!isDocument(argument)) throw stageError(15947, 'a group\'s fields must be specified in an object');
  if (!Object.hasOwn(argument, '_id')) throw stageError(LocationCodes.GroupWithoutId, 'a group specification must include an _id');
  const keyExpression = compileExpression(argument._id);
  const accumulators: Accumulator[] = [];
  for (const [field, specification] of Object.entries(argument)) {
    if (field === '_id') continue;
    if (field.includes('.')) throw stageError(40235, `The field name '${field}' cannot contain '.'`);
    if (!isDocument(specification) || Object.keys(specification).length !== 1) {
      throw stageError(40234, `The field '${field}' must be an accumulator object`);
    }
    const [operator, operand] = Object.entries(specification)[0]!;
    if (!groupOperators.has(operator)) throw stageError(LocationCodes.UnknownGroupOperator, `unknown group operator '${operator}'`);
    const expression = operator === '$count' ? () => new Int32(1) : compileExpression(operand);
    accumulators.push({ field, operator: operator === '$count' ? '$sum' : operator, expression });
  }
  return function* (input) {
    const groups = new Map<string, { key: unknown; values: unknown[][] }>();
    for (const document of input) {
      const scope: ExpressionScope = { root: document, current: document, now };
      const rawKey = keyExpression(scope);
      const key = rawKey === Missing ? null : rawKey;
      const identity = encodeKey(key).toString('latin1');
      let group = groups.get(identity);
      if (group === undefined) {
        group = { key, values: accumulators.map(() => []) };
        groups.set(identity, group);
      }
      accumulators.forEach((accumulator, index) => {
        const value = accumulator.expression(scope);
        group!.values[index]!.push(value);
      });
    }
    for (const group of groups.values()) {
      const result: Document = { _id: group.key };
      accumulators.forEach((accumulator, index) => {
        result[accumulator.field] = finishAccumulator(accumulator.operator, group.values[index]!);
      });
      yield result;
    }
  };
}

function finishAccumulator(operator: string, values: unknown[]): unknown {
  switch (operator) {
    case '$first':
      return values.length === 0 || values[0] === Missing ? null : values[0];
    case '$last':
      return values.length === 0 || values[values.length - 1] === Missing ? null : values[values.length - 1];
    case '$push':
      return values.filter((value) => value !== Missing);
    case '$addToSet': {
      const set: unknown[] = [];
      for (const value of values) if (value !== Missing && !set.some((existing) => valuesEqual(existing, value))) set.push(value);
      return set;
    }
    default:
      return accumulate(operator, values.filter((value) => value !== Missing));
  }
}

function unwindStage(argument: unknown): Stage {
  const options = typeof argument === 'string' ? { path: argument } : argument;
  if (!isDocument(options) || typeof options.path !== 'string' || !options.path.startsWith('$')) {
    throw stageError(28818, "path option to $unwind stage should be prefixed with a '$'");
  }
  const components = options.path.slice(1).split('.');
  const preserve = options.preserveNullAndEmptyArrays === true;
  const indexField = typeof options.includeArrayIndex === 'string' ? options.includeArrayIndex : undefined;
  return function* (input) {
    for (const document of input) {
      const value = valueAt(document, components);
      if (Array.isArray(value) && value.length > 0) {
        for (const [position, element] of value.entries()) {
          const copy = copyDocument(document);
          setPath(copy, components, element);
          // mongod reports the index as a NumberLong.
          if (indexField) copy[indexField] = Long.fromNumber(position);
          yield copy;
        }
      } else if (Array.isArray(value) || value === Missing || value === null || value === undefined) {
        if (preserve) {
          const copy = copyDocument(document);
          if (Array.isArray(value)) setPath(copy, components, Missing);
          if (indexField) copy[indexField] = null;
          yield copy;
        }
      } else {
        const copy = indexField ? copyDocument(document) : document;
        if (indexField) copy[indexField] = null;
        yield copy;
      }
    }
  };
}
