import { CommandError, ErrorCodes } from '../errors/index.js';
import { engineErrorToCommandError } from '../storage/index.js';
import { optionalBoolean } from './arguments.js';
import { defineCommand } from './registry.js';
import { storageSection } from './server_status.js';

/**
 * Test-only `rotateKey`: asks the key provider to rotate at the next checkpoint; with
 * `checkpoint: true` takes that checkpoint now and reports the new key-provider state.
 */
export const rotateKeyCommand = defineCommand({
  name: 'rotateKey',
  gate: 'testCommands',
  help: 'test-only: rotates the key-provider key at the next checkpoint ({checkpoint: true} takes it now)',
  run: async (request, context) => {
    try {
      context.storage.connection.requestKeyRotation();
    } catch (error) {
      const failure = engineErrorToCommandError(error);
      throw new CommandError(ErrorCodes.IllegalOperation, `cannot rotate the key: ${failure.message}`, failure.extra);
    }
    if (optionalBoolean(request, 'checkpoint') === true) await context.storage.checkpoint();
    const section = storageSection(context.server);
    return { rotationRequested: true, keyProvider: section.keyProvider, lastCheckpoint: section.lastCheckpoint };
  },
});
