import { Long } from 'bson';
import { CommandError, ErrorCodes } from '../errors/index.js';
import { checkNamespace } from '../storage/index.js';
import { checkKnownFields, cursorReply, optionalNonNegativeInteger } from './arguments.js';
import { defineCommand } from './registry.js';

/** `getMore`: the next batch of an open cursor (any connection may ask for it). */
export const getMoreCommand = defineCommand({
  name: 'getMore',
  help: 'returns the next batch of a cursor',
  run: (request, context) => {
    checkKnownFields(request, ['collection', 'batchSize', 'term', 'lastKnownCommittedOpTime']);
    if (!(request.argument instanceof Long)) {
      throw new CommandError(ErrorCodes.TypeMismatch, "BSON field 'getMore.getMore' is the wrong type, expected type 'long'");
    }
    const collection = request.body.collection;
    if (typeof collection !== 'string') throw new CommandError(40414, "BSON field 'getMore.collection' is missing but a required field");
    let ns: string;
    // listCollections cursors live on `db.$cmd.listCollections`, which is not a valid user namespace.
    if (collection.startsWith('$cmd.')) ns = `${request.db}.${collection}`;
    else {
      const namespace = checkNamespace(request.db, collection);
      ns = `${namespace.db}.${namespace.collection}`;
    }
    const batchSize = optionalNonNegativeInteger(request, 'batchSize');
    const cursors = context.server.cursors;
    const cursor = cursors.get(request.argument, ns);
    let batch;
    try {
      batch = cursor.takeBatch(batchSize === 0 ? undefined : batchSize);
    } catch (error) {
      cursors.kill(cursor.id);
      throw error;
    }
    context.server.operationCounters.getmore += 1;
    if (batch.exhausted) {
      cursors.kill(cursor.id);
      return cursorReply(ns, batch.documents, Long.ZERO, 'nextBatch');
    }
    return cursorReply(ns, batch.documents, cursor.id, 'nextBatch');
  },
});
