import { Double, Int32, Long, ObjectId } from 'bson';
import { compileFilter, compileProjection, isOperatorObject, parseSort, planAccess, sortStage, type AccessPlan } from '../query/index.js';
import type { CollectionEntry, Storage } from '../storage/index.js';
import { isDocument, regexParts, TypeOrder, type Document } from '../values/index.js';

/** What a find (or a count) selects. */
export interface FindSpecification {
  filter?: Document;
  sort?: Document;
  projection?: Document;
  skip?: number;
  limit?: number;
}

/** Explain verbosities, from least to most. */
export type Verbosity = 'queryPlanner' | 'executionStats' | 'allPlansExecution';

/**
 * The stage an `_id` equality runs as, by command, as mongod 8.0 names it: `find` (and an
 * aggregation that is only a `$match`) takes the express path, `EXPRESS_IXSCAN`; `count` and
 * a find with a projection, a sort or a skip take the classic `IDHACK`. Both are one point lookup.
 */
export type PointLookupStage = 'EXPRESS_IXSCAN' | 'IDHACK';

/**
 * One stage of a query plan as it runs: mongod's explain name, what it was given, and the
 * counters the running query moves. Commands run their queries through these stages whether or
 * not they are explained, so an explain reports the plan that really ran.
 */
export class PlanStage {
  /** Documents (or, for a count, nothing) handed to the stage above. */
  nReturned = 0;
  /** Units of work: a record or key read, a document taken from the input, the end. */
  works = 0;
  keysExamined = 0;
  docsExamined = 0;
  /** Point lookups or range positionings of an index scan. */
  seeks = 0;
  /** For COUNT and RECORD_STORE_FAST_COUNT. */
  nCounted = 0;
  nSkipped = 0;
  isEOF = false;
  /** Milliseconds spent producing this stage's output, its inputs included (measured only when explaining). */
  elapsedMillis = 0;

  constructor(
    readonly stage: string,
    /** Fields known before running, in mongod's order (`filter` is placed apart). */
    readonly details: Document = {},
    readonly input?: PlanStage,
    readonly filter?: Document,
  ) {}

  /** This stage and those below it, top first. */
  *stages(): Generator<PlanStage> {
    yield this;
    if (this.input) yield* this.input.stages();
  }
}

/** A planned query: its stage tree and its documents, read lazily through the stages. */
export interface PlannedQuery {
  root: PlanStage;
  documents: Iterable<Document>;
}

/** Options of a planned query. */
export interface PlanOptions {
  pointStage: PointLookupStage;
  /** Measure each stage's time (explain only: two clock reads per document and stage). */
  timed?: boolean;
}

/**
 * Plans and runs (lazily) a find: the access (COLLSCAN, an `_id` point lookup, or FETCH over an
 * `_id` index scan for several keys or a key range), then SORT, SKIP, LIMIT and a projection. A
 * sort on the key field alone follows key order (a forward or backward scan) and streams.
 */
export function planFind(storage: Storage, entry: CollectionEntry | undefined, specification: FindSpecification, options: PlanOptions): PlannedQuery {
  // Validate everything before the first document is read, so errors come with the first reply.
  const sortFields = parseSort(specification.sort);
  const projector = compileProjection(specification.projection);
  compileFilter(specification.filter);
  const skip = specification.skip ?? 0;
  const limit = specification.limit !== undefined && specification.limit > 0 ? specification.limit : undefined;
  if (entry === undefined) return { root: endOfFile(), documents: [] };
  const keyOrdered = sortFields.length === 1 && sortFields[0]!.path === entry.keyField;
  const express = options.pointStage === 'EXPRESS_IXSCAN' && sortFields.length === 0 && skip === 0 && projector === undefined;
  const access = planAccessStage(storage, entry, specification.filter, keyOrdered && sortFields[0]!.direction === -1, {
    pointStage: express ? 'EXPRESS_IXSCAN' : 'IDHACK',
    timed: options.timed,
  });
  let root = access.root;
  let documents = access.documents;
  // The express path returns at most one document: a limit changes nothing and mongod shows none.
  if (root.stage === 'EXPRESS_IXSCAN') return { root, documents };
  if (sortFields.length > 0 && !keyOrdered) {
    const sortPattern = Object.fromEntries(sortFields.map((field) => [field.path, field.direction]));
    const sort = new PlanStage('SORT', { sortPattern, ...(limit === undefined ? {} : { limitAmount: limit + skip }), type: 'default' }, root);
    documents = throughStage(sort, sortStage(sortFields, limit === undefined ? undefined : limit + skip), documents, options.timed);
    root = sort;
  }
  if (skip > 0) {
    const skipStage = new PlanStage('SKIP', { skipAmount: skip }, root);
    documents = throughStage(skipStage, (input) => skipDocuments(input, skip), documents, options.timed);
    root = skipStage;
  }
  if (limit !== undefined) {
    const limitStage = new PlanStage('LIMIT', { limitAmount: limit }, root);
    documents = throughStage(limitStage, (input) => limitDocuments(input, limit), documents, options.timed);
    root = limitStage;
  }
  if (projector !== undefined) {
    const projection = new PlanStage('PROJECTION_DEFAULT', { transformBy: specification.projection! }, root);
    documents = throughStage(projection, (input) => mapDocuments(input, projector), documents, options.timed);
    root = projection;
  }
  return { root, documents };
}

/**
 * The access stage for `filter` on `entry` with its records: the filter is applied here (as in
 * mongod's COLLSCAN and FETCH), so only matching records come out.
 *
 * - `planAccess` finds no key condition: COLLSCAN reads every record (`docsExamined` = all).
 * - A lone equality on `_id`: one point lookup (`pointStage`, 1 key and 1 document at most).
 * - Several keys (`$in`), a key range, or a key condition with other conditions: IXSCAN over the
 *   `_id` index (point lookups or one bounded range read of the table, which is kept in key
 *   order) under FETCH, which applies the rest of the filter.
 */
export function planAccessStage(
  storage: Storage,
  entry: CollectionEntry,
  filter: Document | undefined,
  reverse: boolean,
  options: PlanOptions,
): { root: PlanStage; records: Iterable<{ key: Buffer; document: Document }>; documents: Iterable<Document> } {
  const matcher = compileFilter(filter);
  const plan: AccessPlan = planAccess(filter, entry.keyField);
  const parsed = parsedQuery(filter);
  const direction = reverse ? 'backward' : 'forward';
  let root: PlanStage;
  let records: Iterable<{ key: Buffer; document: Document }>;
  if (plan.kind === 'scan') {
    const scan = new PlanStage('COLLSCAN', { direction }, undefined, Object.keys(parsed).length > 0 ? parsed : undefined);
    root = scan;
    records = examine(storage.scan(entry, plan, reverse), matcher, [scan], () => {
      scan.works += 1;
      scan.docsExamined += 1;
    });
  } else if (plan.kind === 'points' && plan.values.length === 1 && entry.keyField === '_id' && isLoneKeyEquality(filter, entry.keyField)) {
    const lookup = new PlanStage(options.pointStage, options.pointStage === 'EXPRESS_IXSCAN' ? { keyPattern: '{ _id: 1 }', indexName: '_id_' } : {});
    root = lookup;
    records = examine(storage.scan(entry, plan, reverse), matcher, [lookup], () => {
      lookup.works += 1;
      lookup.keysExamined += 1;
      lookup.docsExamined += 1;
    });
  } else {
    const residual = residualFilter(filter, entry.keyField);
    const scan = new PlanStage('IXSCAN', indexScanDetails(entry.keyField, plan, direction));
    const fetch = new PlanStage('FETCH', {}, scan, residual);
    root = fetch;
    scan.seeks = plan.kind === 'points' ? plan.values.length : 1;
    records = examine(storage.scan(entry, plan, reverse), matcher, [scan, fetch], () => {
      scan.works += 1;
      scan.keysExamined += 1;
      scan.nReturned += 1;
      fetch.works += 1;
      fetch.docsExamined += 1;
    });
  }
  const counted = (function* () {
    for (const record of records) {
      root.nReturned += 1;
      yield record;
    }
  })();
  const timedRecords = options.timed ? timeStage(root, counted) : counted;
  return {
    root,
    records: timedRecords,
    documents: (function* () {
      for (const record of timedRecords) yield record.document;
    })(),
  };
}

/**
 * The records `matcher` accepts among those read, calling `count` for each record read and
 * ending `stages` (one last unit of work each) once the reads are done.
 */
function* examine<T extends { document: Document }>(read: Iterable<T>, matcher: (document: Document) => boolean, stages: PlanStage[], count: () => void): Generator<T> {
  for (const record of read) {
    count();
    if (matcher(record.document)) yield record;
  }
  for (const stage of stages) {
    stage.works += 1;
    stage.isEOF = true;
  }
}

/** The plan of a query on a collection that does not exist. */
export function endOfFile(): PlanStage {
  const stage = new PlanStage('EOF');
  stage.works = 1;
  stage.isEOF = true;
  return stage;
}

/** Runs `transform` over `input` as `stage`: counts what it takes in and hands out, and its time when asked. */
export function throughStage(stage: PlanStage, transform: (input: Iterable<Document>) => Iterable<Document>, input: Iterable<Document>, timed = false): Iterable<Document> {
  const taken = (function* () {
    for (const document of input) {
      stage.works += 1;
      yield document;
    }
  })();
  const output = (function* () {
    for (const document of transform(taken)) {
      stage.nReturned += 1;
      yield document;
    }
    stage.works += 1;
    stage.isEOF = true;
  })();
  return timed ? timeStage(stage, output) : output;
}

/** Adds the time spent producing each item of `items` to the stage's `elapsedMillis`. */
export function* timeStage<T>(stage: PlanStage, items: Iterable<T>): Generator<T> {
  const iterator = items[Symbol.iterator]();
  for (;;) {
    const started = performance.now();
    const step = iterator.next();
    stage.elapsedMillis += performance.now() - started;
    if (step.done) return;
    yield step.value;
  }
}

function* skipDocuments(input: Iterable<Document>, skip: number): Generator<Document> {
  let skipped = 0;
  for (const document of input) {
    if (skipped < skip) skipped += 1;
    else yield document;
  }
}

function* limitDocuments(input: Iterable<Document>, limit: number): Generator<Document> {
  if (limit <= 0) return;
  let returned = 0;
  for (const document of input) {
    yield document;
    returned += 1;
    if (returned >= limit) return;
  }
}

function* mapDocuments(input: Iterable<Document>, map: (document: Document) => Document): Generator<Document> {
  for (const document of input) yield map(document);
}

/** True when the filter is exactly one equality on the key field (`{_id: v}` or `{_id: {$eq: v}}`), what mongod's `_id` fast paths take. */
function isLoneKeyEquality(filter: Document | undefined, keyField: string): boolean {
  if (filter === undefined) return false;
  const fields = Object.keys(filter);
  if (fields.length !== 1 || fields[0] !== keyField) return false;
  const condition = filter[keyField];
  if (!isOperatorObject(condition)) return regexParts(condition) === undefined;
  return Object.keys(condition).length === 1 && Object.hasOwn(condition, '$eq');
}

/** The filter without its top-level key-field condition (what FETCH still has to check); undefined when nothing is left. */
function residualFilter(filter: Document | undefined, keyField: string): Document | undefined {
  if (filter === undefined) return undefined;
  const rest = Object.fromEntries(Object.entries(filter).filter(([field]) => field !== keyField));
  const parsed = parsedQuery(rest);
  return Object.keys(parsed).length > 0 ? parsed : undefined;
}

/**
 * A filter as mongod's `parsedQuery` shows it: each condition as `{path: {$op: operand}}`,
 * several of them under one `$and` (nested `$and`s flattened), `$comment` dropped.
 */
export function parsedQuery(filter: Document | undefined): Document {
  const clauses: Document[] = [];
  for (const [field, value] of Object.entries(filter ?? {})) {
    if (field === '$comment') continue;
    if (field === '$and' && Array.isArray(value)) {
      for (const part of value) {
        const normalized = isDocument(part) ? parsedQuery(part) : part;
        if (isDocument(normalized) && Array.isArray(normalized.$and) && Object.keys(normalized).length === 1) clauses.push(...(normalized.$and as Document[]));
        else if (isDocument(normalized) && Object.keys(normalized).length > 0) clauses.push(normalized);
      }
    } else if ((field === '$or' || field === '$nor') && Array.isArray(value)) {
      clauses.push({ [field]: value.map((part) => (isDocument(part) ? parsedQuery(part) : part)) });
    } else if (field.startsWith('$')) {
      clauses.push({ [field]: value });
    } else if (isOperatorObject(value)) {
      for (const [operator, operand] of Object.entries(value)) {
        if (operator === '$options') continue;
        if (operator === '$regex' && value.$options !== undefined) clauses.push({ [field]: { $regex: operand, $options: value.$options } });
        else clauses.push({ [field]: { [operator]: operand } });
      }
    } else if (regexParts(value) !== undefined) {
      clauses.push({ [field]: { $regex: value } });
    } else {
      clauses.push({ [field]: { $eq: value } });
    }
  }
  if (clauses.length === 0) return {};
  if (clauses.length === 1) return clauses[0]!;
  return { $and: clauses };
}

/** IXSCAN's fields for the `_id` index, with the bounds the access plan reads. */
function indexScanDetails(keyField: string, plan: AccessPlan, direction: string): Document {
  let bounds: string[];
  if (plan.kind === 'points') {
    bounds = plan.values.map((value) => `[${describeBound(value)}, ${describeBound(value)}]`);
    if (direction === 'backward') bounds.reverse();
  } else if (plan.kind === 'range') {
    const lower = plan.lower ? `${plan.lower.inclusive ? '[' : '('}${describeBound(plan.lower.value)}` : openBound(plan.bracket, 'lower');
    const upper = plan.upper ? `${describeBound(plan.upper.value)}${plan.upper.inclusive ? ']' : ')'}` : openBound(plan.bracket, 'upper');
    bounds = direction === 'backward' ? [`${flip(upper)}, ${flip(lower)}`] : [`${lower}, ${upper}`];
  } else {
    bounds = ['[MinKey, MaxKey]'];
  }
  return {
    keyPattern: { [keyField]: 1 },
    indexName: `${keyField}_`,
    isMultiKey: false,
    multiKeyPaths: { [keyField]: [] },
    isUnique: true,
    isSparse: false,
    isPartial: false,
    indexVersion: 2,
    direction,
    indexBounds: { [keyField]: bounds },
  };
}

/** A range end written from the other side (`5)` as `(5`), for backward scans. */
function flip(bound: string): string {
  if (bound.startsWith('[')) return `${bound.slice(1)}]`;
  if (bound.startsWith('(')) return `${bound.slice(1)})`;
  if (bound.endsWith(']')) return `[${bound.slice(0, -1)}`;
  return `(${bound.slice(0, -1)}`;
}

/** The open end of a range within one type bracket, as mongod writes it. */
function openBound(bracket: number, side: 'lower' | 'upper'): string {
  const ends: Record<number, [string, string]> = {
    [TypeOrder.Number]: ['[-inf.0', 'inf.0]'],
    [TypeOrder.String]: ['[""', '{})'],
    [TypeOrder.ObjectId]: ["[ObjectId('000000000000000000000000')", "ObjectId('ffffffffffffffffffffffff')]"],
    [TypeOrder.Date]: ['[new Date(-9223372036854775808)', 'new Date(9223372036854775807)]'],
  };
  const pair = ends[bracket] ?? ['[MinKey', 'MaxKey]'];
  return side === 'lower' ? pair[0] : pair[1];
}

/** One value in an index bound, as mongod prints it. */
function describeBound(value: unknown): string {
  if (value instanceof Int32 || value instanceof Long) return value.toString();
  if (value instanceof Double) value = value.valueOf();
  if (typeof value === 'number') {
    if (value === Infinity) return 'inf.0';
    if (value === -Infinity) return '-inf.0';
    return String(value);
  }
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string') return JSON.stringify(value);
  if (value instanceof ObjectId) return `ObjectId('${value.toHexString()}')`;
  if (value instanceof Date) return `new Date(${value.getTime()})`;
  if (value === null) return 'null';
  if (typeof value === 'boolean') return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** A stage tree as explain shows it at `verbosity`: mongod's field names and order. */
export function describeStage(stage: PlanStage, verbosity: Verbosity, top = true): Document {
  const executed = verbosity !== 'queryPlanner';
  const out: Document = top ? { isCached: false } : {};
  out.stage = stage.stage;
  if (stage.filter !== undefined) out.filter = stage.filter;
  const express = stage.stage === 'EXPRESS_IXSCAN';
  if (express) Object.assign(out, stage.details);
  if (executed) {
    out.nReturned = stage.nReturned;
    out.executionTimeMillisEstimate = Math.round(stage.elapsedMillis);
    if (!express) {
      out.works = stage.works;
      out.advanced = stage.nReturned;
      out.needTime = Math.max(0, stage.works - stage.nReturned - (stage.isEOF ? 1 : 0));
      out.needYield = 0;
      out.isEOF = stage.isEOF ? 1 : 0;
    }
  }
  if (!express) Object.assign(out, stage.details);
  if (executed) {
    switch (stage.stage) {
      case 'COLLSCAN':
        out.docsExamined = stage.docsExamined;
        break;
      case 'EXPRESS_IXSCAN':
      case 'IDHACK':
        out.keysExamined = stage.keysExamined;
        out.docsExamined = stage.docsExamined;
        break;
      case 'IXSCAN':
        out.keysExamined = stage.keysExamined;
        out.seeks = stage.seeks;
        break;
      case 'FETCH':
        out.docsExamined = stage.docsExamined;
        break;
      case 'SORT':
        out.usedDisk = false;
        break;
      case 'COUNT':
      case 'RECORD_STORE_FAST_COUNT':
        out.nCounted = stage.nCounted;
        out.nSkipped = stage.nSkipped;
        break;
      default:
        break;
    }
  }
  if (stage.input) out.inputStage = describeStage(stage.input, verbosity, false);
  return out;
}

/** What one explained query reports, beside its stage tree. */
export interface QueryExplanation {
  namespace: string;
  filter: Document | undefined;
  root: PlanStage;
  verbosity: Verbosity;
  /** Milliseconds from the command's start to the end of its execution. */
  executionMillis: number;
}

/** `queryPlanner` and, at the executing verbosities, `executionStats` of one query. */
export function describeQuery(explanation: QueryExplanation): Document {
  const { root, verbosity } = explanation;
  const out: Document = {
    queryPlanner: {
      namespace: explanation.namespace,
      parsedQuery: parsedQuery(explanation.filter),
      indexFilterSet: false,
      winningPlan: describeStage(root, 'queryPlanner'),
      rejectedPlans: [],
    },
  };
  if (verbosity !== 'queryPlanner') {
    let keys = 0;
    let docs = 0;
    for (const stage of root.stages()) {
      keys += stage.keysExamined;
      docs += stage.docsExamined;
    }
    out.executionStats = {
      executionSuccess: true,
      nReturned: root.nReturned,
      executionTimeMillis: Math.round(explanation.executionMillis),
      totalKeysExamined: keys,
      totalDocsExamined: docs,
      executionStages: describeStage(root, verbosity),
      ...(verbosity === 'allPlansExecution' ? { allPlansExecution: [] } : {}),
    };
  }
  return out;
}

/** Reads a query's documents to the end, as an explain at an executing verbosity does. */
export function drain(documents: Iterable<unknown>): void {
  for (const document of documents) void document;
}
