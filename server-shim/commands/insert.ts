import { CommandError, ErrorCodes } from '../errors/index.js';
import type { Document } from '../values/index.js';
import { checkKnownFields, collectionNamespace, optionalBoolean, requiredArray } from './arguments.js';
import { defineCommand } from './registry.js';
import type { EncodedDocument } from '../storage/index.js';
import { prepareInsert, prepareReceivedInsert, writeChunkSize, writeError } from './write_support.js';

/**
 * Documents committed in one storage transaction, as mongod's `internalInsertMaxBatchSize`: a
 * group shares one journal record and one commit.
 */
const insertGroupSize = 64;

/**
 * `insert`: inserts documents (creating the collection when needed), in groups of
 * `insertGroupSize` per transaction, each document with its own oplog entry. Ordered inserts stop at the first error; each failed
 * document is reported in `writeErrors` (11000 with `keyPattern`/`keyValue` for a duplicate `_id`).
 */
export const insertCommand = defineCommand({
  name: 'insert',
  writes: true,
  help: 'inserts documents',
  run: async (request, context) => {
    checkKnownFields(request, ['documents', 'ordered', 'bypassDocumentValidation']);
    const namespace = collectionNamespace(request);
    const ns = `${namespace.db}.${namespace.collection}`;
    // Sent as a document sequence, the documents arrive as bytes; in the body, decoded.
    const sequence = request.sequences?.get('documents');
    const documents = sequence === undefined ? requiredArray(request, 'documents') : undefined;
    const count = sequence?.length ?? documents!.length;
    if (count === 0) throw new CommandError(ErrorCodes.InvalidLength, 'Write batch sizes must be between 1 and 100000. Got 0 operations.');
    if (count > 100000) throw new CommandError(ErrorCodes.InvalidLength, `Write batch sizes must be between 1 and 100000. Got ${count} operations.`);
    const ordered = optionalBoolean(request, 'ordered') ?? true;
    const prepare = (index: number, keyField: string): EncodedDocument =>
      sequence === undefined ? prepareInsert(documents![index], keyField) : prepareReceivedInsert(sequence.bytes(index), keyField);
    const storage = context.storage;
    const writeErrors: Document[] = [];
    let inserted = 0;
    for (let start = 0; start < count; start += writeChunkSize) {
      if (ordered && writeErrors.length > 0) break;
      await storage.write(() => {
        const entry = storage.collection(ns) ?? storage.createCollection(namespace);
        const end = Math.min(start + writeChunkSize, count);
        for (let group = start; group < end; group += insertGroupSize) {
          const groupEnd = Math.min(group + insertGroupSize, end);
          const prepared: EncodedDocument[] = [];
          try {
            for (let index = group; index < groupEnd; index += 1) prepared.push(prepare(index, entry.keyField));
            storage.insertDocuments(entry, prepared);
            inserted += prepared.length;
            continue;
          } catch {
            // Some document of the group is refused (a duplicate key, a bad _id): nothing of the
            // group was written; insert it one document at a time to report exactly which.
          }
          for (let index = group; index < groupEnd; index += 1) {
            try {
              storage.insertEncodedDocument(entry, prepare(index, entry.keyField));
              inserted += 1;
            } catch (error) {
              writeErrors.push(writeError(index, error));
              if (ordered) return;
            }
          }
        }
      }, [ns]);
    }
    context.server.operationCounters.insert += inserted;
    return writeErrors.length > 0 ? { n: inserted, writeErrors } : { n: inserted };
  },
});
