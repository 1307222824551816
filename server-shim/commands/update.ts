import { CommandError, ErrorCodes } from '../errors/index.js';
import { compileFilter, compileUpdate, upsertSeed, type CompiledUpdate } from '../query/index.js';
import type { CollectionEntry, Namespace, Storage } from '../storage/index.js';
import { encodeDocument, isDocument, type Document } from '../values/index.js';
import { checkKnownFields, checkSimpleCollation, collectionNamespace, optionalBoolean, requiredArray } from './arguments.js';
import { matchingRecords } from './execution.js';
import { defineCommand } from './registry.js';
import { checkDocumentSize, takeKeys, withIdFirst, writeChunkSize, writeError } from './write_support.js';

/** The outcome of one update statement. */
interface StatementResult {
  matched: number;
  modified: number;
  upsertedId?: unknown;
}

const statementFields = ['q', 'u', 'upsert', 'multi', 'arrayFilters', 'hint', 'collation', 'c', 'sampleId'];

/**
 * `update`: each statement `{q, u, upsert, multi}` updates the first matching document or, with
 * `multi`, all of them; with `upsert` and no match it inserts one. `n` counts matched (and
 * upserted) documents and `nModified` only those whose bytes changed, exactly like mongod: an
 * update that leaves a document as it was is not written and not logged.
 */
export const updateCommand = defineCommand({
  name: 'update',
  writes: true,
  help: 'updates documents',
  run: async (request, context) => {
    checkKnownFields(request, ['updates', 'ordered', 'bypassDocumentValidation', 'let']);
    const namespace = collectionNamespace(request);
    const statements = requiredArray(request, 'updates');
    const ordered = optionalBoolean(request, 'ordered') ?? true;
    const writeErrors: Document[] = [];
    const upserted: Document[] = [];
    let matched = 0;
    let modified = 0;
    for (const [index, statement] of statements.entries()) {
      try {
        const result = await runStatement(context.storage, namespace, statement);
        matched += result.matched;
        modified += result.modified;
        if (result.upsertedId !== undefined) upserted.push({ index, _id: result.upsertedId });
      } catch (error) {
        writeErrors.push(writeError(index, error));
        if (ordered) break;
      }
    }
    context.server.operationCounters.update += statements.length;
    const reply: Document = { n: matched + upserted.length, nModified: modified };
    if (upserted.length > 0) reply.upserted = upserted;
    if (writeErrors.length > 0) reply.writeErrors = writeErrors;
    return reply;
  },
});

async function runStatement(storage: Storage, namespace: Namespace, statement: unknown): Promise<StatementResult> {
  if (!isDocument(statement)) throw new CommandError(ErrorCodes.TypeMismatch, "BSON field 'update.updates' element is the wrong type, expected type 'object'");
  for (const field of Object.keys(statement)) {
    if (!statementFields.includes(field)) throw new CommandError(40415, `BSON field 'update.updates.${field}' is an unknown field.`);
  }
  if (!isDocument(statement.q)) throw new CommandError(ErrorCodes.TypeMismatch, "BSON field 'update.updates.q' is missing or not an object");
  if (statement.u === undefined) throw new CommandError(40414, "BSON field 'update.updates.u' is missing but a required field");
  if (Array.isArray(statement.arrayFilters) && statement.arrayFilters.length > 0) {
    throw new CommandError(ErrorCodes.BadValue, 'arrayFilters are not supported by this server');
  }
  checkSimpleCollation(statement.collation);
  const filter = statement.q;
  compileFilter(filter);
  const update = compileUpdate(statement.u);
  const multi = statement.multi === true;
  const upsert = statement.upsert === true;
  if (multi && update.kind === 'replacement') throw new CommandError(ErrorCodes.FailedToParse, 'multi update is not supported for replacement-style update');

  const ns = `${namespace.db}.${namespace.collection}`;
  const result: StatementResult = { matched: 0, modified: 0 };
  const entry = storage.collection(ns);
  if (entry !== undefined) {
    if (multi) await updateAll(storage, entry, filter, update, result);
    else {
      await storage.write(() => {
        // Read and write in one synchronous step so that nothing changes the document between.
        for (const record of matchingRecords(storage, entry, filter)) {
          result.matched = 1;
          if (applyTo(storage, entry, record.key, record.document, update)) result.modified = 1;
          break;
        }
      }, [ns]);
    }
  }
  if (result.matched === 0 && upsert) {
    await storage.write(() => {
      const target = storage.collection(ns) ?? storage.createCollection(namespace);
      const seed = upsertSeed(filter);
      const base = update.kind === 'replacement' ? (Object.hasOwn(seed, '_id') ? { _id: seed._id } : {}) : seed;
      const document = withIdFirst(update.apply(base, true));
      checkDocumentSize(document, 'upserted document');
      storage.insertDocument(target, document);
      result.upsertedId = document._id;
    }, [ns]);
  }
  return result;
}

/** Applies the update to one document and writes it if its bytes changed; true when written. */
function applyTo(storage: Storage, entry: CollectionEntry, key: Buffer, document: Document, update: CompiledUpdate): boolean {
  const updated = update.apply(document, false);
  if (encodeDocument(updated).equals(encodeDocument(document))) return false;
  checkDocumentSize(updated, 'Resulting document after update');
  storage.replaceDocument(entry, key, updated);
  return true;
}

/**
 * Updates every match in chunks: keys are gathered from a lazy scan, then each document is
 * re-read, re-checked and updated inside one write, so other clients run between chunks.
 */
async function updateAll(storage: Storage, entry: CollectionEntry, filter: Document, update: CompiledUpdate, result: StatementResult): Promise<void> {
  const matcher = compileFilter(filter);
  const records = matchingRecords(storage, entry, filter);
  for (;;) {
    const keys = takeKeys(records, writeChunkSize);
    if (keys.length === 0) return;
    await storage.write(() => {
      for (const key of keys) {
        const current = storage.findByEncodedKey(entry, key);
        if (current === undefined || !matcher(current)) continue;
        result.matched += 1;
        if (applyTo(storage, entry, key, current, update)) result.modified += 1;
      }
    }, [entry.ns]);
    if (keys.length < writeChunkSize) return;
  }
}
