import { defaultFirstBatchSize } from '../cursors/index.js';
import { CommandError, ErrorCodes } from '../errors/index.js';
import {
  checkKnownFields,
  checkSimpleCollation,
  collectionNamespace,
  optionalBoolean,
  optionalDocument,
  optionalNonNegativeInteger,
  sessionId,
} from './arguments.js';
import type { CommandRequest } from './context.js';
import { firstBatchReply } from './execution.js';
import { describeQuery, drain, planFind, type FindSpecification } from './query_plan.js';
import { defineCommand } from './registry.js';

const findFields = [
  'filter', 'sort', 'projection', 'hint', 'skip', 'limit', 'batchSize', 'singleBatch', 'max', 'min', 'returnKey',
  'showRecordId', 'tailable', 'oplogReplay', 'noCursorTimeout', 'awaitData', 'allowPartialResults', 'collation',
  'allowDiskUse', 'let', 'readOnce', 'term',
];

/** A find command's namespace and what it selects, checked as mongod checks them. */
function parseFind(request: CommandRequest): { ns: string; specification: FindSpecification; limit?: number; batchSize?: number } {
  checkKnownFields(request, findFields);
  const namespace = collectionNamespace(request);
  const skip = optionalNonNegativeInteger(request, 'skip');
  const limit = optionalNonNegativeInteger(request, 'limit');
  const batchSize = optionalNonNegativeInteger(request, 'batchSize');
  if (optionalBoolean(request, 'tailable') || optionalBoolean(request, 'awaitData')) {
    throw new CommandError(ErrorCodes.BadValue, 'tailable cursors are not supported by this server');
  }
  if (optionalDocument(request, 'min') !== undefined || optionalDocument(request, 'max') !== undefined) {
    throw new CommandError(ErrorCodes.BadValue, 'min and max are not supported by this server');
  }
  checkSimpleCollation(request.body.collation);
  return {
    ns: `${namespace.db}.${namespace.collection}`,
    specification: {
      filter: optionalDocument(request, 'filter'),
      sort: optionalDocument(request, 'sort'),
      projection: optionalDocument(request, 'projection'),
      skip,
      limit: limit === 0 ? undefined : limit,
    },
    limit,
    batchSize,
  };
}

/**
 * `find`: filter, sort, projection, skip, limit; the first batch (101 documents unless
 * `batchSize` says otherwise) and a cursor for the rest. A missing collection gives an empty
 * result, as in mongod. An `_id` equality is one point lookup (`EXPRESS_IXSCAN` in explain).
 */
export const findCommand = defineCommand({
  name: 'find',
  help: 'queries a collection',
  run: (request, context) => {
    const { ns, specification, limit, batchSize } = parseFind(request);
    const { documents } = planFind(context.storage, context.storage.collection(ns), specification, { pointStage: 'EXPRESS_IXSCAN' });
    context.server.operationCounters.query += 1;
    const firstBatchSize = limit !== undefined && limit > 0 ? Math.min(limit, batchSize ?? defaultFirstBatchSize) : batchSize;
    return firstBatchReply(context, ns, documents, {
      batchSize: firstBatchSize,
      singleBatch: optionalBoolean(request, 'singleBatch') ?? false,
      sessionId: sessionId(request),
      noTimeout: optionalBoolean(request, 'noCursorTimeout') ?? false,
    });
  },
  explain: (request, context, verbosity) => {
    const started = performance.now();
    const { ns, specification } = parseFind(request);
    const planned = planFind(context.storage, context.storage.collection(ns), specification, { pointStage: 'EXPRESS_IXSCAN', timed: true });
    if (verbosity !== 'queryPlanner') drain(planned.documents);
    return describeQuery({ namespace: ns, filter: specification.filter, root: planned.root, verbosity, executionMillis: performance.now() - started });
  },
});
