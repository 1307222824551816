import { defineCommand } from './registry.js';
import { handshakeReply } from './handshake.js';

/** `isMaster`: the legacy name of `hello`, answering `ismaster: true`. */
export const isMasterCommand = defineCommand({
  name: 'isMaster',
  aliases: ['ismaster'],
  help: 'legacy form of hello',
  run: (request, context) => handshakeReply(request, context, true),
});
