import { randomUUID } from '../../engine/index.js';
import { UUID } from 'bson';

/**
 * A new random (version 4) UUID, drawn where the engine draws its identifiers (see
 * `engine/random.ts`).
 */
export function newUuid(): UUID {
  return new UUID(randomUUID());
}
