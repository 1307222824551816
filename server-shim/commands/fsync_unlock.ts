import { Long } from 'bson';
import { CommandError, ErrorCodes } from '../errors/index.js';
import { LogComponent, LogId } from '../log/index.js';
import { defineCommand } from './registry.js';

/** `fsyncUnlock`: lifts one fsync lock; writes resume when none is left. */
export const fsyncUnlockCommand = defineCommand({
  name: 'fsyncUnlock',
  adminOnly: true,
  help: 'lifts an fsync lock',
  run: (_request, context) => {
    const remaining = context.storage.unlockWrites();
    if (remaining < 0) throw new CommandError(ErrorCodes.IllegalOperation, 'fsyncUnlock called when not locked');
    context.logger.info(LogComponent.Storage, LogId.FsyncUnlocked, 'fsyncUnlock complete', { lockCount: remaining });
    return { info: remaining === 0 ? 'fsyncUnlock completed' : `fsyncUnlock completed; ${remaining} locks remain`, lockCount: Long.fromNumber(remaining) };
  },
});
