import { ErrorCode } from '../../engine/index.js';
import { CommandError, ErrorCodes } from '../errors/index.js';
import { bigIntToTimestamp, engineErrorToCommandError, isEngineError, timestampToBigInt } from '../storage/index.js';
import { binaryArgument, checkKnownFields, requiredTimestamp } from './arguments.js';
import { defineCommand } from './registry.js';
import { storageSection } from './server_status.js';

/**
 * Test-only `setKeyProviderKey`: pushes a key to the key provider (WiredTiger's
 * `conn.get_key_provider().set_key`). The engine queues it; the first checkpoint whose stable
 * timestamp reaches `timestamp` persists the newest key due as the key-provider page. The key
 * bytes are never logged nor echoed.
 */
export const setKeyProviderKeyCommand = defineCommand({
  name: 'setKeyProviderKey',
  gate: 'testCommands',
  help: 'test-only: {setKeyProviderKey: <BinData>, timestamp: <Timestamp>} queues a key the first checkpoint at or after the timestamp persists',
  run: async (request, context) => {
    checkKnownFields(request, ['timestamp']);
    const key = binaryArgument(request);
    const timestamp = requiredTimestamp(request, 'timestamp');
    try {
      context.storage.connection.setKey(key, timestampToBigInt(timestamp));
    } catch (error) {
      const failure = engineErrorToCommandError(error);
      // No provider, or one without a push mode: the command cannot run on this server.
      if (isEngineError(error, ErrorCode.ConfigInvalid)) throw new CommandError(ErrorCodes.IllegalOperation, `cannot push a key: ${failure.message}`, failure.extra);
      throw failure;
    } finally {
      key.fill(0);
    }
    const keyProvider = context.storage.connection.keyProviderStatus();
    return {
      timestamp,
      pendingKeyTimestamps: (keyProvider?.pendingKeyTimestamps ?? []).map(bigIntToTimestamp),
      keyProvider: storageSection(context.server).keyProvider,
    };
  },
});
