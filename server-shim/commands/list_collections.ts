import { compileFilter } from '../query/index.js';
import { checkDatabaseName } from '../storage/index.js';
import type { Document } from '../values/index.js';
import { checkKnownFields, optionalBoolean, optionalDocument, sessionId } from './arguments.js';
import { cursorBatchSize, firstBatchReply } from './execution.js';
import { defineCommand } from './registry.js';

/** The `_id` index every collection but the oplog has. */
export const idIndexSpecification = { v: 2, key: { _id: 1 }, name: '_id_' };

/**
 * `listCollections`: a cursor over the database's collections; `info.uri` is the engine table
 * that holds each one, `info.uuid` its catalog UUID.
 */
export const listCollectionsCommand = defineCommand({
  name: 'listCollections',
  help: 'lists the collections of a database, with their engine table URIs',
  run: (request, context) => {
    checkKnownFields(request, ['filter', 'nameOnly', 'cursor', 'authorizedCollections', 'includePendingDrops']);
    const db = checkDatabaseName(request.db);
    const nameOnly = optionalBoolean(request, 'nameOnly') ?? false;
    const matcher = compileFilter(optionalDocument(request, 'filter'));
    const collections: Document[] = context.storage.collections(db).map((entry) =>
      nameOnly
        ? { name: entry.name, type: 'collection' }
        : {
            name: entry.name,
            type: 'collection',
            options: entry.options,
            info: { readOnly: false, uuid: entry.uuid, uri: entry.uri, shared: !entry.local },
            ...(entry.keyField === '_id' ? { idIndex: idIndexSpecification } : {}),
          },
    );
    return firstBatchReply(context, `${db}.$cmd.listCollections`, collections.filter((collection) => matcher(collection)), {
      batchSize: cursorBatchSize(request.body.cursor),
      sessionId: sessionId(request),
    });
  },
});
