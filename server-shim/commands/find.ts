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
import { findStream, firstBatchReply } from './execution.js';
import { defineCommand } from './registry.js';

const findFields = [
  'filter', 'sort', 'projection', 'hint', 'skip', 'limit', 'batchSize', 'singleBatch', 'max', 'min', 'returnKey',
  'showRecordId', 'tailable', 'oplogReplay', 'noCursorTimeout', 'awaitData', 'allowPartialResults', 'collation',
  'allowDiskUse', 'let', 'readOnce', 'term',
];

/**
 * `find`: filter, sort, projection, skip, limit; the first batch (101 documents unless
 * `batchSize` says otherwise) and a cursor for the rest. A missing collection gives an empty
 * result, as in mongod.
 */
export const findCommand = defineCommand({
  name: 'find',
  help: 'queries a collection',
  run: (request, context) => {
    checkKnownFields(request, findFields);
    const namespace = collectionNamespace(request);
    const ns = `${namespace.db}.${namespace.collection}`;
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
    const stream = findStream(context.storage, context.storage.collection(ns), {
      filter: optionalDocument(request, 'filter'),
      sort: optionalDocument(request, 'sort'),
      projection: optionalDocument(request, 'projection'),
      skip,
      limit: limit === 0 ? undefined : limit,
    });
    context.server.operationCounters.query += 1;
    const firstBatchSize = limit !== undefined && limit > 0 ? Math.min(limit, batchSize ?? defaultFirstBatchSize) : batchSize;
    return firstBatchReply(context, ns, stream, {
      batchSize: firstBatchSize,
      singleBatch: optionalBoolean(request, 'singleBatch') ?? false,
      sessionId: sessionId(request),
      noTimeout: optionalBoolean(request, 'noCursorTimeout') ?? false,
    });
  },
});
