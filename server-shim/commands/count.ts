import { Int32 } from 'bson';
import { checkKnownFields, checkSimpleCollation, collectionNamespace, optionalDocument, optionalInteger, optionalNonNegativeInteger } from './arguments.js';
import { findStream } from './execution.js';
import { defineCommand } from './registry.js';

/**
 * `count`: how many documents match `query`, after `skip` and within `limit`. Without a query
 * the collection's record count answers (`Storage.countRecords`), with no scan.
 */
export const countCommand = defineCommand({
  name: 'count',
  help: 'counts matching documents',
  run: (request, context) => {
    checkKnownFields(request, ['query', 'limit', 'skip', 'hint', 'collation', 'fields']);
    checkSimpleCollation(request.body.collation);
    const namespace = collectionNamespace(request);
    const limit = optionalInteger(request, 'limit');
    const filter = optionalDocument(request, 'query');
    const skip = optionalNonNegativeInteger(request, 'skip') ?? 0;
    const entry = context.storage.collection(`${namespace.db}.${namespace.collection}`);
    if (filter === undefined || Object.keys(filter).length === 0) {
      // Every document matches: the collection's record count answers, as mongod's fast count.
      const total = entry === undefined ? 0 : context.storage.countRecords(entry);
      const afterSkip = Math.max(0, total - skip);
      context.server.operationCounters.command += 1;
      return { n: new Int32(limit === undefined || limit === 0 ? afterSkip : Math.min(afterSkip, Math.abs(limit))) };
    }
    const stream = findStream(context.storage, entry, {
      filter,
      skip,
      // A negative limit counts like its absolute value, as in mongod.
      limit: limit === undefined || limit === 0 ? undefined : Math.abs(limit),
    });
    let n = 0;
    for (const document of stream) {
      void document;
      n += 1;
    }
    context.server.operationCounters.command += 1;
    return { n: new Int32(n) };
  },
});
