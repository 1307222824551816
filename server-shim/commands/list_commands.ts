import type { Document } from '../values/index.js';
import { defineCommand } from './registry.js';

/** `listCommands`: the commands this server runs (hidden test commands only when enabled). */
export const listCommandsCommand = defineCommand({
  name: 'listCommands',
  help: 'lists the commands this server runs',
  run: async (_request, context) => {
    const commands: Document = {};
    const testCommands = context.server.parameters.getBoolean('enableTestCommands');
    for (const definition of await context.server.commands.definitions()) {
      if (definition.gate === 'testCommands' && !testCommands) continue;
      commands[definition.name] = { help: definition.help, adminOnly: definition.adminOnly === true, requiresAuth: false };
    }
    return { commands };
  },
});
