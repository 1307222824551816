import { CommandError } from '../errors/index.js';
import { isDocument } from '../values/index.js';
import { collectionNamespace, requiredArray } from './arguments.js';
import { defineCommand } from './registry.js';

/**
 * `createIndexes`: only the `_id` index exists here (the table's key), so a request for it
 * succeeds as "already exists" and any other index is refused with CommandNotSupported.
 */
export const createIndexesCommand = defineCommand({
  name: 'createIndexes',
  writes: true,
  help: 'accepts only the _id index, which every collection has',
  run: async (request, context) => {
    const namespace = collectionNamespace(request);
    const indexes = requiredArray(request, 'indexes');
    for (const index of indexes) {
      const key = isDocument(index) ? index.key : undefined;
      const keys = isDocument(key) ? Object.keys(key) : [];
      if (keys.length !== 1 || keys[0] !== '_id') {
        throw new CommandError(115, 'secondary indexes are not supported by this server: only the _id index exists');
      }
    }
    const ns = `${namespace.db}.${namespace.collection}`;
    const existed = context.storage.collection(ns) !== undefined;
    if (!existed) await context.storage.write(() => context.storage.collection(ns) ?? context.storage.createCollection(namespace));
    return { numIndexesBefore: 1, numIndexesAfter: 1, createdCollectionAutomatically: !existed, note: 'all indexes already exist' };
  },
});
