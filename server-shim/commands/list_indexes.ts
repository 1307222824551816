import { CommandError, ErrorCodes } from '../errors/index.js';
import { collectionNamespace, sessionId } from './arguments.js';
import { cursorBatchSize, firstBatchReply } from './execution.js';
import { idIndexSpecification } from './list_collections.js';
import { defineCommand } from './registry.js';

/** `listIndexes`: every collection has exactly its `_id` index (the table key); the oplog has none. */
export const listIndexesCommand = defineCommand({
  name: 'listIndexes',
  help: 'lists the indexes of a collection (the _id index)',
  run: (request, context) => {
    const namespace = collectionNamespace(request);
    const ns = `${namespace.db}.${namespace.collection}`;
    const entry = context.storage.collection(ns);
    if (entry === undefined) throw new CommandError(ErrorCodes.NamespaceNotFound, `ns does not exist: ${ns}`);
    const indexes = entry.keyField === '_id' ? [idIndexSpecification] : [];
    return firstBatchReply(context, ns, indexes, { batchSize: cursorBatchSize(request.body.cursor), sessionId: sessionId(request) });
  },
});
