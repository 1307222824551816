import { Int32 } from 'bson';
import type { CollectionEntry } from '../storage/index.js';
import type { Document } from '../values/index.js';
import { checkKnownFields, checkSimpleCollation, collectionNamespace, optionalDocument, optionalInteger, optionalNonNegativeInteger } from './arguments.js';
import type { CommandContext, CommandRequest } from './context.js';
import { describeQuery, endOfFile, planAccessStage, PlanStage, type Verbosity } from './query_plan.js';
import { defineCommand } from './registry.js';

/** A count command checked as mongod checks it. */
interface CountSpecification {
  ns: string;
  entry: CollectionEntry | undefined;
  filter: Document | undefined;
  skip: number;
  /** The most to count; a negative limit counts like its absolute value, as in mongod. */
  limit: number | undefined;
}

function parseCount(request: CommandRequest, context: CommandContext): CountSpecification {
  checkKnownFields(request, ['query', 'limit', 'skip', 'hint', 'collation', 'fields']);
  checkSimpleCollation(request.body.collation);
  const namespace = collectionNamespace(request);
  const limit = optionalInteger(request, 'limit');
  const ns = `${namespace.db}.${namespace.collection}`;
  return {
    ns,
    entry: context.storage.collection(ns),
    filter: optionalDocument(request, 'query'),
    skip: optionalNonNegativeInteger(request, 'skip') ?? 0,
    limit: limit === undefined || limit === 0 ? undefined : Math.abs(limit),
  };
}

/**
 * Plans and runs a count: without a query the collection's record count answers
 * (`RECORD_STORE_FAST_COUNT`, no scan); with one, COUNT over the query's access stage (an `_id`
 * equality is `IDHACK`, one point lookup), skipping and stopping at the limit as it reads.
 */
function runCount(specification: CountSpecification, context: CommandContext, timed: boolean): PlanStage {
  const { entry, filter, skip, limit } = specification;
  if (entry === undefined) return endOfFile();
  if (filter === undefined || Object.keys(filter).length === 0) {
    const fast = new PlanStage('RECORD_STORE_FAST_COUNT');
    const started = performance.now();
    const total = context.storage.countRecords(entry);
    fast.nSkipped = Math.min(skip, total);
    fast.nCounted = limit === undefined ? total - fast.nSkipped : Math.min(total - fast.nSkipped, limit);
    fast.works = 1;
    fast.isEOF = true;
    if (timed) fast.elapsedMillis = performance.now() - started;
    return fast;
  }
  const access = planAccessStage(context.storage, entry, filter, false, { pointStage: 'IDHACK', timed });
  const count = new PlanStage('COUNT', {}, access.root);
  const started = performance.now();
  for (const record of access.records) {
    void record;
    count.works += 1;
    if (count.nSkipped < skip) count.nSkipped += 1;
    else count.nCounted += 1;
    if (limit !== undefined && count.nCounted >= limit) break;
  }
  count.works += 1;
  count.isEOF = true;
  if (timed) count.elapsedMillis = performance.now() - started;
  return count;
}

/** The count a finished count plan found. */
function counted(root: PlanStage): number {
  return root.stage === 'EOF' ? 0 : root.nCounted;
}

/**
 * `count`: how many documents match `query`, after `skip` and within `limit`. Without a query
 * the collection's record count answers (`Storage.countRecords`), with no scan.
 */
export const countCommand = defineCommand({
  name: 'count',
  help: 'counts matching documents',
  run: (request, context) => {
    const root = runCount(parseCount(request, context), context, false);
    return { n: new Int32(counted(root)) };
  },
  explain: (request, context, verbosity: Verbosity) => {
    const started = performance.now();
    const specification = parseCount(request, context);
    let root: PlanStage;
    if (verbosity === 'queryPlanner') {
      // Plan without reading: the stage tree of a count that is never run.
      root = planOnly(specification, context);
    } else {
      root = runCount(specification, context, true);
    }
    return describeQuery({ namespace: specification.ns, filter: specification.filter, root, verbosity, executionMillis: performance.now() - started });
  },
});

/** The plan a count would run, built without reading anything. */
function planOnly(specification: CountSpecification, context: CommandContext): PlanStage {
  const { entry, filter } = specification;
  if (entry === undefined) return endOfFile();
  if (filter === undefined || Object.keys(filter).length === 0) return new PlanStage('RECORD_STORE_FAST_COUNT');
  const access = planAccessStage(context.storage, entry, filter, false, { pointStage: 'IDHACK' });
  return new PlanStage('COUNT', {}, access.root);
}
