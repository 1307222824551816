import { CommandError, ErrorCodes } from '../errors/index.js';
import { compilePipeline } from '../query/index.js';
import { isDocument, isNumeric, type Document } from '../values/index.js';
import { checkKnownFields, checkSimpleCollation, collectionNamespace, optionalBoolean, sessionId } from './arguments.js';
import { isBackupPipeline, runBackupPipeline } from './backup_cursor.js';
import type { CommandContext, CommandRequest } from './context.js';
import { cursorBatchSize, firstBatchReply } from './execution.js';
import { describeQuery, drain, endOfFile, planAccessStage, PlanStage, timeStage, type Verbosity } from './query_plan.js';
import { defineCommand } from './registry.js';

/** An aggregate command checked as mongod checks it, before anything runs. */
function checkAggregate(request: CommandRequest, explaining: boolean): unknown[] {
  checkKnownFields(request, ['pipeline', 'cursor', 'explain', 'allowDiskUse', 'hint', 'collation', 'bypassDocumentValidation', 'let', 'fromMongos']);
  const stages = request.body.pipeline;
  if (!Array.isArray(stages)) throw new CommandError(ErrorCodes.TypeMismatch, "BSON field 'aggregate.pipeline' is missing or is not an array");
  if (!explaining && !isDocument(request.body.cursor)) {
    throw new CommandError(ErrorCodes.FailedToParse, "The 'cursor' option is required, except for aggregate with the explain argument");
  }
  checkSimpleCollation(request.body.collation);
  return stages;
}

/** A planned aggregation: the access stage that feeds it, its later stages, and its output. */
interface PlannedAggregation {
  ns: string;
  leadingMatch: Document | undefined;
  access: PlanStage;
  /** The stages after a leading `$match`, each with its specification and counters. */
  later: { specification: unknown; stage: PlanStage }[];
  documents: Iterable<Document>;
}

/**
 * Plans an aggregation over a collection: a leading `$match` is the query of the access stage
 * (so `{$match: {_id: ...}}` reads only those keys, and any other reads every record once),
 * whose matching documents then stream through the later stages, which consume their input
 * only where they must (`$sort`, `$group`, `$count`). A pipeline that is only a `$match` runs
 * as a find would (an `_id` equality on the express path).
 */
function planAggregation(request: CommandRequest, context: CommandContext, stages: unknown[], timed: boolean): PlannedAggregation {
  if (isNumeric(request.argument)) {
    throw new CommandError(ErrorCodes.InvalidNamespace, 'collection-less aggregations other than $backupCursor ($currentOp, $documents, ...) are not supported by this server');
  }
  const namespace = collectionNamespace(request);
  const ns = `${namespace.db}.${namespace.collection}`;
  const first = stages[0];
  // Only a stage that is exactly `{$match: ...}`: one with more fields is refused by the
  // pipeline's own check, as in any other position.
  const leadingMatch = isDocument(first) && Object.keys(first).length === 1 && isDocument(first.$match) ? (first.$match as Document) : undefined;
  const laterSpecifications = leadingMatch === undefined ? stages : stages.slice(1);
  const later = laterSpecifications.map((specification) => ({ specification, stage: new PlanStage(isDocument(specification) ? (Object.keys(specification)[0] ?? '') : '') }));
  const pipeline = compilePipeline(laterSpecifications, {
    now: new Date(),
    observe: (index, output) => {
      const { stage } = later[index]!;
      const counted = (function* () {
        for (const document of output) {
          stage.nReturned += 1;
          yield document;
        }
        stage.isEOF = true;
      })();
      return timed ? timeStage(stage, counted) : counted;
    },
  });
  const entry = context.storage.collection(ns);
  if (entry === undefined) return { ns, leadingMatch, access: endOfFile(), later, documents: pipeline([]) };
  const access = planAccessStage(context.storage, entry, leadingMatch, false, { pointStage: later.length === 0 ? 'EXPRESS_IXSCAN' : 'IDHACK', timed });
  return { ns, leadingMatch, access: access.root, later, documents: pipeline(access.documents) };
}

/**
 * The explain of an aggregation, as mongod 8.0's classic engine shows it: a pipeline that is
 * only a `$match` (or empty) is explained as a find; any other as `stages`, the first a
 * `$cursor` with the access stage's plan, then each later stage with its `nReturned` and time.
 */
function explainAggregation(request: CommandRequest, context: CommandContext, verbosity: Verbosity): Document {
  const started = performance.now();
  const stages = checkAggregate(request, true);
  if (isBackupPipeline(stages)) throw new CommandError(ErrorCodes.IllegalOperation, 'explain of $backupCursor is not supported by this server');
  const planned = planAggregation(request, context, stages, true);
  if (verbosity !== 'queryPlanner') drain(planned.documents);
  const query = describeQuery({ namespace: planned.ns, filter: planned.leadingMatch, root: planned.access, verbosity, executionMillis: performance.now() - started });
  if (planned.later.length === 0) return query;
  const executed = verbosity !== 'queryPlanner';
  const stageCounters = (stage: PlanStage): Document =>
    executed ? { nReturned: stage.nReturned, executionTimeMillisEstimate: Math.round(stage.elapsedMillis) } : {};
  return {
    stages: [
      { $cursor: query, ...stageCounters(planned.access) },
      ...planned.later.map(({ specification, stage }) => ({ ...(specification as Document), ...stageCounters(stage) })),
    ],
  };
}

/**
 * `aggregate`: runs a pipeline over a collection and returns a cursor (`explain: true` explains
 * it instead, at `queryPlanner` verbosity, as mongod's option does). On `admin` with
 * `{aggregate: 1}`, a pipeline starting with `$backupCursor` or `$backupCursorExtend` opens or
 * extends a backup (`backup_cursor.ts`).
 */
export const aggregateCommand = defineCommand({
  name: 'aggregate',
  help: 'runs an aggregation pipeline',
  run: (request, context) => {
    if (optionalBoolean(request, 'explain')) return explainAggregation(request, context, 'queryPlanner');
    const stages = checkAggregate(request, false);
    if (isBackupPipeline(stages)) return runBackupPipeline(request, context, stages);
    const planned = planAggregation(request, context, stages, false);
    return firstBatchReply(context, planned.ns, planned.documents, { batchSize: cursorBatchSize(request.body.cursor), sessionId: sessionId(request) });
  },
  explain: explainAggregation,
});
