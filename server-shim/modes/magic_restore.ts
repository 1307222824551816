import { Long, Timestamp } from 'bson';
import { pitWrite } from '../../engine/index.js';
import { ExitCode, FatalError } from '../lifecycle/index.js';
import { LogComponent, LogId } from '../log/index.js';
import {
  parseRestoreConfiguration, readBsonStream, RestoreConfigError, RestorePlan, RestoreStreamError, type ApplyCounts,
  type RestoreConfiguration,
} from '../restore/index.js';
import { bigIntToTimestamp, timestampToBigInt } from '../storage/index.js';
import type { Document } from '../values/index.js';
import type { StartupModeContext } from './context.js';

/** How far above `restoreToHigherTermThan` the restored node's term goes, as mongod does. */
const TERM_INCREMENT = 100n;

async function readAll(input: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

function fatal(message: string, code: number, extra: Record<string, unknown> = {}): FatalError {
  return new FatalError(message, ExitCode.Fatal, { code, ...extra });
}

/** Reads and checks the whole stream before anything is written. */
function parseStream(bytes: Buffer, replSet: string | undefined): { config: RestoreConfiguration; entries: Document[] } {
  let config: RestoreConfiguration | undefined;
  const entries: Document[] = [];
  let previous: Timestamp | undefined;
  try {
    for (const { document, offset } of readBsonStream(bytes)) {
      if (!config) {
        config = parseRestoreConfiguration(document, replSet);
        continue;
      }
      const ts = document.ts;
      if (!(ts instanceof Timestamp) || typeof document.op !== 'string' || typeof document.ns !== 'string') {
        throw fatal(`the document at byte ${offset} is not an oplog entry (it needs ts, op and ns)`, 2, { offset });
      }
      if (previous && ts.compare(previous) <= 0) {
        throw fatal(`oplog entries must be in increasing ts order: ${ts.toString()} follows ${previous.toString()}`, 2, { offset });
      }
      previous = ts;
      entries.push(document);
    }
  } catch (error) {
    if (error instanceof RestoreStreamError) throw fatal(error.message, error.code, { offset: error.offset });
    if (error instanceof RestoreConfigError) throw fatal(`invalid restore configuration: ${error.message}`, error.code, { field: error.field });
    throw error;
  }
  if (!config) throw fatal('the stream holds no restore configuration', 8290500);
  return { config, entries };
}

/** The restore stream, read and checked (`readRestoreInput`). */
export interface RestoreInput {
  config: RestoreConfiguration;
  entries: Document[];
  bytes: number;
  durationMillis: number;
}

/**
 * Reads the whole restore stream from standard input and checks it, before the engine opens:
 * invalid input is a FatalError (exit 6) that leaves every file of the dbpath as it was (an
 * engine open would already record the node's claim in a shared page log).
 */
export async function readRestoreInput(input: NodeJS.ReadableStream, replSet: string | undefined): Promise<RestoreInput> {
  const begin = Date.now();
  const bytes = await readAll(input);
  const { config, entries } = parseStream(bytes, replSet);
  return { config, entries, bytes: bytes.length, durationMillis: Date.now() - begin };
}

/**
 * `--magicRestore`: reads the restore configuration and the oplog entries from standard input
 * and restores the dbpath to a point in time (DESIGN.md 4.1), all through the engine's PIT
 * write path: truncate the oplog after `maxCheckpointTs`, clear the replication state, write
 * the new replica set config and minvalid, insert and apply the entries up to
 * `pointInTimeTimestamp`, delete the cluster parameters not on the allowed list, write the
 * higher-term no-op when asked, set stable and oldest to the restore point, checkpoint.
 * Invalid input is a FatalError (exit 6) raised before anything is written.
 */
export async function runMagicRestore(context: StartupModeContext): Promise<number> {
  const { logger, storage, options } = context;
  const started = Date.now();
  const steps: Record<string, number> = {};
  const step = <T>(name: string, work: () => T, attr: (result: T) => Record<string, unknown> = () => ({})): T => {
    const begin = Date.now();
    const result = work();
    steps[name] = Date.now() - begin;
    logger.info(LogComponent.Restore, LogId.MagicRestoreStep, `Magic restore step: ${name}`, { durationMillis: steps[name], ...attr(result) });
    return result;
  };
  // The server logs the beginning when it reads the stream before opening the engine.
  if (context.restoreInput === undefined) logger.info(LogComponent.Restore, LogId.MagicRestoreBeginning, 'Beginning magic restore', { dbpath: options.dbpath });

  const input = context.restoreInput ?? await readRestoreInput(context.input, options.replSet);
  const { config, entries } = input;
  steps['read the restore stream'] = input.durationMillis;
  logger.info(LogComponent.Restore, LogId.MagicRestoreStep, 'Magic restore step: read the restore stream', {
    durationMillis: input.durationMillis, bytes: input.bytes, oplogEntries: entries.length,
    maxCheckpointTs: config.maxCheckpointTs, pointInTimeTimestamp: config.pointInTimeTimestamp ?? null,
  });
  const checkpointTs = timestampToBigInt(config.maxCheckpointTs);
  const lastCheckpoint = storage.lastCheckpoint();
  if (lastCheckpoint && lastCheckpoint.timestamp > checkpointTs) {
    throw fatal(
      `the dbpath's checkpoint (${bigIntToTimestamp(lastCheckpoint.timestamp).toString()}) is newer than maxCheckpointTs ${config.maxCheckpointTs.toString()}`,
      2,
    );
  }
  const pointInTime = config.pointInTimeTimestamp;
  let restorePoint = pointInTime ?? config.maxCheckpointTs;
  const term = config.restoreToHigherTermThan !== undefined ? config.restoreToHigherTermThan + TERM_INCREMENT : BigInt(storage.term);

  const plan = new RestorePlan(storage);
  step('truncate the oplog after maxCheckpointTs', () => plan.truncateOplogAfter(config.maxCheckpointTs), (removed) => ({ removed }));
  step('clear the replication state', () => plan.clearReplicationState(), (cleared) => ({ collections: cleared }));
  const counts: ApplyCounts = { inserted: 0, updated: 0, deleted: 0, commands: 0, noops: 0, skipped: 0 };
  if (pointInTime) {
    step('insert and apply the oplog entries up to pointInTimeTimestamp', () => {
      let applied = 0;
      for (const entry of entries) {
        const ts = entry.ts as Timestamp;
        if (ts.compare(config.maxCheckpointTs) <= 0 || ts.compare(pointInTime) > 0) continue;
        plan.insertOplogEntry(entry);
        plan.applyOplogEntry(entry, counts);
        applied++;
      }
      return applied;
    }, (applied) => ({ entries: applied, ...counts }));
  }
  step('clean the cluster parameters', () => plan.cleanClusterParameters(), (removed) => ({ removed }));
  if (config.restoreToHigherTermThan !== undefined) {
    restorePoint = bigIntToTimestamp(timestampToBigInt(restorePoint) + 1n);
    step('write the higher-term no-op oplog entry', () => plan.insertOplogEntry({
      op: 'n', ns: '', o: { msg: 'restore incrementing term' }, ts: restorePoint, t: Long.fromBigInt(term), v: Long.fromNumber(2), wall: new Date(),
    }), () => ({ term: String(term), ts: restorePoint }));
  }
  step('write the replica set config and minvalid', () => plan.writeReplicationState(config.replicaSetConfig, restorePoint, term), () => ({
    replSet: config.replicaSetConfig._id,
  }));

  const restoreTs = timestampToBigInt(restorePoint);
  const begin = Date.now();
  let result;
  try {
    result = await pitWrite(storage.connection, {
      timestamp: restoreTs,
      mutations: plan.mutations,
      resetTimestamps: { stable: restoreTs, oldest: restoreTs },
    });
  } catch (error) {
    throw new FatalError(`magic restore failed while writing: ${error instanceof Error ? error.message : String(error)}`, ExitCode.Fatal, {}, { cause: error });
  }
  steps['apply and checkpoint'] = Date.now() - begin;
  logger.info(LogComponent.Restore, LogId.MagicRestoreStep, 'Magic restore step: set stable and oldest to the restore point and checkpoint', {
    durationMillis: steps['apply and checkpoint'], mutations: plan.mutations.length, restorePoint, checkpointId: result.checkpoint.id,
  });
  logger.info(LogComponent.Restore, LogId.MagicRestoreFinished, 'Finished magic restore', {
    durationMillis: Date.now() - started, restorePoint, checkpointId: result.checkpoint.id, steps,
  });
  return ExitCode.Clean;
}
