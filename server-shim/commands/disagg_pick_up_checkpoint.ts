import { CommandError, ErrorCodes } from '../errors/index.js';
import { checkKnownFields, optionalString } from './arguments.js';
import { defineCommand } from './registry.js';
import { checkpointDocument } from './server_status.js';

/**
 * `{disaggPickUpCheckpoint: 1, checkpointId?}`: a follower picks up the checkpoint `checkpointId`
 * (a completion record's LSN, as `fsync` and `serverStatus` report it; default the newest) now,
 * rather than at its next periodic look. Scans already open keep the checkpoint they started on.
 */
export const disaggPickUpCheckpointCommand = defineCommand({
  name: 'disaggPickUpCheckpoint',
  adminOnly: true,
  help: 'follower: picks up a checkpoint of the shared page log (checkpointId, default the newest)',
  run: async (request, context) => {
    checkKnownFields(request, ['checkpointId']);
    const checkpointId = optionalString(request, 'checkpointId');
    if (checkpointId !== undefined && !/^[1-9]\d{0,15}$/.test(checkpointId)) {
      throw new CommandError(ErrorCodes.BadValue, `checkpointId "${checkpointId}" is not a checkpoint id (the decimal LSN of a completion record)`);
    }
    const storage = context.storage;
    if (storage.connection.storage !== 'disagg') throw new CommandError(ErrorCodes.IllegalOperation, 'disaggPickUpCheckpoint needs disaggregated storage');
    const checkpoint = await storage.pickUpCheckpoint(checkpointId);
    const status = storage.connection.disaggStatus();
    return {
      checkpoint: checkpoint === undefined ? null : checkpointDocument(checkpoint),
      waitingForCheckpoint: checkpoint === undefined,
      keyVersion: storage.connection.keyProviderStatus()?.keyVersion ?? null,
      lag: { checkpoints: status?.lag.checkpoints ?? 0, newestId: status?.newest?.id ?? null },
    };
  },
});
