import { CommandError, ErrorCodes } from '../errors/index.js';
import { bigIntToTimestamp, parseNamespace } from '../storage/index.js';
import { isDocument, type Document } from '../values/index.js';
import { checkClusterParameterName, clusterParametersNamespace } from './cluster_parameters.js';
import { defineCommand } from './registry.js';

/**
 * `setClusterParameter: {<name>: {<fields>}}`: stores the parameter as a document of
 * `config.clusterParameters` (`_id` = name, with `clusterParameterTime`), replicated through
 * the oplog like mongod's.
 */
export const setClusterParameterCommand = defineCommand({
  name: 'setClusterParameter',
  adminOnly: true,
  writes: true,
  help: 'sets a cluster parameter: {setClusterParameter: {<name>: {<fields>}}}',
  run: async (request, context) => {
    const argument = request.argument;
    if (!isDocument(argument) || Object.keys(argument).length !== 1) {
      throw new CommandError(ErrorCodes.BadValue, 'setClusterParameter takes exactly one parameter: {setClusterParameter: {<name>: {<fields>}}}');
    }
    const [name, value] = Object.entries(argument)[0]!;
    checkClusterParameterName(name, context.server.parameters);
    if (!isDocument(value)) throw new CommandError(ErrorCodes.TypeMismatch, `the value of cluster parameter ${name} must be an object`);
    const storage = context.storage;
    await storage.write(() => {
      const entry = storage.collection(clusterParametersNamespace) ?? storage.createCollection(parseNamespace(clusterParametersNamespace));
      const document: Document = { _id: name, clusterParameterTime: bigIntToTimestamp(storage.reserveTimestamp()) };
      for (const [field, fieldValue] of Object.entries(value)) if (field !== '_id' && field !== 'clusterParameterTime') document[field] = fieldValue;
      const existing = storage.findByKey(entry, name);
      if (existing === undefined) storage.insertDocument(entry, document);
      else storage.replaceDocument(entry, existing.key, document);
    });
    return {};
  },
});
