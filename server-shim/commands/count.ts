import { Int32 } from 'bson';
import { checkKnownFields, checkSimpleCollation, collectionNamespace, optionalDocument, optionalInteger, optionalNonNegativeInteger } from './arguments.js';
import { findStream } from './execution.js';
import { defineCommand } from './registry.js';

/** `count`: how many documents match `query`, after `skip` and within `limit`. */
export const countCommand = defineCommand({
  name: 'count',
  help: 'counts matching documents',
  run: (request, context) => {
    checkKnownFields(request, ['query', 'limit', 'skip', 'hint', 'collation', 'fields']);
    checkSimpleCollation(request.body.collation);
    const namespace = collectionNamespace(request);
    const limit = optionalInteger(request, 'limit');
    const stream = findStream(context.storage, context.storage.collection(`${namespace.db}.${namespace.collection}`), {
      filter: optionalDocument(request, 'query'),
      skip: optionalNonNegativeInteger(request, 'skip'),
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
