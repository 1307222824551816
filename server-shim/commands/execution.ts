import { Long } from 'bson';
import { defaultFirstBatchSize } from '../cursors/index.js';
import { compileFilter, compileProjection, parseSort, planAccess, sortStage, type AccessPlan } from '../query/index.js';
import type { CollectionEntry, Storage } from '../storage/index.js';
import { isDocument, type Document } from '../values/index.js';
import { cursorReply } from './arguments.js';
import type { CommandContext } from './context.js';

/** What a find (or a count) selects. */
export interface FindSpecification {
  filter?: Document;
  sort?: Document;
  projection?: Document;
  skip?: number;
  limit?: number;
}

/**
 * The documents of `entry` matching `filter`, with their keys, read through the best access
 * plan (point lookups or a key range when the filter constrains the key field) and lazily.
 */
export function* matchingRecords(storage: Storage, entry: CollectionEntry, filter: Document | undefined, reverse = false): Generator<{ key: Buffer; document: Document }> {
  const matcher = compileFilter(filter);
  const plan: AccessPlan = planAccess(filter, entry.keyField);
  for (const record of storage.scan(entry, plan, reverse)) if (matcher(record.document)) yield record;
}

/**
 * A find as a lazy stream: filter, sort, skip, limit, projection. A sort on the key field alone
 * (`{_id: 1}` or `{_id: -1}`) follows key order and streams; any other sort reads its whole
 * input (keeping only skip + limit documents when there is a limit).
 */
export function findStream(storage: Storage, entry: CollectionEntry | undefined, specification: FindSpecification): Iterable<Document> {
  if (entry === undefined) return [];
  // Validate everything before the first document is read, so errors come with the first reply.
  const sortFields = parseSort(specification.sort);
  const projector = compileProjection(specification.projection);
  compileFilter(specification.filter);
  const keyOrdered = sortFields.length === 1 && sortFields[0]!.path === entry.keyField;
  const skip = specification.skip ?? 0;
  const limit = specification.limit !== undefined && specification.limit > 0 ? specification.limit : undefined;

  return (function* () {
    let stream: Iterable<Document> = (function* () {
      for (const record of matchingRecords(storage, entry, specification.filter, keyOrdered && sortFields[0]!.direction === -1)) yield record.document;
    })();
    if (sortFields.length > 0 && !keyOrdered) stream = sortStage(sortFields, limit === undefined ? undefined : limit + skip)(stream);
    let skipped = 0;
    let returned = 0;
    for (const document of stream) {
      if (skipped < skip) {
        skipped += 1;
        continue;
      }
      yield projector ? projector(document) : document;
      returned += 1;
      if (limit !== undefined && returned >= limit) return;
    }
  })();
}

/** Options for the first reply of a cursor-returning command. */
export interface FirstBatchOptions {
  batchSize?: number;
  singleBatch?: boolean;
  sessionId?: string;
  noTimeout?: boolean;
  /** See `CursorOptions.keepOpenWhenExhausted`. */
  keepOpenWhenExhausted?: boolean;
  /** See `CursorOptions.onClose`. */
  onClose?: () => void;
}

/**
 * Opens a server cursor over `stream`, takes the first batch and replies
 * `{cursor: {firstBatch, id, ns}}`; the cursor is kept only if documents remain.
 */
export function firstBatchReply(context: CommandContext, ns: string, stream: Iterable<Document>, options: FirstBatchOptions = {}): Document {
  const cursors = context.server.cursors;
  const cursor = cursors.open(stream, {
    ns, sessionId: options.sessionId, noTimeout: options.noTimeout, keepOpenWhenExhausted: options.keepOpenWhenExhausted, onClose: options.onClose,
  });
  let batch;
  try {
    batch = cursor.takeBatch(options.batchSize ?? defaultFirstBatchSize);
  } catch (error) {
    cursors.kill(cursor.id);
    throw error;
  }
  if (batch.exhausted || options.singleBatch) {
    cursors.kill(cursor.id);
    return cursorReply(ns, batch.documents, Long.ZERO, 'firstBatch');
  }
  return cursorReply(ns, batch.documents, cursor.id, 'firstBatch');
}

/** The `cursor` sub-document option of aggregate and listCollections (`{batchSize}`). */
export function cursorBatchSize(cursorOption: unknown): number | undefined {
  if (!isDocument(cursorOption) || cursorOption.batchSize === undefined) return undefined;
  return Number(cursorOption.batchSize);
}
