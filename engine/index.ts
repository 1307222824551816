/**
 * The engine's public entry. Everything an application, the server or the tools use is
 * exported here by name; modules are not imported directly from outside the engine.
 */
import type { Connection, ConnectionConfig, EngineLogger } from './api.js';
import { ConnectionImpl } from './connection/index.js';
import { ErrorCode, StateError } from './errors.js';
import type { PitWriteRequest, PitWriteResult } from './pit/index.js';
import type * as repairWorker from './repair/index.js';
import type { RepairAllOptions, RepairFinding, RepairResult, RepairRun } from './repair/index.js';
import type { Finding } from './verify/index.js';
import type { VerifyOptions, VerifyReport, VerifySummary } from './verify/index.js';

export type {
  BackupFile, BackupPin, CacheStats, CheckpointInfo, CheckpointViewHold, Connection, DisaggRole, DisaggStatus, EngineHold, ConnectionConfig, Cursor, EngineEventName, EngineLogEvent, EngineLogger, Item,
  JournalStats, KeyProviderStatus, PageLogStats, Range, SearchNearResult, Session, StorageMode, TableInfo,
} from './api.js';
export {
  ChecksumError, ConfigError, CorruptionError, EngineError, ErrorClass, ErrorCode, errorClassOf, FormatError, IoError, isCorruption,
  KeyProviderError, PageLogError, RepairError, SchemaError, StateError, type ErrorClassValue, type ErrorCodeValue, type ErrorLocation,
} from './errors.js';

/** Opens (creating when asked and absent) the database home at `home`. */
export async function openConnection(home: string, config: ConnectionConfig = {}): Promise<Connection> {
  return ConnectionImpl.open(home, config);
}

export { ConnectionImpl };
export type { PitMutation, PitWriteRequest, PitWriteResult } from './pit/index.js';
export type { RepairAllOptions, RepairFinding, RepairResult, RepairRun, MetadataChange } from './repair/index.js';

/** The engine's connection behind the public interface (internal entry points need it). */
function internals(connection: Connection): ConnectionImpl {
  if (!(connection instanceof ConnectionImpl)) {
    throw new StateError(ErrorCode.InvalidArgument, 'not a connection opened by this engine');
  }
  return connection;
}

// The point-in-time write path, the repair worker and the verifier are imported on first use:
// a server that only serves clients never loads them.

/** The point-in-time write path (see `engine/pit`). */
export async function pitWrite(connection: Connection, request: PitWriteRequest): Promise<PitWriteResult> {
  const pit = await import('./pit/index.js');
  return pit.pitWrite(internals(connection), request);
}

const loadRepairWorker = (): Promise<typeof repairWorker> => import('./repair/index.js');

/** The repair worker (see `engine/repair`), entered from the server. */
export const repair = {
  detect: async (connection: Connection): Promise<RepairFinding[]> => (await loadRepairWorker()).detect(internals(connection)),
  createTable: async (connection: Connection, request: Parameters<typeof repairWorker.createTable>[1]): Promise<RepairResult> =>
    (await loadRepairWorker()).createTable(internals(connection), request),
  modifyTable: async (connection: Connection, request: Parameters<typeof repairWorker.modifyTable>[1]): Promise<RepairResult> =>
    (await loadRepairWorker()).modifyTable(internals(connection), request),
  injectIdCollision: async (connection: Connection, a: string, b: string): Promise<RepairResult> =>
    (await loadRepairWorker()).injectIdCollision(internals(connection), a, b),
  repairAll: async (connection: Connection, log: EngineLogger, options?: RepairAllOptions): Promise<RepairRun> =>
    (await loadRepairWorker()).repairAll(internals(connection), log, options),
};

/**
 * Restores a missing or damaged `WiredTiger.turtle` of a stopped home from its intact
 * `WiredTiger.turtle.backup` (before the home is opened: the server's `--repair`).
 */
export { restoreTurtleFromBackup, type TurtleRestore } from './meta/index.js';

/**
 * Resolves when no point-in-time write holds the write lock of the tables `uris` (of any table
 * when none are given).
 */
export function whenWritable(connection: Connection, uris?: readonly string[]): Promise<void> {
  return internals(connection).whenWritable(uris);
}

/** Verification as a library: every finding with its location (see `engine/verify`). */
export { formatFinding, FindingCode, type Finding, type FindingLocation } from './verify/findings.js';
export type { VerifyReport, VerifyOptions } from './verify/index.js';

/** Every finding of a whole home, then the summary (see `engine/verify`). */
export async function* verifyHome(home: string, options: VerifyOptions = {}): AsyncGenerator<Finding, VerifySummary> {
  const verify = await import('./verify/index.js');
  return yield* verify.verifyHome(home, options);
}

/** Every finding of one table, of a stopped home or of an open connection, then the summary. */
export async function* verifyTable(target: string | Connection, uri: string, options: VerifyOptions = {}): AsyncGenerator<Finding, VerifySummary> {
  const verify = await import('./verify/index.js');
  return yield* verify.verifyTable(target, uri, options);
}

/** Runs a verification to its end: the findings and the summary. */
export async function collectReport(run: AsyncGenerator<Finding, VerifySummary>): Promise<VerifyReport> {
  const verify = await import('./verify/index.js');
  return verify.collectReport(run);
}
/** Page-log locations as users write them: resolved for the engine, shown with a URL's password masked. */
export { displayLocation, resolveLocation } from './page_log/location.js';
/** The random source of the engine's identifiers, for the server's too (see random.ts). */
export { randomBytes, randomUUID } from './random.js';
