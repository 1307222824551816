import { Long } from 'bson';
import type { CheckpointInfo } from '../../engine/index.js';
import { LogComponent, LogId } from '../log/index.js';
import { bigIntToTimestamp } from '../storage/index.js';
import type { Document } from '../values/index.js';
import { checkKnownFields, optionalBoolean } from './arguments.js';
import { defineCommand } from './registry.js';

/**
 * `fsync`: takes a checkpoint and replies with its identity and timestamp. With `lock: true`
 * writes wait (they are not refused; `maxTimeMS` bounds the wait) until `fsyncUnlock`, the
 * checkpoint is taken, and the engine's files are frozen (no checkpoint, prune or eviction
 * write), so a copy of the files taken meanwhile is that checkpoint.
 */
export const fsyncCommand = defineCommand({
  name: 'fsync',
  adminOnly: true,
  help: 'takes a checkpoint; {lock: true} then holds writes until fsyncUnlock',
  run: async (request, context) => {
    checkKnownFields(request, ['lock', 'async', 'fsyncLockAcquisitionTimeoutMillis', 'forBackup']);
    const lock = optionalBoolean(request, 'lock') ?? false;
    const storage = context.storage;
    if (!lock) {
      // Under an fsync lock nothing was written since its checkpoint (and a new one would wait
      // for the unlock): that checkpoint is the answer.
      const checkpoint = storage.fsyncLocked ? await storage.checkpointUnderLock() : await storage.checkpoint();
      return checkpointReply(checkpoint);
    }
    const { lockCount, checkpoint } = await storage.lockWrites();
    context.logger.info(LogComponent.Storage, LogId.FsyncLocked, 'mongod is locked and no writes are allowed', { lockCount, checkpointId: checkpoint.id });
    return {
      info: 'now locked against writes, use db.fsyncUnlock() to unlock',
      lockCount: Long.fromNumber(lockCount),
      seeAlso: 'http://dochub.mongodb.org/core/fsynccommand',
      ...checkpointReply(checkpoint),
    };
  },
});

function checkpointReply(checkpoint: CheckpointInfo): Document {
  return { numFiles: 1, checkpointTimestamp: bigIntToTimestamp(checkpoint.timestamp), checkpointId: checkpoint.id };
}
