import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/**
 * Random bytes and UUIDs for identifiers (a home's id, a page log's format id, collection
 * UUIDs, the server's ObjectIds, cursor ids), read from the kernel's generator
 * (`/dev/urandom`) a pool at a time. A server draws some before it is ready, and Node's crypto
 * modules (`node:crypto`, Web Crypto) are some milliseconds of a start-up to load. Where there
 * is no `/dev/urandom` (or a read fails), Web Crypto it is. Not for key material: pool bytes
 * stay in memory after they are handed out (a key provider draws its keys from `node:crypto`).
 */

const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let used = 0;
/** False once `/dev/urandom` turned out not to be there (or not to be the kernel's device). */
let urandom = process.platform !== 'win32';

/** Fills `target` from `/dev/urandom`; false when it could not. */
function fillFromUrandom(target: Buffer): boolean {
  if (!urandom) return false;
  let fd: number;
  try {
    fd = openSync('/dev/urandom', 'r');
  } catch {
    urandom = false;
    return false;
  }
  try {
    if (!fstatSync(fd).isCharacterDevice()) {
      urandom = false;
      return false;
    }
    for (let filled = 0; filled < target.length;) {
      const read = readSync(fd, target, filled, target.length - filled, null);
      if (read === 0) return false;
      filled += read;
    }
    return true;
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}

function fill(target: Buffer): void {
  if (fillFromUrandom(target)) return;
  // Web Crypto fills at most 65,536 bytes a call.
  for (let at = 0; at < target.length; at += 65536) crypto.getRandomValues(target.subarray(at, at + 65536));
}

/** `size` random bytes. */
export function randomBytes(size: number): Buffer {
  const bytes = Buffer.allocUnsafe(size);
  if (size > POOL_BYTES) {
    fill(bytes);
    return bytes;
  }
  if (used + size > pool.length) {
    pool = Buffer.allocUnsafe(POOL_BYTES);
    fill(pool);
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
