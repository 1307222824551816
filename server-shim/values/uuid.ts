import { randomUUID } from 'node:crypto';
import { UUID } from 'bson';

/**
 * A new random (version 4) UUID. Made with `node:crypto` rather than bson's `new UUID()`,
 * which draws its random bytes through Web Crypto: loading Web Crypto costs the server's
 * start-up a few milliseconds for nothing else it needs.
 */
export function newUuid(): UUID {
  return new UUID(randomUUID());
}
