import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { commandsTakingRawSequences } from '../server-shim/commands/index.js';
import { encodeMsgReply, encodeOpReply, MessageFramer, parseRequest, type MsgRequest } from '../server-shim/wire/index.js';

/**
 * A storage-less responder of the wire protocol: it frames and parses every message as
 * mongod-shim does (the whole OP_MSG, every document of its sequences checked), answers the
 * handshake as a writable primary and every `insert` with the number of documents it carried,
 * and keeps nothing. The driver's rate against it is what the protocol, BSON and the socket
 * cost alone; `bench/sections/server.ts` compares the server's rate with it in the same run.
 */
export class WireResponder {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private requestId = 0;

  constructor() {
    this.server = createServer((socket) => this.serve(socket));
  }

  /** Listens on a free loopback port and returns a driver URI for it. */
  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `mongodb://127.0.0.1:${(this.server.address() as AddressInfo).port}/?directConnection=true`;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    const framer = new MessageFramer();
    socket.on('data', (chunk: Buffer) => {
      for (const message of framer.push(chunk)) {
        const request = parseRequest(message, { rawSequencesFor: commandsTakingRawSequences });
        this.requestId += 1;
        // The driver's first handshake is a legacy OP_QUERY; everything after it is OP_MSG.
        if (request.kind === 'query') socket.write(encodeOpReply(this.reply(request.query), this.requestId, request.header.requestId));
        else if (!request.moreToCome) socket.write(encodeMsgReply(this.reply(request.body, request), this.requestId, request.header.requestId));
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.sockets.delete(socket));
  }

  private reply(command: Record<string, unknown>, request?: MsgRequest): Record<string, unknown> {
    const name = Object.keys(command)[0];
    if (name === 'hello' || name === 'isMaster' || name === 'ismaster') {
      return {
        isWritablePrimary: true, ismaster: true, helloOk: true, maxBsonObjectSize: 16 * 1024 * 1024, maxMessageSizeBytes: 48_000_000,
        maxWriteBatchSize: 100_000, localTime: new Date(), logicalSessionTimeoutMinutes: 30, connectionId: 1,
        minWireVersion: 0, maxWireVersion: 21, readOnly: false, ok: 1,
      };
    }
    if (name === 'insert') return { n: request?.sequences.get('documents')?.length ?? (Array.isArray(command.documents) ? command.documents.length : 0), ok: 1 };
    return { ok: 1 };
  }
}
