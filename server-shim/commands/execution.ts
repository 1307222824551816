import { Long } from 'bson';
import { defaultFirstBatchSize } from '../cursors/index.js';
import { compileFilter, planAccess, type AccessPlan } from '../query/index.js';
import type { CollectionEntry, Storage } from '../storage/index.js';
import { isDocument, type Document } from '../values/index.js';
import { cursorReply } from './arguments.js';
import type { CommandContext } from './context.js';
import { planFind, type FindSpecification, type PointLookupStage } from './query_plan.js';

export type { FindSpecification } from './query_plan.js';

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
 * A find as a lazy stream: filter, sort, skip, limit, projection, run through the stages of
 * its plan (`query_plan.ts`). A sort on the key field alone (`{_id: 1}` or `{_id: -1}`) follows
 * key order and streams; any other sort reads its whole input (keeping only skip + limit
 * documents when there is a limit).
 */
export function findStream(storage: Storage, entry: CollectionEntry | undefined, specification: FindSpecification, pointStage: PointLookupStage = 'IDHACK'): Iterable<Document> {
  return planFind(storage, entry, specification, { pointStage }).documents;
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
