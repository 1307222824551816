import { CommandError, ErrorCodes } from '../errors/index.js';
import { compileFilter } from '../query/index.js';
import type { CollectionEntry, Namespace, Storage } from '../storage/index.js';
import { isDocument, isNumeric, toNumber, type Document } from '../values/index.js';
import { checkKnownFields, checkSimpleCollation, collectionNamespace, optionalBoolean, requiredArray } from './arguments.js';
import { matchingRecords } from './execution.js';
import { defineCommand } from './registry.js';
import { takeKeys, writeChunkSize, writeError } from './write_support.js';

const statementFields = ['q', 'limit', 'hint', 'collation', 'sampleId'];

/** `delete`: each statement `{q, limit}` removes the first match (limit 1) or all matches (limit 0). */
export const deleteCommand = defineCommand({
  name: 'delete',
  writes: true,
  help: 'deletes documents',
  run: async (request, context) => {
    checkKnownFields(request, ['deletes', 'ordered', 'let']);
    const namespace = collectionNamespace(request);
    const statements = requiredArray(request, 'deletes');
    const ordered = optionalBoolean(request, 'ordered') ?? true;
    const writeErrors: Document[] = [];
    let deleted = 0;
    for (const [index, statement] of statements.entries()) {
      try {
        deleted += await runStatement(context.storage, namespace, statement);
      } catch (error) {
        writeErrors.push(writeError(index, error));
        if (ordered) break;
      }
    }
    context.server.operationCounters.delete += deleted;
    return writeErrors.length > 0 ? { n: deleted, writeErrors } : { n: deleted };
  },
});

async function runStatement(storage: Storage, namespace: Namespace, statement: unknown): Promise<number> {
  if (!isDocument(statement)) throw new CommandError(ErrorCodes.TypeMismatch, "BSON field 'delete.deletes' element is the wrong type, expected type 'object'");
  for (const field of Object.keys(statement)) {
    if (!statementFields.includes(field)) throw new CommandError(40415, `BSON field 'delete.deletes.${field}' is an unknown field.`);
  }
  if (!isDocument(statement.q)) throw new CommandError(ErrorCodes.TypeMismatch, "BSON field 'delete.deletes.q' is missing or not an object");
  const limit = isNumeric(statement.limit) ? toNumber(statement.limit) : NaN;
  if (limit !== 0 && limit !== 1) throw new CommandError(ErrorCodes.FailedToParse, `The limit field in delete objects must be 0 or 1. Got ${String(statement.limit)}`);
  checkSimpleCollation(statement.collation);
  const filter = statement.q;
  compileFilter(filter);
  const entry = storage.collection(`${namespace.db}.${namespace.collection}`);
  if (entry === undefined) return 0;
  if (limit === 1) {
    return storage.write(() => {
      for (const record of matchingRecords(storage, entry, filter)) {
        storage.deleteDocument(entry, record.key, record.document[entry.keyField]);
        return 1;
      }
      return 0;
    }, [entry.ns]);
  }
  return deleteAll(storage, entry, filter);
}

/** Deletes every match in chunks, re-checking each document inside the write. */
async function deleteAll(storage: Storage, entry: CollectionEntry, filter: Document): Promise<number> {
  const matcher = compileFilter(filter);
  const records = matchingRecords(storage, entry, filter);
  let deleted = 0;
  for (;;) {
    const keys = takeKeys(records, writeChunkSize);
    if (keys.length === 0) return deleted;
    await storage.write(() => {
      for (const key of keys) {
        const current = storage.findByEncodedKey(entry, key);
        if (current === undefined || !matcher(current)) continue;
        storage.deleteDocument(entry, key, current[entry.keyField]);
        deleted += 1;
      }
    }, [entry.ns]);
    if (keys.length < writeChunkSize) return deleted;
  }
}
