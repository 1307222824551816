import { Timestamp } from 'bson';
import { pitWrite } from '../../engine/index.js';
import { ExitCode, FatalError } from '../lifecycle/index.js';
import { LogComponent, LogId } from '../log/index.js';
import {
  ConfigErrorCode, higherTermNoOpEntry, parseRestoreConfiguration, readBsonStream, RestoreConfigError, RestorePlan, RestoreStreamError,
  type ApplyCounts, type RestoreConfiguration,
} from '../restore/index.js';
import { bigIntToTimestamp, timestampToBigInt } from '../storage/index.js';
import type { Document } from '../values/index.js';
import type { StartupModeContext } from './context.js';

/** The collections `automationCredentials` writes to; they must exist (or come from `systemUuids`). */
const AUTH_COLLECTIONS = ['admin.system.roles', 'admin.system.users'] as const;

async function readAll(input: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

function fatal(message: string, code: number, extra: Record<string, unknown> = {}, logId?: number): FatalError {
  return new FatalError(message, ExitCode.Fatal, { code, ...extra }, { logId });
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
 * Refuses data files whose checkpoint is not the backup's: for a replica set, mongod requires
 * the recovery timestamp of the files (the checkpoint the engine opened) to be `maxCheckpointTs`
 * exactly. An older checkpoint lacks writes the restore takes as present; a newer one holds
 * writes the oplog truncation would leave orphaned.
 */
function checkRecoveryTimestamp(storage: StartupModeContext['storage'], maxCheckpointTs: Timestamp): void {
  const recovery = storage.recoveryTimestamp;
  if (recovery !== undefined && recovery === timestampToBigInt(maxCheckpointTs)) return;
  // mongod's fatal line has this id, and the id is the code it reports.
  throw fatal(
    'For a replica set, the recovery timestamp of the data files (the checkpoint the engine opened) must match the maxCheckpointTs of the restore configuration',
    LogId.MagicRestoreCheckpointMismatch,
    { recoveryTimestamp: recovery === undefined ? null : bigIntToTimestamp(recovery), maxCheckpointTs },
    LogId.MagicRestoreCheckpointMismatch,
  );
}

/**
 * `automationCredentials`: the roles and users collections must exist once `systemUuids` has
 * created what it names (mongod's check, 8816900); this server has no users or roles to create
 * in them, so the restore is then refused as not supported. Either way before anything is written.
 */
function refuseAutomationCredentials(plan: RestorePlan): never {
  for (const ns of AUTH_COLLECTIONS) {
    if (plan.collection(ns) === undefined) {
      // mongod's fatal line has this id, and the id is the code it reports.
      throw fatal(
        'Internal replicated collection does not exist on node: create it with a specified UUID through the systemUuids field of the restore configuration',
        LogId.MagicRestoreInternalCollectionMissing,
        { nss: ns, field: 'automationCredentials' },
        LogId.MagicRestoreInternalCollectionMissing,
      );
    }
  }
  throw fatal(
    'invalid restore configuration: automationCredentials is not supported: this server has no authentication, so no roles or users to create',
    ConfigErrorCode.NotSupported,
    { field: 'automationCredentials' },
  );
}

/**
 * `--magicRestore`: reads the restore configuration and the oplog entries from standard input
 * and restores the dbpath to a point in time (DESIGN.md 4.1), all through the engine's PIT
 * write path, in mongod's order: check that the files are the backup's checkpoint, truncate
 * the oplog after `maxCheckpointTs`, clear the replication state, write the given replica set
 * config and the invalid minvalid document, insert and apply the entries up to
 * `pointInTimeTimestamp`, create the `systemUuids` collections that are missing, delete the
 * cluster parameters not on the allowed list, write the higher-term no-op when asked, set
 * stable and oldest to the restore point, checkpoint. Invalid input is a FatalError (exit 6)
 * raised before anything is written.
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
  checkRecoveryTimestamp(storage, config.maxCheckpointTs);

  const plan = new RestorePlan(storage);
  step('truncate the oplog after maxCheckpointTs', () => plan.truncateOplogAfter(config.maxCheckpointTs), (removed) => ({ removed }));
  step('clear the replication state', () => plan.clearReplicationState(), (cleared) => ({ collections: cleared }));
  step('write the replica set config and minvalid', () => plan.writeReplicationState(config.replicaSetConfig), () => ({
    replSet: config.replicaSetConfig._id,
  }));
  // Without entries to apply the data stays at the checkpoint; with them, at the last one applied.
  let restorePoint = config.maxCheckpointTs;
  const pointInTime = config.pointInTimeTimestamp;
  if (pointInTime) {
    const counts: ApplyCounts = { inserted: 0, updated: 0, deleted: 0, commands: 0, noops: 0, skipped: 0 };
    step('insert and apply the oplog entries up to pointInTimeTimestamp', () => {
      let applied = 0;
      for (const entry of entries) {
        const ts = entry.ts as Timestamp;
        if (ts.compare(config.maxCheckpointTs) <= 0 || ts.compare(pointInTime) > 0) continue;
        plan.insertOplogEntry(entry);
        plan.applyOplogEntry(entry, counts);
        restorePoint = ts;
        applied++;
      }
      return applied;
    }, (applied) => ({ entries: applied, ...counts }));
  }
  const afterWrite: Array<() => void> = [];
  if (config.systemUuids) {
    const systemUuids = config.systemUuids;
    const { created, existing } = step('create the internal collections of systemUuids', () => plan.createInternalCollections(systemUuids), (result) => ({
      created: result.created.map((pair) => pair.ns), existing: result.existing,
    }));
    // Said once the restore's writes are durable: until then nothing is created.
    afterWrite.push(() => {
      for (const { ns, uuid } of created) {
        logger.info(LogComponent.Restore, LogId.MagicRestoreCreatingInternalCollection, 'Creating internal collection with specified UUID', { ns, uuid: { $uuid: uuid.toString() } });
      }
      for (const ns of existing) {
        logger.info(LogComponent.Restore, LogId.MagicRestoreInternalCollectionExists, 'Internal collection already exists, skipping collection creation', { ns });
      }
    });
  }
  step('clean the cluster parameters', () => plan.cleanClusterParameters(), (removed) => ({ removed }));
  const higherTerm = config.restoreToHigherTermThan;
  if (higherTerm !== undefined) {
    const top = plan.topOfOplog();
    if (!top) throw fatal('the oplog holds no entry at or before maxCheckpointTs to write the higher-term no-op after', ConfigErrorCode.BadValue);
    const noop = higherTermNoOpEntry(top, higherTerm);
    step('write the higher-term no-op oplog entry', () => plan.insertOplogEntry(noop), () => ({ term: String(noop.t), ts: noop.ts }));
    restorePoint = noop.ts as Timestamp;
  }
  if (config.automationCredentials) refuseAutomationCredentials(plan);

  const restoreTs = timestampToBigInt(restorePoint);
  if (context.checkOnly === true) return ExitCode.Clean;
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
  for (const report of afterWrite) report();
  logger.info(LogComponent.Restore, LogId.MagicRestoreStep, 'Magic restore step: set stable and oldest to the restore point and checkpoint', {
    durationMillis: steps['apply and checkpoint'], mutations: plan.mutations.length, restorePoint, checkpointId: result.checkpoint.id,
  });
  logger.info(LogComponent.Restore, LogId.MagicRestoreFinished, 'Finished magic restore', {
    durationMillis: Date.now() - started, restorePoint, checkpointId: result.checkpoint.id, steps,
  });
  return ExitCode.Clean;
}
