import { defineCommand } from './registry.js';
import { handshakeReply } from './handshake.js';

/** `hello`: the handshake and monitoring command. */
export const helloCommand = defineCommand({
  name: 'hello',
  help: 'describes this server: role, limits, wire versions (awaitable for monitoring)',
  run: (request, context) => handshakeReply(request, context, false),
});
