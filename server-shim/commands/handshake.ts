import { Long } from 'bson';
import { maximumMessageSize } from '../wire/index.js';
import { LogComponent, LogId } from '../log/index.js';
import { helloReplicaSetFields } from '../replication/index.js';
import { isDocument, isNumeric, maximumDocumentSize, toNumber, type Document } from '../values/index.js';
import type { CommandContext, CommandRequest } from './context.js';

/** The wire versions this server speaks (21 is MongoDB 7.0's). */
export const wireVersions = { min: 0, max: 21 } as const;

/** True for a hello that asks to wait for a topology change (the streaming SDAM protocol). */
export function isAwaitableHello(body: Document): boolean {
  return isDocument(body.topologyVersion) && body.maxAwaitTimeMS !== undefined;
}

/**
 * The reply to `hello` (and, with `legacy`, to `isMaster`): what the drivers need to pick the
 * server and size their requests. An awaitable hello whose `topologyVersion` is current waits
 * `maxAwaitTimeMS` first, as mongod does, since this server's topology never changes while it runs.
 */
export async function handshakeReply(request: CommandRequest, context: CommandContext, legacy: boolean): Promise<Document> {
  const { body } = request;
  const server = context.server;
  if (isDocument(body.client) && context.client.metadata === undefined) {
    context.client.metadata = body.client;
    context.logger.info(LogComponent.Network, LogId.ClientMetadata, 'client metadata', {
      remote: context.client.remote,
      client: `conn${context.client.connectionId}`,
      doc: body.client,
    });
  }
  if (isAwaitableHello(body)) {
    const topologyVersion = body.topologyVersion as Document;
    const sameProcess = String(topologyVersion.processId) === server.processId.toHexString();
    const current = String(topologyVersion.counter) === String(server.topologyCounter);
    const wait = isNumeric(body.maxAwaitTimeMS) ? toNumber(body.maxAwaitTimeMS) : 0;
    // As mongod: wait until the topology changes (a step-up or step-down here) or the time is up.
    if (sameProcess && current && wait > 0) await Promise.race([context.client.wait(wait), server.topologyChange()]);
  }
  const reply: Document = {};
  // A follower of a shared page log serves reads only, as a secondary does.
  const leader = server.storage.role === 'leader';
  if (body.helloOk === true) reply.helloOk = true;
  if (legacy) reply.ismaster = leader;
  else reply.isWritablePrimary = leader;
  if (!leader) reply.secondary = true;
  reply.topologyVersion = { processId: server.processId, counter: Long.fromNumber(server.topologyCounter) };
  if (server.options.replSet !== undefined) {
    const fields = helloReplicaSetFields(server, server.options.replSet);
    if (legacy) delete fields.isWritablePrimary;
    Object.assign(reply, fields);
  }
  Object.assign(reply, {
    maxBsonObjectSize: maximumDocumentSize,
    maxMessageSizeBytes: maximumMessageSize,
    maxWriteBatchSize: 100000,
    localTime: new Date(),
    logicalSessionTimeoutMinutes: 30,
    connectionId: context.client.connectionId,
    minWireVersion: wireVersions.min,
    maxWireVersion: wireVersions.max,
    readOnly: false,
  });
  return reply;
}
