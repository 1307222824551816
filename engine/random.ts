/**
 * Random bytes and UUIDs, from Node's Web Crypto (`globalThis.crypto`), the same generator as
 * `node:crypto`'s. bson loads Web Crypto for ObjectIds when it loads, so a server that draws
 * its identifiers (the home's id, a page log's format id, collection UUIDs) from it too need not
 * load `node:crypto` as well: a module of its own, some milliseconds of every start-up.
 */

/** `size` random bytes (at most 65,536, Web Crypto's limit for one call). */
export function randomBytes(size: number): Buffer {
  return crypto.getRandomValues(Buffer.allocUnsafe(size));
}

/** A random (version 4) UUID in its text form. */
export function randomUUID(): string {
  return crypto.randomUUID();
}
