import { ErrorCode, FormatError } from '../errors.js';
import { packedUintSize, readPackedUint, writePackedUint } from './packed.js';

/**
 * Address cookies (FORMATS.md 5.5 and 9.3) and the file checkpoint cookie (6.1). Only the
 * block layer builds or interprets these; everything above it treats them as opaque bytes.
 */

/** A block in a `.wt` file: byte offset, disk size, checksum. Size 0 means "no block". */
export interface FileAddress {
  offset: number;
  size: number;
  checksum: number;
}

export const NO_FILE_ADDRESS: FileAddress = { offset: 0, size: 0, checksum: 0 };

function encodeTriple(out: number[], address: FileAddress, allocationSize: number): void {
  const scratch = new Uint8Array(9);
  const push = (value: number): void => {
    const n = writePackedUint(scratch, 0, value);
    for (let i = 0; i < n; i++) out.push(scratch[i]!);
  };
  if (address.size === 0) {
    push(0); push(0); push(0);
    return;
  }
  push(address.offset / allocationSize - 1);
  push(address.size / allocationSize);
  push(address.checksum);
}

function decodeTriple(bytes: Uint8Array, offset: number, allocationSize: number): [FileAddress, number] {
  let p = offset;
  const read = (): number => {
    const [value, n] = readPackedUint(bytes, p);
    p += n;
    return value;
  };
  const units = read();
  const sizeUnits = read();
  const checksum = read();
  if (sizeUnits === 0) return [{ ...NO_FILE_ADDRESS }, p - offset];
  if (checksum > 0xffffffff) throw new FormatError('address checksum does not fit in 32 bits', { offset });
  return [{ offset: (units + 1) * allocationSize, size: sizeUnits * allocationSize, checksum }, p - offset];
}

/** Encodes a block address cookie. */
export function encodeFileAddress(address: FileAddress, allocationSize: number): Buffer {
  const out: number[] = [];
  encodeTriple(out, address, allocationSize);
  return Buffer.from(out);
}

/** Decodes a block address cookie; a trailing object id (tiered storage) is rejected. */
export function decodeFileAddress(cookie: Uint8Array, allocationSize: number): FileAddress {
  const [address, n] = decodeTriple(cookie, 0, allocationSize);
  if (n !== cookie.length) {
    throw new FormatError('address cookie has trailing bytes (object ids are not supported)', { offset: n });
  }
  return address;
}

/** The block-manager checkpoint cookie, version 1 (FORMATS.md 6.1). */
export interface FileCheckpointCookie {
  root: FileAddress;
  alloc: FileAddress;
  avail: FileAddress;
  discard: FileAddress;
  /** File size in bytes. */
  fileSize: number;
  /** Checkpoint size in bytes (statistics). */
  checkpointSize: number;
}

export const CHECKPOINT_COOKIE_VERSION = 1;

export function encodeFileCheckpointCookie(cookie: FileCheckpointCookie, allocationSize: number): Buffer {
  const out: number[] = [CHECKPOINT_COOKIE_VERSION];
  encodeTriple(out, cookie.root, allocationSize);
  encodeTriple(out, cookie.alloc, allocationSize);
  encodeTriple(out, cookie.avail, allocationSize);
  encodeTriple(out, cookie.discard, allocationSize);
  const scratch = new Uint8Array(9);
  for (const value of [cookie.fileSize, cookie.checkpointSize]) {
    const n = writePackedUint(scratch, 0, value);
    for (let i = 0; i < n; i++) out.push(scratch[i]!);
  }
  return Buffer.from(out);
}

export function decodeFileCheckpointCookie(bytes: Uint8Array, allocationSize: number): FileCheckpointCookie {
  if (bytes.length === 0) throw new FormatError('checkpoint cookie is empty', { offset: 0 }, ErrorCode.FormatTruncated);
  if (bytes[0] !== CHECKPOINT_COOKIE_VERSION) {
    throw new FormatError(`unsupported checkpoint cookie version ${bytes[0]}`, { offset: 0, expected: 1, actual: bytes[0] });
  }
  let p = 1;
  const triple = (): FileAddress => {
    const [address, n] = decodeTriple(bytes, p, allocationSize);
    p += n;
    return address;
  };
  const root = triple();
  const alloc = triple();
  const avail = triple();
  const discard = triple();
  const [fileSize, n1] = readPackedUint(bytes, p);
  p += n1;
  const [checkpointSize, n2] = readPackedUint(bytes, p);
  p += n2;
  if (p !== bytes.length) {
    throw new FormatError('checkpoint cookie has trailing bytes (object ids are not supported)', { offset: p });
  }
  return { root, alloc, avail, discard, fileSize, checkpointSize };
}

/** A page in the page log (FORMATS.md 9.3). Size 0 means "no page". */
export interface PageLogAddress {
  pageId: number;
  lsn: number;
  checkpointId: number;
  reconciliationId: number;
  size: number;
  checksum: number;
}

export function encodePageLogAddress(address: PageLogAddress): Buffer {
  const values = [address.pageId, address.lsn, address.checkpointId, address.reconciliationId, address.size, address.checksum];
  const out = Buffer.alloc(values.reduce((sum, v) => sum + packedUintSize(v), 0));
  let p = 0;
  for (const value of values) p += writePackedUint(out, p, value);
  return out;
}

export function decodePageLogAddress(cookie: Uint8Array): PageLogAddress {
  let p = 0;
  const read = (): number => {
    const [value, n] = readPackedUint(cookie, p);
    p += n;
    return value;
  };
  const address = {
    pageId: read(), lsn: read(), checkpointId: read(), reconciliationId: read(), size: read(), checksum: read(),
  };
  if (p !== cookie.length) throw new FormatError('page-log address has trailing bytes', { offset: p });
  if (address.size !== 0 && address.pageId === 0) throw new FormatError('page-log address names page id 0', { offset: 0 });
  if (address.checksum > 0xffffffff) throw new FormatError('page-log address checksum does not fit in 32 bits', { offset: 0 });
  return address;
}
