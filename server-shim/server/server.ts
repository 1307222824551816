import { createServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { OperationRegistry, type CommandRegistry, type ConnectionStatistics, type ServerState } from '../commands/index.js';
import { CursorManager } from '../cursors/index.js';
import { ExitCode, FatalError } from '../lifecycle/index.js';
import { describeError, LogComponent, LogId, type Logger } from '../log/index.js';
import type { ServerOptions, ServerParameters } from '../options/index.js';
import type { Storage } from '../storage/index.js';
import { newObjectId } from '../values/index.js';
import { ClientConnection, type ConnectionOwner } from './client_connection.js';

/**
 * The listening server: accepts connections on every `--bind_ip` address, holds the server-wide
 * state commands see (cursors, counters, parameters), and runs the periodic checkpoint and the
 * idle-cursor sweep.
 */
export class Server implements ServerState, ConnectionOwner {
  readonly startedAt = new Date();
  readonly processId = newObjectId();
  readonly cursors = new CursorManager();
  readonly operations = new OperationRegistry();
  readonly startupWarnings: string[] = [];
  readonly operationCounters = { insert: 0, query: 0, update: 0, delete: 0, getmore: 0, command: 0 };
  private readonly listeners: NetServer[] = [];
  private readonly connections = new Set<ClientConnection>();
  private totalConnections = 0;
  private requestCounter = 0;
  private listeningPort = 0;
  private checkpointTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private pageLogTimer: NodeJS.Timeout | undefined;
  private topologyChanges = 0;
  private topologyChanged: { promise: Promise<void>; resolve: () => void } = Server.nextChange();
  /** The last failure of the periodic pick-up, logged once until it changes. */
  private lastPageLogError: string | undefined;

  constructor(
    readonly options: ServerOptions,
    readonly parameters: ServerParameters,
    readonly logger: Logger,
    readonly storage: Storage,
    readonly registry: CommandRegistry,
    /** Called when a command asks the server to shut down. */
    private readonly onShutdownRequest: (reason: string) => void,
  ) {
    parameters.onChange('checkpointIntervalSecs', () => this.scheduleCheckpoint());
    storage.onRoleChange(() => {
      this.topologyChanges += 1;
      const changed = this.topologyChanged;
      this.topologyChanged = Server.nextChange();
      changed.resolve();
    });
    parameters.onChange('disaggPickUpIntervalMs', () => this.schedulePageLogWatch());
    parameters.onChange('logLevel', (level) => (logger.verbosity = Number(level)));
    logger.verbosity = parameters.getInteger('logLevel');
  }

  private static nextChange(): { promise: Promise<void>; resolve: () => void } {
    let resolve!: () => void;
    const promise = new Promise<void>((done) => (resolve = done));
    return { promise, resolve };
  }

  get topologyCounter(): number {
    return this.topologyChanges;
  }

  topologyChange(): Promise<void> {
    return this.topologyChanged.promise;
  }

  get state(): ServerState {
    return this;
  }

  get commands(): CommandRegistry {
    return this.registry;
  }

  get port(): number {
    return this.listeningPort;
  }

  get hostAndPort(): string {
    const first = this.options.bindIp[0]!;
    const host = first === '0.0.0.0' || first === '::' ? hostname() : first.includes(':') ? `[${first}]` : first;
    return `${host}:${this.listeningPort}`;
  }

  nextRequestId(): number {
    this.requestCounter = (this.requestCounter + 1) & 0x7fffffff;
    return this.requestCounter;
  }

  /**
   * Listens on every bind address (the first picks the port when `--port 0`). Throws
   * FatalError with exit code 48 when an address cannot be listened on.
   */
  async listen(): Promise<number> {
    let port = this.options.port;
    for (const address of this.options.bindIp) {
      const listener = createServer((socket) => this.accept(socket));
      try {
        await new Promise<void>((resolve, reject) => {
          listener.once('error', reject);
          listener.listen({ host: address, port, exclusive: true }, () => {
            listener.off('error', reject);
            resolve();
          });
        });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        const errmsg = code === 'EADDRINUSE' ? 'Address already in use' : (error as Error).message;
        this.logger.error(LogComponent.Control, LogId.ListenerError, 'Error setting up listener', {
          error: { code: 9001, codeName: 'SocketException', errmsg: `${errmsg} (${address}:${port})` },
        });
        await this.close();
        throw new FatalError(`cannot listen on ${address}:${port}: ${errmsg}`, ExitCode.NetworkError, { address, port, errno: code }, { cause: error });
      }
      listener.on('error', (error) => this.logger.error(LogComponent.Network, LogId.ListenerError, 'Listener error', { error: describeError(error) }));
      this.listeners.push(listener);
      port = (listener.address() as AddressInfo).port;
    }
    this.listeningPort = port;
    this.startBackgroundTasks();
    return port;
  }

  /** Logs the ready line clients and harnesses wait for (after any start-up writes). */
  announceReady(): void {
    this.logger
      .withContext('listener')
      .info(LogComponent.Network, LogId.WaitingForConnections, 'Waiting for connections', { port: this.listeningPort, ssl: 'off' });
  }

  private accept(socket: Socket): void {
    this.totalConnections += 1;
    const connection = new ClientConnection(socket, this.totalConnections, this);
    this.connections.add(connection);
    this.logger.withContext('listener').info(LogComponent.Network, LogId.ConnectionAccepted, 'Connection accepted', {
      remote: connection.remote,
      connectionId: connection.connectionId,
      connectionCount: this.connections.size,
    });
  }

  connectionClosed(connection: ClientConnection): void {
    if (!this.connections.delete(connection)) return;
    this.logger.withContext(`conn${connection.connectionId}`).info(LogComponent.Network, LogId.ConnectionEnded, 'Connection ended', {
      remote: connection.remote,
      connectionId: connection.connectionId,
      connectionCount: this.connections.size,
    });
  }

  connectionStatistics(): ConnectionStatistics {
    let active = 0;
    for (const connection of this.connections) if (connection.active) active += 1;
    return { current: this.connections.size, totalCreated: this.totalConnections, active };
  }

  requestShutdown(reason: string): void {
    this.onShutdownRequest(reason);
  }

  private startBackgroundTasks(): void {
    this.scheduleCheckpoint();
    this.schedulePageLogWatch();
    const sweepSeconds = this.parameters.getInteger('clientCursorMonitorFrequencySecs');
    this.sweepTimer = setInterval(() => {
      const expired = this.cursors.sweep(this.parameters.getInteger('cursorTimeoutMillis'));
      if (expired.length > 0) {
        this.logger.withContext('clientcursormon').info(LogComponent.Query, LogId.CursorTimedOut, 'Cursors timed out', { cursorIds: expired });
      }
    }, sweepSeconds * 1000);
    this.sweepTimer.unref();
  }

  /** (Re)schedules the periodic checkpoint from `checkpointIntervalSecs` (0 turns it off). */
  private scheduleCheckpoint(): void {
    if (this.checkpointTimer !== undefined) clearTimeout(this.checkpointTimer);
    this.checkpointTimer = undefined;
    const seconds = this.parameters.getInteger('checkpointIntervalSecs');
    if (seconds <= 0 || this.listeners.length === 0) return;
    this.checkpointTimer = setTimeout(() => {
      if (this.storage.fsyncLocked) {
        // The fence holds the files as they are; the engine would only queue this checkpoint.
        this.logger.withContext('Checkpointer').debug(LogComponent.Storage, LogId.CheckpointTaken, 'Periodic checkpoint skipped: fsync lock held', {});
        this.scheduleCheckpoint();
        return;
      }
      void this.storage
        .checkpoint()
        .then((checkpoint) => {
          this.logger.withContext('Checkpointer').debug(LogComponent.Storage, LogId.CheckpointTaken, 'Periodic checkpoint', { id: checkpoint.id });
        })
        .catch((error: unknown) => {
          this.logger.withContext('Checkpointer').error(LogComponent.Storage, LogId.CheckpointFailed, 'Periodic checkpoint failed', { error: describeError(error) });
        })
        .finally(() => {
          if (this.checkpointTimer !== undefined) this.scheduleCheckpoint();
        });
    }, seconds * 1000);
    this.checkpointTimer.unref();
  }

  /**
   * (Re)schedules the look at the shared page log every `disaggPickUpIntervalMs` (0 turns it
   * off): a follower picks up the newest checkpoint; a leader a newer term fenced steps down.
   */
  private schedulePageLogWatch(): void {
    if (this.pageLogTimer !== undefined) clearTimeout(this.pageLogTimer);
    this.pageLogTimer = undefined;
    const milliseconds = this.parameters.getInteger('disaggPickUpIntervalMs');
    if (milliseconds <= 0 || this.listeners.length === 0 || this.storage.connection.storage !== 'disagg') return;
    this.pageLogTimer = setTimeout(() => {
      void this.watchPageLog().finally(() => {
        if (this.pageLogTimer !== undefined) this.schedulePageLogWatch();
      });
    }, milliseconds);
    this.pageLogTimer.unref();
  }

  private async watchPageLog(): Promise<void> {
    const logger = this.logger.withContext('PageLogWatcher');
    try {
      if (this.storage.role === 'follower') await this.storage.pickUpCheckpoint();
      else if (this.storage.connection.disaggStatus()?.fencedBy !== undefined) await this.storage.stepDown({ fenced: true });
      this.lastPageLogError = undefined;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (message !== this.lastPageLogError) logger.warning(LogComponent.Storage, LogId.CheckpointPickUpFailed, 'Could not pick up the newest checkpoint', { error: describeError(error) });
      this.lastPageLogError = message;
    }
  }

  /** Stops listening, closes every client connection and cursor, and stops the timers. */
  async close(): Promise<void> {
    if (this.checkpointTimer !== undefined) clearTimeout(this.checkpointTimer);
    this.checkpointTimer = undefined;
    if (this.pageLogTimer !== undefined) clearTimeout(this.pageLogTimer);
    this.pageLogTimer = undefined;
    if (this.sweepTimer !== undefined) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    const closing = this.listeners.splice(0).map((listener) => new Promise<void>((resolve) => listener.close(() => resolve())));
    for (const connection of [...this.connections]) connection.close();
    this.cursors.closeAll();
    await Promise.all(closing);
  }
}
