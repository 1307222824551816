import { Timestamp } from 'bson';
import { pitWrite } from '../../engine/index.js';
import { LogComponent, LogId, type Logger } from '../log/index.js';
import type { ApplyCounts } from '../restore/index.js';
import { bigIntToTimestamp, oplogNamespace, timestampToBigInt, type Storage } from '../storage/index.js';
import { decodeDocument, encodeKey, type Document } from '../values/index.js';

/** Oplog entries applied per point-in-time write: bounds the memory one batch holds. */
const RECOVERY_BATCH_ENTRIES = 5_000;

/** What replication recovery did. */
export interface ReplicationRecoveryResult {
  /** The checkpoint's stable timestamp the shared tables were at. */
  from: bigint;
  /** The last oplog entry applied (equal to `from` when there was none). */
  to: bigint;
  applied: number;
  counts: ApplyCounts;
}

/**
 * Replication recovery, as mongod runs it at start-up: the engine has opened its last
 * checkpoint and replayed the journal, so the oplog (a journaled local table) holds every
 * durable write, but the shared tables are as of the checkpoint's stable timestamp. Every
 * oplog entry after it is applied to them with magic restore's oplog application
 * (`RestorePlan.applyOplogEntry`), through the point-in-time write path, which moves the stable
 * timestamp to the last entry and checkpoints. Local mode keeps every table in the journal, so
 * there is nothing to apply.
 */
export async function recoverFromOplog(storage: Storage, logger: Logger): Promise<ReplicationRecoveryResult> {
  const from = storage.connection.lastCheckpoint()?.timestamp ?? 0n;
  const counts: ApplyCounts = { inserted: 0, updated: 0, deleted: 0, commands: 0, noops: 0, skipped: 0 };
  const result: ReplicationRecoveryResult = { from, to: from, applied: 0, counts };
  const oplog = storage.collection(oplogNamespace);
  if (oplog === undefined) return result;
  if (storage.connection.storage !== 'disagg') {
    // Every table is journaled and replayed: the data is whole up to the oplog's top, which
    // becomes the stable timestamp (the next checkpoint holds it all).
    const top = storage.lastAppliedTimestamp;
    if (top > storage.connection.stableTimestamp) storage.connection.setTimestamps({ stable: top, oldest: top });
    result.to = top;
    return result;
  }
  const started = Date.now();
  let after = from;
  for (;;) {
    const batch = readEntriesAfter(storage, oplog.uri, after);
    if (batch.length === 0) break;
    if (result.applied === 0) {
      logger.info(LogComponent.Replication, LogId.ReplicationRecoveryStarting, 'Recovering from stable timestamp', { stableTimestamp: bigIntToTimestamp(from), topOfOplog: batch.at(-1)!.ts });
    }
    // Magic restore's oplog application (and the query engine its updates use) is loaded only
    // when there is something to apply: a clean start does not need it.
    const { RestorePlan } = await import('../restore/index.js');
    const plan = new RestorePlan(storage);
    for (const entry of batch) plan.applyOplogEntry(entry, counts);
    const last = timestampToBigInt(batch.at(-1)!.ts as Timestamp);
    // Start-up may already have committed above the oplog's top (a catalog entry it recreated).
    const stable = storage.connection.stableTimestamp;
    await pitWrite(storage.connection, { timestamp: last > stable ? last : stable, mutations: plan.mutations });
    storage.reloadCatalog();
    result.applied += batch.length;
    result.to = last;
    after = last;
  }
  if (result.applied > 0) {
    logger.info(LogComponent.Replication, LogId.ReplicationRecoveryFinished, 'Applied oplog entries during replication recovery', {
      from: bigIntToTimestamp(from), to: bigIntToTimestamp(result.to), entries: result.applied, ...counts, durationMillis: Date.now() - started,
    });
  }
  return result;
}

function readEntriesAfter(storage: Storage, oplogUri: string, after: bigint): Document[] {
  const session = storage.connection.openSession();
  try {
    const cursor = session.openCursor(oplogUri);
    const entries: Document[] = [];
    for (const [, value] of cursor.entries({ gt: encodeKey(bigIntToTimestamp(after)) })) {
      entries.push(decodeDocument(value as Buffer));
      if (entries.length >= RECOVERY_BATCH_ENTRIES) break;
    }
    cursor.close();
    return entries;
  } finally {
    session.close();
  }
}
