import { CommandError, ErrorCodes } from '../errors/index.js';
import type { Document } from '../values/index.js';
import { checkSimpleCollation, collectionNamespace, genericFields } from './arguments.js';
import { defineCommand } from './registry.js';

/** Options that change what a collection is; this server has none of those features. */
const unsupportedOptions = ['capped', 'timeseries', 'clusteredIndex', 'viewOn', 'pipeline', 'validator', 'encryptedFields', 'changeStreamPreAndPostImages', 'expireAfterSeconds'];
/** Options accepted and recorded. */
const acceptedOptions = ['size', 'max', 'idIndex', 'collation', 'storageEngine', 'validationLevel', 'validationAction', 'indexOptionDefaults', 'autoIndexId', 'flags', 'temp'];

/** `create`: creates a collection (a new engine table); NamespaceExists when it exists. */
export const createCommand = defineCommand({
  name: 'create',
  writes: true,
  help: 'creates a collection',
  run: async (request, context) => {
    const namespace = collectionNamespace(request);
    const options: Document = {};
    for (const [field, value] of Object.entries(request.body)) {
      if (field === request.name || genericFields.has(field)) continue;
      if (unsupportedOptions.includes(field) && value !== false) {
        throw new CommandError(ErrorCodes.InvalidOptions, `the '${field}' collection option is not supported by this server`);
      }
      if (!acceptedOptions.includes(field) && !unsupportedOptions.includes(field)) {
        throw new CommandError(40415, `BSON field 'create.${field}' is an unknown field.`);
      }
      if (field === 'collation') checkSimpleCollation(value);
      if (field !== 'idIndex') options[field] = value;
    }
    await context.storage.write(() => context.storage.createCollection(namespace, options));
    return {};
  },
});
