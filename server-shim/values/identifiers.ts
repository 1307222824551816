import { ObjectId, UUID } from 'bson';
import { randomBytes, randomUUID } from '../../engine/index.js';

/** A new random (version 4) UUID, from the engine's random source (`engine/random.ts`). */
export function newUuid(): UUID {
  return new UUID(randomUUID());
}

/**
 * A new ObjectId for an identifier the server makes itself (its process id, a replica set's
 * id): the creation time in seconds (4 bytes, big-endian, as in every ObjectId), then 8 random
 * bytes from the engine's random source. bson's own generator fills those 8 bytes from a
 * process-unique value and a counter, and draws that value from Web Crypto, a module a start
 * would load only for it; documents inserted without an `_id` still get bson's.
 */
export function newObjectId(): ObjectId {
  const bytes = Buffer.allocUnsafe(12);
  bytes.writeUInt32BE(Math.floor(Date.now() / 1000) >>> 0, 0);
  randomBytes(8).copy(bytes, 4);
  return new ObjectId(bytes);
}
