import { CommandError, ErrorCodes } from '../errors/index.js';
import { compilePipeline, planAccess } from '../query/index.js';
import { isDocument, isNumeric, type Document } from '../values/index.js';
import { checkKnownFields, checkSimpleCollation, collectionNamespace, optionalBoolean, sessionId } from './arguments.js';
import { isBackupPipeline, runBackupPipeline } from './backup_cursor.js';
import { cursorBatchSize, firstBatchReply, matchingRecords } from './execution.js';
import { defineCommand } from './registry.js';

/**
 * `aggregate`: runs a pipeline over a collection and returns a cursor. A leading `$match` also
 * picks the access plan (so `{$match: {_id: ...}}` reads only those keys); documents then stream
 * through the stages, which consume their input only where they must (`$sort`, `$group`, `$count`).
 * On `admin` with `{aggregate: 1}`, a pipeline starting with `$backupCursor` or
 * `$backupCursorExtend` opens or extends a backup (`backup_cursor.ts`).
 */
export const aggregateCommand = defineCommand({
  name: 'aggregate',
  help: 'runs an aggregation pipeline',
  run: (request, context) => {
    checkKnownFields(request, ['pipeline', 'cursor', 'explain', 'allowDiskUse', 'hint', 'collation', 'bypassDocumentValidation', 'let', 'fromMongos']);
    const stages = request.body.pipeline;
    if (!Array.isArray(stages)) throw new CommandError(ErrorCodes.TypeMismatch, "BSON field 'aggregate.pipeline' is missing or is not an array");
    if (optionalBoolean(request, 'explain')) throw new CommandError(ErrorCodes.IllegalOperation, 'explain is not supported by this server');
    if (!isDocument(request.body.cursor)) {
      throw new CommandError(ErrorCodes.FailedToParse, "The 'cursor' option is required, except for aggregate with the explain argument");
    }
    checkSimpleCollation(request.body.collation);
    if (isBackupPipeline(stages)) return runBackupPipeline(request, context, stages);
    if (isNumeric(request.argument)) {
      throw new CommandError(ErrorCodes.InvalidNamespace, 'collection-less aggregations other than $backupCursor ($currentOp, $documents, ...) are not supported by this server');
    }
    const namespace = collectionNamespace(request);
    const ns = `${namespace.db}.${namespace.collection}`;
    const pipeline = compilePipeline(stages, { now: new Date() });
    const entry = context.storage.collection(ns);
    const first = stages[0];
    const leadingMatch = isDocument(first) && isDocument(first.$match) ? (first.$match as Document) : undefined;
    const source: Iterable<Document> =
      entry === undefined
        ? []
        : (function* () {
            // The leading $match still runs as a stage; here it only narrows what is read.
            if (leadingMatch !== undefined && planAccess(leadingMatch, entry.keyField).kind !== 'scan') {
              for (const record of matchingRecords(context.storage, entry, leadingMatch)) yield record.document;
            } else {
              for (const record of context.storage.scan(entry)) yield record.document;
            }
          })();
    context.server.operationCounters.command += 1;
    return firstBatchReply(context, ns, pipeline(source), { batchSize: cursorBatchSize(request.body.cursor), sessionId: sessionId(request) });
  },
});
