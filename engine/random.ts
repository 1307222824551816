import { closeSync, openSync, readSync } from 'node:fs';

/**
 * Random bytes and UUIDs for identifiers (a home's id, a page log's format id, collection
 * UUIDs, cursor ids), read from the kernel's generator (`/dev/urandom`, the source of Node's
 * own), a pool at a time. A server draws some before it is ready, and Node's crypto modules
 * (`node:crypto`, Web Crypto) are some milliseconds of a start-up to load; where there is no
 * `/dev/urandom`, Web Crypto it is.
 */

const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let used = 0;
let urandom = process.platform !== 'win32';

function fillFromUrandom(target: Buffer): boolean {
  if (!urandom) return false;
  try {
    const fd = openSync('/dev/urandom', 'r');
    try {
      for (let filled = 0; filled < target.length;) {
        const read = readSync(fd, target, filled, target.length - filled, null);
        if (read === 0) throw new Error('/dev/urandom ended');
        filled += read;
      }
    } finally {
      closeSync(fd);
    }
    return true;
  } catch {
    urandom = false;
    return false;
  }
}

/** `size` random bytes. */
export function randomBytes(size: number): Buffer {
  const bytes = Buffer.allocUnsafe(size);
  if (size > POOL_BYTES) {
    if (!fillFromUrandom(bytes)) for (let at = 0; at < size; at += 65536) crypto.getRandomValues(bytes.subarray(at, at + 65536));
    return bytes;
  }
  if (used + size > pool.length) {
    const fresh = Buffer.allocUnsafe(POOL_BYTES);
    if (!fillFromUrandom(fresh)) crypto.getRandomValues(fresh);
    pool = fresh;
    used = 0;
  }
  pool.copy(bytes, 0, used, used + size);
  used += size;
  return bytes;
}

/** A random (version 4) UUID in its text form. */
export function randomUUID(): string {
  const bytes = randomBytes(16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
