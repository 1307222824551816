/**
 * The engine's public entry. Everything an application, the server or the tools use is
 * exported here by name; modules are not imported directly from outside the engine.
 */
import type { Connection, ConnectionConfig } from './api.js';
import { ConnectionImpl } from './connection/index.js';

export type {
  CheckpointInfo, Connection, ConnectionConfig, Cursor, EngineLogEvent, EngineLogger, Item, KeyProviderStatus, Range,
  SearchNearResult, Session, StorageMode, TableInfo,
} from './api.js';
export {
  ChecksumError, ConfigError, CorruptionError, EngineError, ErrorCode, FormatError, IoError, KeyProviderError,
  PageLogError, RepairError, SchemaError, StateError, type ErrorCodeValue, type ErrorLocation,
} from './errors.js';

/** Opens (creating when asked and absent) the database home at `home`. */
export async function openConnection(home: string, config: ConnectionConfig = {}): Promise<Connection> {
  return ConnectionImpl.open(home, config);
}

export { ConnectionImpl } from './connection/index.js';
export { pitWrite, type PitMutation, type PitWriteRequest, type PitWriteResult } from './pit/index.js';
export {
  detect as detectMetadataProblems, createTable as repairCreateTable, modifyTable as repairModifyTable,
  injectIdCollision, repairAll, type RepairFinding, type RepairResult, type RepairRun, type MetadataChange,
} from './repair/index.js';
