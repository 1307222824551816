import { Long } from 'bson';
import { LogComponent, LogId } from '../log/index.js';
import { bigIntToTimestamp } from '../storage/index.js';
import { checkKnownFields, optionalBoolean } from './arguments.js';
import { defineCommand } from './registry.js';

/**
 * `fsync`: takes a checkpoint and replies with its identity and timestamp. With `lock: true`
 * the checkpoint is taken and then writes wait (they are not refused) until `fsyncUnlock`, so
 * the files can be copied for a backup.
 */
export const fsyncCommand = defineCommand({
  name: 'fsync',
  adminOnly: true,
  help: 'takes a checkpoint; {lock: true} then holds writes until fsyncUnlock',
  run: async (request, context) => {
    checkKnownFields(request, ['lock', 'async', 'fsyncLockAcquisitionTimeoutMillis', 'forBackup']);
    const lock = optionalBoolean(request, 'lock') ?? false;
    const checkpoint = await context.storage.checkpoint();
    const reply = {
      numFiles: 1,
      checkpointTimestamp: bigIntToTimestamp(checkpoint.timestamp),
      checkpointId: checkpoint.id,
    };
    if (!lock) return reply;
    const lockCount = context.storage.lockWrites();
    context.logger.info(LogComponent.Storage, LogId.FsyncLocked, 'mongod is locked and no writes are allowed', { lockCount, checkpointId: checkpoint.id });
    return {
      info: 'now locked against writes, use db.fsyncUnlock() to unlock',
      lockCount: Long.fromNumber(lockCount),
      seeAlso: 'http://dochub.mongodb.org/core/fsynccommand',
      ...reply,
    };
  },
});
