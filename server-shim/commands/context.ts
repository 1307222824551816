import type { ObjectId } from 'bson';
import type { CursorManager } from '../cursors/index.js';
import type { Logger } from '../log/index.js';
import type { ServerOptions, ServerParameters } from '../options/index.js';
import type { Storage } from '../storage/index.js';
import type { Document } from '../values/index.js';
import type { DocumentSequence } from '../wire/index.js';
import type { OperationRegistry } from './operations.js';
import type { CommandRegistry } from './registry.js';

/** Connection counts, as `serverStatus.connections` reports them. */
export interface ConnectionStatistics {
  current: number;
  totalCreated: number;
  active: number;
}

/** What commands may see and do of the server as a whole. */
export interface ServerState {
  readonly options: ServerOptions;
  readonly parameters: ServerParameters;
  readonly logger: Logger;
  readonly storage: Storage;
  readonly cursors: CursorManager;
  readonly commands: CommandRegistry;
  /** The commands running now (`currentOp`). */
  readonly operations: OperationRegistry;
  readonly startedAt: Date;
  /** `topologyVersion.processId`: new for each server process. */
  readonly processId: ObjectId;
  /** `topologyVersion.counter`: counts this process's role changes (a step-up or step-down). */
  readonly topologyCounter: number;
  /** Resolves at the next role change (an awaitable hello answers then). */
  topologyChange(): Promise<void>;
  /** The port actually listened on (after `--port 0`). */
  readonly port: number;
  /** `host:port` as this member names itself (`me`, `hosts`, `primary`). */
  readonly hostAndPort: string;
  /** Lines logged as start-up warnings (`getLog: "startupWarnings"`). */
  readonly startupWarnings: string[];
  /** Operation counts by kind (`serverStatus.opcounters`). */
  readonly operationCounters: Record<'insert' | 'query' | 'update' | 'delete' | 'getmore' | 'command', number>;
  connectionStatistics(): ConnectionStatistics;
  /** Starts a clean shutdown (final checkpoint, exit 0). */
  requestShutdown(reason: string): void;
}

/** The client connection a command arrived on. */
export interface ClientState {
  readonly connectionId: number;
  /** `address:port` of the client. */
  readonly remote: string;
  /** Client metadata from its first hello (driver name, version, application). */
  metadata?: Document;
  /** Asks the connection not to answer this request and to close (the shutdown command). */
  closeWithoutReply(): void;
  /** Resolves after `milliseconds`, or earlier when the connection closes (awaitable hello). */
  wait(milliseconds: number): Promise<void>;
}

/** Everything a command's `run` receives besides its request. */
export interface CommandContext {
  readonly server: ServerState;
  readonly storage: Storage;
  readonly client: ClientState;
  /** A logger whose lines carry this connection's context (`conn12`). */
  readonly logger: Logger;
}

/** One command request: the command document and where it is addressed. */
export interface CommandRequest {
  /** The command name as sent (the body's first field). */
  readonly name: string;
  /** The value of the first field: the collection name for most commands. */
  readonly argument: unknown;
  /** The whole command document (document sequences merged in as arrays). */
  readonly body: Document;
  /** The target database (`$db`). */
  readonly db: string;
  /**
   * The OP_MSG document sequences of a command in `commandsTakingRawSequences`, as received
   * (checked, not decoded, and not in `body`); absent when it was sent without any.
   */
  readonly sequences?: ReadonlyMap<string, DocumentSequence>;
}

/**
 * Commands that take their document sequences as received, in `CommandRequest.sequences`,
 * instead of decoded into the body: `insert` stores the bytes of each document it receives.
 */
export const commandsTakingRawSequences: ReadonlySet<string> = new Set(['insert']);
