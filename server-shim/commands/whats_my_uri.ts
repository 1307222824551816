import { defineCommand } from './registry.js';

/** `whatsmyuri`: the client's address as the server sees it. */
export const whatsMyUriCommand = defineCommand({
  name: 'whatsmyuri',
  help: 'the client address as seen by the server',
  run: (_request, context) => ({ you: context.client.remote }),
});
