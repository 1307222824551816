import { openConnection, resolveLocation, type Connection, type ConnectionConfig, type EngineLogEvent } from '../../engine/index.js';
import { engineEventLogIds, LogId, type Logger } from '../log/index.js';
import { Storage } from './storage.js';

/** What the server passes to open its storage. */
export interface OpenStorageOptions {
  dbpath: string;
  storage: 'local' | 'disagg';
  keyProvider?: string;
  keyProviderConfig?: string;
  cacheSizeMB?: number;
  pageLogRetain?: number | 'all';
  /** Background journal flush period (the `journalCommitIntervalMs` server parameter). */
  journalCommitIntervalMs?: number;
  /** Open an existing dbpath without writing anything (checks that must leave every file as it was). */
  readOnly?: boolean;
  /** The shared page log directory (`--pageLog`). */
  pageLog?: string;
  /** `--disaggRole`. */
  disaggRole?: 'leader' | 'follower';
  /** `--disaggCheckpoint`. */
  disaggCheckpoint?: string;
  /** The `disaggLeaseMs` server parameter. */
  leaseMs?: number;
}

/** The engine configuration for the server's options, with engine events forwarded to `logger`. */
export function engineConfig(options: OpenStorageOptions, logger: Logger): ConnectionConfig {
  const config: ConnectionConfig = { create: true, storage: options.storage, logger: forwardEngineEvents(logger), journal: true };
  if (options.journalCommitIntervalMs !== undefined) config.journalCommitIntervalMs = options.journalCommitIntervalMs;
  if (options.keyProvider !== undefined) config.keyProvider = options.keyProvider;
  if (options.keyProviderConfig !== undefined) config.keyProviderConfig = options.keyProviderConfig;
  if (options.cacheSizeMB !== undefined) config.cacheSize = Math.round(options.cacheSizeMB * 1024 * 1024);
  if (options.pageLogRetain !== undefined) config.pageLogRetain = options.pageLogRetain;
  if (options.readOnly === true) {
    config.create = false;
    config.readOnly = true;
  }
  if (options.pageLog !== undefined) config.pageLogPath = resolveLocation(options.pageLog);
  if (options.disaggRole === 'follower') config.role = 'follower';
  if (options.disaggCheckpoint !== undefined) config.followerCheckpoint = options.disaggCheckpoint;
  if (options.leaseMs !== undefined) config.leaseMs = options.leaseMs;
  return config;
}

/** Writes engine log events as server log lines under the engine's own component. */
export function forwardEngineEvents(logger: Logger): (event: EngineLogEvent) => void {
  const engineLogger = logger.withContext('engine');
  return (event) => {
    const component = event.component.toUpperCase();
    const id = event.event === undefined ? LogId.EngineEvent : engineEventLogIds[event.event];
    switch (event.level) {
      case 'debug':
        engineLogger.debug(component, id, event.msg, event.attr);
        break;
      case 'info':
        engineLogger.info(component, id, event.msg, event.attr);
        break;
      case 'warn':
        engineLogger.warning(component, id, event.msg, event.attr);
        break;
      case 'error':
        engineLogger.error(component, id, event.msg, event.attr);
        break;
    }
  };
}

/** Opens the engine on the dbpath. Engine errors propagate unchanged (the caller reports them). */
export async function openEngine(options: OpenStorageOptions, logger: Logger): Promise<Connection> {
  return openConnection(options.dbpath, engineConfig(options, logger));
}

/** Opens the engine and attaches the storage layer to it. */
export async function openStorage(options: OpenStorageOptions, logger: Logger): Promise<Storage> {
  const connection = await openEngine(options, logger);
  try {
    return new Storage(connection, logger);
  } catch (error) {
    await connection.close().catch(() => undefined);
    throw error;
  }
}
