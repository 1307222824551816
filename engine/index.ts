/**
 * The engine's public entry. Everything an application, the server or the tools use is
 * exported here by name; modules are not imported directly from outside the engine.
 */
import type { Connection, ConnectionConfig, EngineLogger } from './api.js';
import { ConnectionImpl } from './connection/index.js';
import { ErrorCode, StateError } from './errors.js';
import * as pit from './pit/index.js';
import type { PitWriteRequest, PitWriteResult } from './pit/index.js';
import * as repairWorker from './repair/index.js';
import type { RepairAllOptions, RepairFinding, RepairResult, RepairRun } from './repair/index.js';

export type {
  BackupFile, BackupPin, CheckpointInfo, CheckpointViewHold, Connection, DisaggRole, DisaggStatus, EngineHold, ConnectionConfig, Cursor, EngineLogEvent, EngineLogger, Item,
  JournalStats, KeyProviderStatus, Range, SearchNearResult, Session, StorageMode, TableInfo,
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

/** The point-in-time write path (see `engine/pit`). */
export function pitWrite(connection: Connection, request: PitWriteRequest): Promise<PitWriteResult> {
  return pit.pitWrite(internals(connection), request);
}

/** The repair worker (see `engine/repair`), entered from the server. */
export const repair = {
  detect: (connection: Connection): RepairFinding[] => repairWorker.detect(internals(connection)),
  createTable: (connection: Connection, request: Parameters<typeof repairWorker.createTable>[1]): Promise<RepairResult> =>
    repairWorker.createTable(internals(connection), request),
  modifyTable: (connection: Connection, request: Parameters<typeof repairWorker.modifyTable>[1]): Promise<RepairResult> =>
    repairWorker.modifyTable(internals(connection), request),
  injectIdCollision: (connection: Connection, a: string, b: string): Promise<RepairResult> =>
    repairWorker.injectIdCollision(internals(connection), a, b),
  repairAll: (connection: Connection, log: EngineLogger, options?: RepairAllOptions): Promise<RepairRun> =>
    repairWorker.repairAll(internals(connection), log, options),
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
export {
  collectReport, formatFinding, verifyHome, verifyTable, FindingCode,
  type Finding, type FindingLocation, type VerifyReport, type VerifyOptions,
} from './verify/index.js';
