import { CommandError, ErrorCodes } from '../errors/index.js';
import { collectionNamespace } from './arguments.js';
import { defineCommand } from './registry.js';

/** `drop`: drops a collection and its table; NamespaceNotFound when there is none. */
export const dropCommand = defineCommand({
  name: 'drop',
  writes: true,
  help: 'drops a collection',
  run: async (request, context) => {
    const namespace = collectionNamespace(request);
    const ns = `${namespace.db}.${namespace.collection}`;
    if (ns === 'local.oplog.rs') throw new CommandError(ErrorCodes.IllegalOperation, 'can\'t drop live oplog while replicating');
    const storage = context.storage;
    const dropped = await storage.write(() => {
      const entry = storage.collection(ns);
      if (entry === undefined) return false;
      storage.dropCollection(entry);
      return true;
    });
    if (!dropped) throw new CommandError(ErrorCodes.NamespaceNotFound, 'ns not found');
    return { ns, nIndexesWas: 1 };
  },
});
