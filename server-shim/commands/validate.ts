import { CommandError, ErrorCodes } from '../errors/index.js';
import { checkKnownFields, collectionNamespace } from './arguments.js';
import { defineCommand } from './registry.js';

/**
 * `validate`: runs the engine's verifier on the collection's table (findings with their
 * locations become `errors` and `warnings`) and reads every record, each of which must be valid
 * BSON stored under its `_id`. `valid` is true only when there is no error.
 */
export const validateCommand = defineCommand({
  name: 'validate',
  help: 'checks every record of a collection',
  run: async (request, context) => {
    checkKnownFields(request, ['full', 'repair', 'background', 'metadata', 'checkBSONConformance', 'enforceFastCount']);
    const namespace = collectionNamespace(request);
    const ns = `${namespace.db}.${namespace.collection}`;
    const entry = context.storage.collection(ns);
    if (entry === undefined) throw new CommandError(ErrorCodes.NamespaceNotFound, `Collection '${ns}' does not exist to validate.`);
    if (request.body.repair === true) throw new CommandError(ErrorCodes.IllegalOperation, 'validate with repair is not supported by this server');
    const result = await context.storage.validate(entry);
    const valid = result.errors.length === 0;
    return {
      ns,
      uuid: entry.uuid,
      uri: entry.uri,
      nInvalidDocuments: result.corruptRecords.length,
      nNonCompliantDocuments: 0,
      nrecords: result.records,
      nIndexes: entry.keyField === '_id' ? 1 : 0,
      keysPerIndex: entry.keyField === '_id' ? { _id_: result.records } : {},
      indexDetails: entry.keyField === '_id' ? { _id_: { valid } } : {},
      valid,
      repaired: false,
      warnings: result.warnings,
      errors: result.errors,
      extraIndexEntries: [],
      missingIndexEntries: [],
      corruptRecords: result.corruptRecords,
    };
  },
});
