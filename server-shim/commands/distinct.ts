import { CommandError, ErrorCodes } from '../errors/index.js';
import { Missing, valuesAtPath } from '../query/index.js';
import { compareValues, encodeKey } from '../values/index.js';
import { checkKnownFields, checkSimpleCollation, collectionNamespace, optionalDocument } from './arguments.js';
import { findStream } from './execution.js';
import { defineCommand } from './registry.js';

/** `distinct`: the distinct values of `key` among matching documents; arrays count element by element. */
export const distinctCommand = defineCommand({
  name: 'distinct',
  help: 'distinct values of a field',
  run: (request, context) => {
    checkKnownFields(request, ['key', 'query', 'collation', 'hint']);
    checkSimpleCollation(request.body.collation);
    const namespace = collectionNamespace(request);
    const key = request.body.key;
    if (typeof key !== 'string') throw new CommandError(40414, "BSON field 'distinct.key' is missing but a required field");
    const values = new Map<string, unknown>();
    const remember = (value: unknown): void => {
      const identity = encodeKey(value).toString('latin1');
      if (!values.has(identity)) values.set(identity, value);
    };
    const stream = findStream(context.storage, context.storage.collection(`${namespace.db}.${namespace.collection}`), { filter: optionalDocument(request, 'query') });
    for (const document of stream) {
      for (const value of valuesAtPath(document, key)) {
        if (value === Missing) continue;
        if (Array.isArray(value)) value.forEach(remember);
        else remember(value);
      }
    }
    if (values.size > 1_000_000) throw new CommandError(ErrorCodes.BadValue, 'distinct too big, 16mb cap');
    return { values: [...values.values()].sort(compareValues) };
  },
});
