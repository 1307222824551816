/**
 * Checks an LMDB environment's files before LMDB maps them.
 *
 * LMDB trusts its data file: it maps `data.mdb` and follows the page numbers its meta pages
 * hold. A file shorter than the meta page says, or one whose meta page is garbage, makes the
 * process die by SIGBUS or SIGSEGV on the first read, with no message. So the page log reads
 * the meta pages itself first (plain reads, no mapping) and refuses a file LMDB would fault on.
 * The layout is LMDB's (the version lmdb-js embeds, data format 2, 64-bit builds); README.md
 * describes it.
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, PageLogError } from '../errors.js';

/** The data file of an LMDB environment directory. */
export const LMDB_DATA_FILE = 'data.mdb';
/** The lock file of an LMDB environment directory. */
export const LMDB_LOCK_FILE = 'lock.mdb';

/** `mm_magic`: the stamp every LMDB meta page carries. */
export const LMDB_MAGIC = 0xbeefc0de;
/** `MDB_DATA_VERSION` of the LMDB that lmdb-js embeds (the low 16 bits of `mm_version`). */
export const LMDB_DATA_VERSION = 2;
/** `P_META`: the page-header flag of a meta page. */
const P_META = 0x08;
/** `MDB_OVERLAPPINGSYNC`, kept in a meta page's environment flags. */
const MDB_OVERLAPPINGSYNC = 0x1000;
/** `P_INVALID`: the root of an empty tree. */
const NO_PAGE = (1n << 64n) - 1n;
/** LMDB page sizes are powers of two up to 64 KiB (`MAX_PAGESIZE`). */
const MIN_PAGE_SIZE = 512;
const MAX_PAGE_SIZE = 0x10000;

/** Page header: page number (8), txnid (8), pad (2), flags (2), lower/upper (4). */
const PAGE_HEADER_SIZE = 24;
/** Offsets inside a meta (after the page header). */
const META = {
  magic: 0,
  version: 4,
  /** `mm_dbs[FREE_DBI].md_pad` holds the page size. */
  pageSize: 24,
  /** `mm_dbs[FREE_DBI].md_flags` holds the environment flags. */
  flags: 28,
  freeRoot: 24 + 40,
  mainRoot: 24 + 48 + 40,
  lastPage: 120,
  txnId: 128,
  bootId: 136,
} as const;
/** Bytes of a meta, page header included. */
const META_PAGE_BYTES = PAGE_HEADER_SIZE + 144;

/** One meta decoded from the data file. */
export interface LmdbMeta {
  /** Byte offset of the meta page (or, for the flushed meta, of its half page) in the file. */
  offset: number;
  pageSize: number;
  flags: number;
  lastPage: bigint;
  txnId: bigint;
  bootId: bigint;
  freeRoot: bigint;
  mainRoot: bigint;
}

/** What the check found in a sound data file. */
export interface LmdbDataFileInfo {
  fileSize: number;
  pageSize: number;
  /** The meta LMDB will open: its last page bounds every page it reads. */
  meta: LmdbMeta;
  /** The smallest size the file may have: (last page + 1) x page size of that meta. */
  requiredSize: number;
}

/** How the environment is about to be opened; it decides which meta LMDB picks. */
export interface LmdbOpenMode {
  /** lmdb-js `overlappingSync`: LMDB may then pick the last synced meta after a reboot. */
  overlappingSync: boolean;
}

function truncated(file: string, message: string, expected: number, actual: number): PageLogError {
  return new PageLogError(`${message}: the file is ${actual} bytes, at least ${expected} are needed`, { file, expected, actual }, ErrorCode.FormatTruncated);
}

function invalid(file: string, message: string, offset: number, expected?: number | string, actual?: number | string): PageLogError {
  return new PageLogError(`${file}: ${message}`, { file, offset, expected, actual }, ErrorCode.Corruption);
}

function readAt(fd: number, offset: number, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buffer, done, length - done, offset + done);
    if (n === 0) break;
    done += n;
  }
  return buffer.subarray(0, done);
}

function decodeMeta(bytes: Buffer, offset: number): LmdbMeta {
  const at = PAGE_HEADER_SIZE;
  return {
    offset,
    pageSize: bytes.readUInt32LE(at + META.pageSize),
    flags: bytes.readUInt16LE(at + META.flags),
    lastPage: bytes.readBigUInt64LE(at + META.lastPage),
    txnId: bytes.readBigUInt64LE(at + META.txnId),
    bootId: bytes.readBigInt64LE(at + META.bootId),
    freeRoot: bytes.readBigUInt64LE(at + META.freeRoot),
    mainRoot: bytes.readBigUInt64LE(at + META.mainRoot),
  };
}

/** Checks a full meta page (page 0 or 1): page flag, magic, version and page size. */
function checkMetaPage(file: string, bytes: Buffer, offset: number, pageSize: number | undefined): LmdbMeta {
  const pageFlags = bytes.readUInt16LE(18);
  if ((pageFlags & P_META) === 0) {
    throw invalid(file, `LMDB page at offset ${offset} is not a meta page (page flags 0x${pageFlags.toString(16)})`, offset + 18);
  }
  const magic = bytes.readUInt32LE(PAGE_HEADER_SIZE + META.magic);
  if (magic !== LMDB_MAGIC) {
    throw invalid(file, `LMDB meta page at offset ${offset} has magic 0x${magic.toString(16)}, not 0x${LMDB_MAGIC.toString(16)}`, offset + PAGE_HEADER_SIZE, `0x${LMDB_MAGIC.toString(16)}`, `0x${magic.toString(16)}`);
  }
  const version = bytes.readUInt32LE(PAGE_HEADER_SIZE + META.version) & 0xffff;
  if (version !== LMDB_DATA_VERSION) {
    throw invalid(file, `LMDB meta page at offset ${offset} has data version ${version}, this build reads version ${LMDB_DATA_VERSION}`, offset + PAGE_HEADER_SIZE + META.version, LMDB_DATA_VERSION, version);
  }
  const meta = decodeMeta(bytes, offset);
  if (pageSize === undefined) {
    if (meta.pageSize < MIN_PAGE_SIZE || meta.pageSize > MAX_PAGE_SIZE || (meta.pageSize & (meta.pageSize - 1)) !== 0) {
      throw invalid(file, `LMDB meta page at offset ${offset} has page size ${meta.pageSize}, not a power of two from ${MIN_PAGE_SIZE} to ${MAX_PAGE_SIZE}`, offset + PAGE_HEADER_SIZE + META.pageSize, undefined, meta.pageSize);
    }
  } else if (meta.pageSize !== pageSize) {
    throw invalid(file, `LMDB meta page at offset ${offset} has page size ${meta.pageSize}, the first has ${pageSize}`, offset + PAGE_HEADER_SIZE + META.pageSize, pageSize, meta.pageSize);
  }
  checkMetaPages(file, meta);
  return meta;
}

/** The pages a meta names must lie within its own last page. */
function checkMetaPages(file: string, meta: LmdbMeta): void {
  const at = meta.offset + PAGE_HEADER_SIZE;
  if (meta.lastPage < 1n || meta.lastPage > BigInt(Number.MAX_SAFE_INTEGER) / BigInt(meta.pageSize)) {
    throw invalid(file, `LMDB meta at offset ${meta.offset} has last page ${meta.lastPage}, which no file can hold`, at + META.lastPage, undefined, String(meta.lastPage));
  }
  for (const [name, root, field] of [['free-list', meta.freeRoot, META.freeRoot], ['main', meta.mainRoot, META.mainRoot]] as const) {
    if (root !== NO_PAGE && (root < 2n || root > meta.lastPage)) {
      throw invalid(file, `LMDB meta at offset ${meta.offset} names ${name} root page ${root}, outside pages 2 to ${meta.lastPage}`, at + field, `2..${meta.lastPage}`, String(root));
    }
  }
}

/** The boot id LMDB stamps on metas it writes (the first group of the kernel's boot id, as hex). */
function currentBootId(): bigint {
  try {
    const text = readFileSync('/proc/sys/kernel/random/boot_id', 'latin1');
    const match = /^[0-9a-fA-F]+/.exec(text);
    return match === null ? 0n : BigInt.asIntN(64, BigInt(`0x${match[0]}`));
  } catch {
    return 0n;
  }
}

/**
 * The meta LMDB will open, as it picks one: the newer of pages 0 and 1 by transaction id. With
 * overlapping sync, the last synced meta (in the second half of page 0) instead, when it is
 * older and the newer meta was written before the last reboot: its pages may not have reached
 * the disk.
 */
function pickMeta(metas: [LmdbMeta, LmdbMeta], flushed: LmdbMeta | undefined): LmdbMeta {
  const latest = metas[0].txnId >= metas[1].txnId ? metas[0] : metas[1];
  if (flushed === undefined || flushed.txnId === 0n) return latest;
  const safeRestore = process.env.LMDB_RESTORE === 'safe';
  if ((latest.bootId !== 0n && latest.bootId === currentBootId() && !safeRestore) || (latest.flags & MDB_OVERLAPPINGSYNC) === 0) return latest;
  return latest.txnId > flushed.txnId ? flushed : latest;
}

/**
 * Checks the data file of the LMDB environment in `directory` before LMDB maps it: both meta
 * pages (page flag, magic, data version, page size, root pages within the last page), and the
 * file's size against the meta LMDB will open, which must cover its pages 0 to last page. A
 * larger file is sound (LMDB leaves freed pages at its end).
 *
 * Errors (`PageLogError`, naming the file): `FORMAT_TRUNCATED` with `expected` and `actual`
 * sizes when the file is too short; `CORRUPTION` with the offset when a meta page is not one;
 * `CORRUPTION` too when it is not a regular file; `IO` when it does not read.
 */
export function checkLmdbDataFile(directory: string, mode: LmdbOpenMode): LmdbDataFileInfo {
  const file = join(directory, LMDB_DATA_FILE);
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    throw new PageLogError(`cannot read ${file}: ${(error as Error).message}`, { file, cause: error }, ErrorCode.Io);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new PageLogError(`${file} is not a regular file`, { file }, ErrorCode.Corruption);
    const fileSize = stat.size;
    if (fileSize < META_PAGE_BYTES) throw truncated(file, `${file} is too short for an LMDB meta page`, META_PAGE_BYTES, fileSize);
    const first = checkMetaPage(file, readAt(fd, 0, META_PAGE_BYTES), 0, undefined);
    const pageSize = first.pageSize;
    if (fileSize < 2 * pageSize) throw truncated(file, `${file} is too short for LMDB's two meta pages of ${pageSize} bytes`, 2 * pageSize, fileSize);
    const second = checkMetaPage(file, readAt(fd, pageSize, META_PAGE_BYTES), pageSize, pageSize);
    let flushed: LmdbMeta | undefined;
    if (mode.overlappingSync) {
      // Only the fields from the map size on are ever written there; a zero txnid means unused.
      flushed = decodeMeta(readAt(fd, pageSize / 2, META_PAGE_BYTES), pageSize / 2);
      if (flushed.txnId !== 0n) {
        if (flushed.pageSize !== pageSize) {
          throw invalid(file, `LMDB synced meta at offset ${pageSize / 2} has page size ${flushed.pageSize}, the meta pages have ${pageSize}`, pageSize / 2 + PAGE_HEADER_SIZE + META.pageSize, pageSize, flushed.pageSize);
        }
        checkMetaPages(file, flushed);
      }
    }
    const meta = pickMeta([first, second], flushed);
    const requiredSize = (Number(meta.lastPage) + 1) * pageSize;
    if (fileSize < requiredSize) {
      throw truncated(file, `${file} is truncated: its meta at offset ${meta.offset} (transaction ${meta.txnId}) has pages up to ${meta.lastPage} of ${pageSize} bytes`, requiredSize, fileSize);
    }
    return { fileSize, pageSize, meta, requiredSize };
  } finally {
    closeSync(fd);
  }
}

/** Reads of a data file whose check fails, before the failure is reported. */
const CHECK_ATTEMPTS = 3;
const CHECK_RETRY_DELAY_MS = 20;

/**
 * `checkLmdbDataFile`, tried again after a short wait when it fails: a writer in this or another
 * process may be rewriting a meta page as it is read, and a read torn between two versions can
 * look damaged. Damage on disk fails every attempt, and the last error is thrown.
 */
export function checkLmdbDataFileSettled(directory: string, mode: LmdbOpenMode): LmdbDataFileInfo {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return checkLmdbDataFile(directory, mode);
    } catch (error) {
      if (attempt >= CHECK_ATTEMPTS || !(error instanceof PageLogError) || error.code === ErrorCode.Io) throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, CHECK_RETRY_DELAY_MS);
    }
  }
}

/**
 * Checks the lock file of the LMDB environment in `directory`: absent or a regular file. LMDB
 * rebuilds a damaged lock file when no other process has the environment open, but maps
 * whatever stands at that path, and a directory there makes it fault.
 */
export function checkLmdbLockFile(directory: string): void {
  const file = join(directory, LMDB_LOCK_FILE);
  let isFile: boolean;
  try {
    isFile = statSync(file).isFile();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new PageLogError(`cannot read ${file}: ${(error as Error).message}`, { file, cause: error }, ErrorCode.Io);
  }
  if (!isFile) throw new PageLogError(`${file} is not a regular file`, { file }, ErrorCode.Corruption);
}
