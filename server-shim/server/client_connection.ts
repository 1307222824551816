import type { Socket } from 'node:net';
import { CommandError, ErrorCodes } from '../errors/index.js';
import { commandsTakingRawSequences, dispatchCommand, isAwaitableHello, type ClientState, type CommandContext, type CommandRegistry, type ServerState } from '../commands/index.js';
import { describeError, LogComponent, LogId, type Logger } from '../log/index.js';
import type { Document } from '../values/index.js';
import {
  encodeMsgReply,
  encodeOpReply,
  maximumMessageSize,
  MessageFramer,
  OpReplyFlag,
  parseRequest,
  WireProtocolError,
  type MsgRequest,
  type QueryRequest,
} from '../wire/index.js';

/** What a connection needs from the server that owns it. */
export interface ConnectionOwner {
  readonly state: ServerState;
  readonly registry: CommandRegistry;
  /** A new id for an outgoing message header. */
  nextRequestId(): number;
  connectionClosed(connection: ClientConnection): void;
}

/** mongod's answer to an HTTP request on the wire protocol port. */
const httpBody = 'It looks like you are trying to access MongoDB over HTTP on the native driver port.\n';
const httpReply = `HTTP/1.0 200 OK\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(httpBody)}\r\n\r\n${httpBody}`;

/** Legacy handshake commands still served over OP_QUERY. */
const legacyHandshakeCommands = new Set(['isMaster', 'ismaster', 'hello']);

/**
 * One client connection: frames its bytes into messages, runs them one at a time in arrival
 * order, and writes the replies. While a message is being handled the socket is paused, so
 * buffering is bounded by one message (at most 48 MB, checked from its header) plus one read.
 * A malformed message closes this connection only, with a logged warning.
 */
export class ClientConnection implements ClientState {
  readonly connectionId: number;
  readonly remote: string;
  metadata?: Document;
  private readonly framer = new MessageFramer();
  private readonly pending: Buffer[] = [];
  private readonly logger: Logger;
  private readonly timers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  private draining = false;
  private closed = false;
  private firstBytes = true;
  private skipReply = false;
  /** True while a command runs (for `serverStatus.connections.active`). */
  active = false;

  constructor(
    private readonly socket: Socket,
    connectionId: number,
    private readonly owner: ConnectionOwner,
  ) {
    this.connectionId = connectionId;
    this.remote = `${socket.remoteAddress ?? 'unknown'}:${socket.remotePort ?? 0}`;
    this.logger = owner.state.logger.withContext(`conn${connectionId}`);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => {
      this.logger.debug(LogComponent.Network, LogId.ReceiveError, 'Socket error', { remote: this.remote, error: describeError(error) });
    });
    socket.on('close', () => this.onClose());
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    if (this.firstBytes) {
      this.firstBytes = false;
      if (/^(GET|POST|PUT|HEAD|DELETE|OPTIONS) /.test(chunk.subarray(0, 8).toString('latin1'))) {
        this.logger.warning(LogComponent.Network, LogId.HttpOnNativePort, 'Received an HTTP request on the MongoDB port; answering and closing', { remote: this.remote });
        this.socket.end(httpReply);
        this.closed = true;
        return;
      }
    }
    let messages: Buffer[];
    try {
      messages = this.framer.push(chunk);
    } catch (error) {
      this.failConnection(error);
      return;
    }
    if (messages.length === 0) return;
    this.pending.push(...messages);
    this.socket.pause();
    void this.drain();
  }

  /** Handles pending messages one after another, then reads again. */
  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (!this.closed && this.pending.length > 0) {
        const message = this.pending.shift()!;
        await this.handle(message);
      }
    } catch (error) {
      this.failConnection(error);
    } finally {
      this.draining = false;
    }
    if (!this.closed) this.socket.resume();
  }

  private async handle(message: Buffer): Promise<void> {
    const request = parseRequest(message, { rawSequencesFor: commandsTakingRawSequences });
    this.active = true;
    try {
      if (request.kind === 'query') await this.handleQuery(request);
      else await this.handleMsg(request);
    } finally {
      this.active = false;
    }
  }

  private context(): CommandContext {
    const state = this.owner.state;
    return { server: state, storage: state.storage, client: this, logger: this.logger };
  }

  private async handleQuery(request: QueryRequest): Promise<void> {
    const name = Object.keys(request.query)[0] ?? '';
    const isCommand = request.fullCollectionName.endsWith('.$cmd');
    if (!isCommand || !legacyHandshakeCommands.has(name)) {
      const message = `Unsupported OP_QUERY command: ${name}. The client driver may require an upgrade. For more details see https://dochub.mongodb.org/core/legacy-opcode-removal`;
      const failure = { $err: message, code: ErrorCodes.UnsupportedOpQueryCommand, ok: 0, errmsg: message, codeName: 'UnsupportedOpQueryCommand' };
      await this.send(encodeOpReply(failure, this.owner.nextRequestId(), request.header.requestId, isCommand ? 0 : OpReplyFlag.QueryFailure));
      return;
    }
    const db = request.fullCollectionName.slice(0, -'.$cmd'.length);
    const reply = await dispatchCommand(this.owner.registry, { ...request.query, $db: db }, this.context());
    await this.send(encodeOpReply(reply, this.owner.nextRequestId(), request.header.requestId));
  }

  private async handleMsg(request: MsgRequest): Promise<void> {
    let responseTo = request.header.requestId;
    // An awaitable hello with exhaustAllowed streams replies (moreToCome) until the client goes.
    const streaming = request.exhaustAllowed && isAwaitableHello(request.body) && !request.moreToCome;
    let body = request.body;
    do {
      const reply = await dispatchCommand(this.owner.registry, body, this.context(), request.sequences);
      if (this.skipReply) {
        this.skipReply = false;
        this.close();
        return;
      }
      if (request.moreToCome || this.closed) return;
      const moreToCome = streaming && reply.ok === 1;
      const requestId = this.owner.nextRequestId();
      await this.send(this.encodeReply(reply, requestId, responseTo, moreToCome, request.checksumPresent));
      if (!moreToCome) return;
      responseTo = requestId;
      // As mongod: the next streamed reply waits on the topology version this one reported.
      if (reply.topologyVersion !== undefined) body = { ...body, topologyVersion: reply.topologyVersion };
    } while (!this.closed);
  }

  private encodeReply(reply: Document, requestId: number, responseTo: number, moreToCome: boolean, checksum: boolean): Buffer {
    let encoded: Buffer;
    try {
      encoded = encodeMsgReply(reply, requestId, responseTo, { moreToCome, checksum });
    } catch (error) {
      encoded = encodeMsgReply(new CommandError(ErrorCodes.InternalError, `could not encode the reply: ${(error as Error).message}`).toReply(), requestId, responseTo);
    }
    if (encoded.length > maximumMessageSize) {
      encoded = encodeMsgReply(new CommandError(ErrorCodes.BSONObjectTooLarge, `reply of ${encoded.length} bytes is over the ${maximumMessageSize}-byte message limit`).toReply(), requestId, responseTo);
    }
    return encoded;
  }

  /** Writes a message, waiting for the socket to drain when its buffer is full. */
  private async send(message: Buffer): Promise<void> {
    if (this.closed) return;
    if (this.socket.write(message)) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  private failConnection(error: unknown): void {
    if (this.closed) return;
    const described = describeError(error);
    const attr = { remote: this.remote, connectionId: this.connectionId, error: described };
    if (error instanceof WireProtocolError) {
      this.logger.warning(LogComponent.Network, LogId.ReceiveError, 'Error receiving request from client. Ending connection from remote', attr);
    } else {
      this.logger.error(LogComponent.Network, LogId.ReceiveError, 'Unexpected error handling a request. Ending connection from remote', {
        ...attr,
        stack: error instanceof Error ? error.stack : undefined,
      });
    }
    this.close();
  }

  /** The shutdown command: answer nothing and close after it. */
  closeWithoutReply(): void {
    this.skipReply = true;
  }

  wait(milliseconds: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const entry = {
        resolve,
        timer: setTimeout(() => {
          this.timers.delete(entry);
          resolve();
        }, milliseconds),
      };
      this.timers.add(entry);
    });
  }

  /** Closes the socket (the close handler does the rest). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
  }

  private onClose(): void {
    this.closed = true;
    for (const entry of this.timers) {
      clearTimeout(entry.timer);
      entry.resolve();
    }
    this.timers.clear();
    this.pending.length = 0;
    this.owner.connectionClosed(this);
  }
}
