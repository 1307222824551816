/**
 * Checks an LMDB environment's files before LMDB maps them.
 *
 * LMDB trusts its data file: it maps `data.mdb` and follows the page numbers its meta pages
 * hold. A file shorter than the meta page says, or one whose meta page is garbage, makes the
 * process die by SIGBUS or SIGSEGV on the first read, with no message. So the page log reads
 * the meta pages itself first (plain reads, no mapping), and the free DB when the file ends
 * before the meta's last page, and refuses a file LMDB would fault on.
 * The layout is LMDB's (the version lmdb-js embeds, data format 2, 64-bit builds); README.md
 * describes it.
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, PageLogError } from '../../errors.js';

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
/** Page-header flags of the other page types. */
const P_BRANCH = 0x01;
const P_LEAF = 0x02;
const P_OVERFLOW = 0x04;
const P_LEAF2 = 0x20;
const P_SUBP = 0x40;
/** The flags that say a page's type; the others are administrative. */
const PAGE_TYPE_FLAGS = P_BRANCH | P_LEAF | P_OVERFLOW | P_META | P_LEAF2 | P_SUBP;
/** Node flags of a leaf node: data on overflow pages, a sub-database, duplicates. */
const F_BIGDATA = 0x01;
const F_SUBDATA = 0x02;
const F_DUPDATA = 0x04;
/** Node header: data size or child page (lo 2, hi 2), flags (2, a branch node's page bits 32-47), key size (2). */
const NODE_HEADER_SIZE = 8;
/** `MDB_ovpage`, a big node's data: first overflow page (8), txnid (8), page count (8). */
const OVERFLOW_REFERENCE_SIZE = 24;
/** Key of a free-DB record: the id of the transaction that freed its pages. */
const FREE_KEY_SIZE = 8;
/** Entries of a free-page list read at a time from overflow pages. */
const FREE_ENTRIES_PER_READ = 1 << 17;
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
  /**
   * The highest page LMDB may read: the meta's last page when the file holds it (the free DB is
   * then not read), else the highest page up to it that the free DB does not list.
   */
  lastPageInUse: number;
  /** The smallest size the file may have: (`lastPageInUse` + 1) x page size. */
  requiredSize: number;
  /** Whether the free DB was read, because the file is shorter than the meta's last page. */
  freeListRead: boolean;
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

/** A run of pages, first to last, both included. */
interface PageRange {
  first: number;
  last: number;
}

/** Where the free DB is read from, and what bounds it. */
interface FreeListSource {
  file: string;
  fd: number;
  fileSize: number;
  pageSize: number;
  meta: LmdbMeta;
}

function describeMeta(meta: LmdbMeta): string {
  return `the meta at offset ${meta.offset} (transaction ${meta.txnId})`;
}

/**
 * Reads `count` pages from `page` on, after checking that they lie within the meta's pages and
 * within the file. `from` is the offset of the field that named them, for errors.
 */
function readPages(source: FreeListSource, page: bigint, count: bigint, from: number, what: string): Buffer {
  const { file, fd, fileSize, pageSize, meta } = source;
  if (page < 2n || count < 1n || page + count - 1n > meta.lastPage) {
    throw invalid(file, `LMDB ${what} at offset ${from} names pages ${page} to ${page + count - 1n}, outside pages 2 to ${meta.lastPage} of ${describeMeta(meta)}`, from, `2..${meta.lastPage}`, String(page));
  }
  const end = Number(page + count) * pageSize;
  if (end > fileSize) {
    throw truncated(file, `${file} is truncated: LMDB's free-page tree of ${describeMeta(meta)} uses page ${page + count - 1n}, past the end of the file`, end, fileSize);
  }
  const offset = Number(page) * pageSize;
  const bytes = readAt(fd, offset, Math.min(end - offset, pageSize));
  if (bytes.length < Math.min(end - offset, pageSize)) {
    throw truncated(file, `${file} shrank while it was read: page ${page} is past its end`, end, offset + bytes.length);
  }
  return bytes;
}

/** Checks a page header read for page `page`: its number, its transaction and its type. */
function checkPageHeader(source: FreeListSource, bytes: Buffer, page: bigint, types: readonly number[], what: string): number {
  const { file, pageSize, meta } = source;
  const offset = Number(page) * pageSize;
  const number = bytes.readBigUInt64LE(0);
  if (number !== page) {
    throw invalid(file, `LMDB ${what} page ${page} (offset ${offset}) carries page number ${number}`, offset, String(page), String(number));
  }
  const txnId = bytes.readBigUInt64LE(8);
  if (txnId > meta.txnId) {
    // A page of this snapshot never carries a later transaction: it was reused (a writer that
    // committed since the meta was read, or damage).
    throw invalid(file, `LMDB ${what} page ${page} (offset ${offset}) was written by transaction ${txnId}, after ${describeMeta(meta)}`, offset + 8, `<= ${meta.txnId}`, String(txnId));
  }
  const type = bytes.readUInt16LE(18) & PAGE_TYPE_FLAGS;
  if (!types.includes(type)) {
    throw invalid(file, `LMDB ${what} page ${page} (offset ${offset}) has page flags 0x${bytes.readUInt16LE(18).toString(16)}`, offset + 18, types.map((t) => `0x${t.toString(16)}`).join(' or '), `0x${type.toString(16)}`);
  }
  return type;
}

/**
 * Reads one free-DB record's page list as LMDB (lmdb-js's version, `mdb_midl_xmerge`) reads it:
 * entry 0 counts the entries that follow; an entry above 0 is one free page, 0 is an unused
 * slot, and an entry below 0 is the length of a run of free pages whose first page is the next
 * entry. `read(offset, length)` returns the record's bytes from `offset`; `at` is the record's
 * offset in the file, for errors. Each run is handed to `onRun`.
 */
function readFreeRecord(source: FreeListSource, size: number, at: number, read: (offset: number, length: number) => Buffer, onRun: (first: bigint, count: bigint) => void): void {
  const { file } = source;
  if (size < 8 || size % 8 !== 0) {
    throw invalid(file, `LMDB free-page record at offset ${at} is ${size} bytes, not a whole number of 8-byte entries`, at, 'a multiple of 8', size);
  }
  const slots = size / 8;
  const count = read(0, 8).readBigInt64LE(0);
  if (count < 0n || count > BigInt(slots - 1)) {
    throw invalid(file, `LMDB free-page record at offset ${at} counts ${count} entries, it has room for ${slots - 1}`, at, `0..${slots - 1}`, String(count));
  }
  // A run's length as the last counted entry takes its first page from the slot after it.
  const end = Math.min(slots, Number(count) + 2);
  let runLength = 0n;
  for (let start = 1; start < end; start += FREE_ENTRIES_PER_READ) {
    const n = Math.min(FREE_ENTRIES_PER_READ, end - start);
    const bytes = read(start * 8, n * 8);
    for (let j = 0; j < n; j += 1) {
      const entry = bytes.readBigInt64LE(j * 8);
      if (runLength > 0n) {
        onRun(entry, runLength);
        runLength = 0n;
      } else if (start + j > Number(count)) {
        return;
      } else if (entry > 0n) {
        onRun(entry, 1n);
      } else if (entry < 0n) {
        runLength = -entry;
      }
    }
  }
}

/**
 * The pages the free DB of `meta` lists, as runs within pages 2 to the meta's last page. Every
 * page of the free DB's tree is read with plain reads, after checking that it lies within the
 * file (a page past the end is `FORMAT_TRUNCATED`) and that it is what its parent says it is
 * (`CORRUPTION` otherwise). Each page is read at most once, so garbage cannot loop.
 */
function readFreeList(source: FreeListSource): PageRange[] {
  const { file, fd, pageSize, meta } = source;
  const runs: PageRange[] = [];
  if (meta.freeRoot === NO_PAGE) return runs;
  const lastPage = meta.lastPage;
  const onRun = (first: bigint, count: bigint): void => {
    // LMDB frees only pages it allocated, from 2 to the last page: an entry outside them is
    // garbage, and a writer would allocate (and write) the page it names.
    if (first < 2n || first + count - 1n > lastPage) {
      throw invalid(file, `LMDB free-page tree of ${describeMeta(meta)} lists pages ${first} to ${first + count - 1n}, outside pages 2 to its last page ${lastPage}`, Number(meta.freeRoot) * pageSize, `2..${lastPage}`, `${first}..${first + count - 1n}`);
    }
    runs.push({ first: Number(first), last: Number(first + count - 1n) });
  };
  const seen = new Set<bigint>();
  // Pages read, overflow pages included: a sound free DB has fewer than the meta's pages.
  let budget = Number(lastPage) - 1;
  const visit = (page: bigint, count: bigint, from: number, what: string): Buffer => {
    if (seen.has(page)) throw invalid(file, `LMDB ${what} at offset ${from} names page ${page} a second time`, from, undefined, String(page));
    budget -= Number(count);
    if (budget < 0) throw invalid(file, `LMDB free-page tree of ${describeMeta(meta)} has more pages than the meta's last page ${lastPage}`, from);
    const bytes = readPages(source, page, count, from, what);
    seen.add(page);
    return bytes;
  };
  const stack: Array<{ page: bigint; from: number }> = [{ page: meta.freeRoot, from: meta.offset + PAGE_HEADER_SIZE + META.freeRoot }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const bytes = visit(item.page, 1n, item.from, 'free-page tree');
    const type = checkPageHeader(source, bytes, item.page, [P_BRANCH, P_LEAF], 'free-page tree');
    const base = Number(item.page) * pageSize;
    const lower = bytes.readUInt16LE(20);
    const upper = bytes.readUInt16LE(22);
    // The bounds and node offsets count from the end of the page header (`PAGEBASE`).
    if (lower % 2 !== 0 || lower > upper || PAGE_HEADER_SIZE + upper > pageSize || (type === P_BRANCH && lower === 0)) {
      throw invalid(file, `LMDB free-page tree page ${item.page} (offset ${base}) has free-space bounds ${lower} and ${upper}`, base + 20, `lower <= upper <= ${pageSize - PAGE_HEADER_SIZE}`, `${lower}, ${upper}`);
    }
    for (let index = 0; index < lower / 2; index += 1) {
      const node = PAGE_HEADER_SIZE + bytes.readUInt16LE(PAGE_HEADER_SIZE + 2 * index);
      const nodeAt = base + node;
      if (node < PAGE_HEADER_SIZE + upper || node + NODE_HEADER_SIZE > pageSize) {
        throw invalid(file, `LMDB free-page tree page ${item.page} (offset ${base}) has node ${index} at offset ${node}, outside its nodes`, base + PAGE_HEADER_SIZE + 2 * index, undefined, node);
      }
      const lo = bytes.readUInt16LE(node);
      const hi = bytes.readUInt16LE(node + 2);
      const flags = bytes.readUInt16LE(node + 4);
      const keySize = bytes.readUInt16LE(node + 6);
      const keyEnd = node + NODE_HEADER_SIZE + keySize;
      if (type === P_BRANCH) {
        if (keyEnd > pageSize) throw invalid(file, `LMDB free-page tree node at offset ${nodeAt} has a key of ${keySize} bytes, past its page`, nodeAt + 6, undefined, keySize);
        stack.push({ page: BigInt(lo) + (BigInt(hi) << 16n) + (BigInt(flags) << 32n), from: nodeAt });
        continue;
      }
      if (keySize !== FREE_KEY_SIZE) {
        throw invalid(file, `LMDB free-page record at offset ${nodeAt} has a key of ${keySize} bytes, not a transaction id`, nodeAt + 6, FREE_KEY_SIZE, keySize);
      }
      if ((flags & (F_SUBDATA | F_DUPDATA)) !== 0) {
        throw invalid(file, `LMDB free-page record at offset ${nodeAt} has node flags 0x${flags.toString(16)}`, nodeAt + 4, undefined, `0x${flags.toString(16)}`);
      }
      const size = lo + hi * 0x10000;
      if ((flags & F_BIGDATA) === 0) {
        if (keyEnd + size > pageSize) throw invalid(file, `LMDB free-page record at offset ${nodeAt} has ${size} bytes, past its page`, nodeAt, undefined, size);
        readFreeRecord(source, size, base + keyEnd, (offset, length) => bytes.subarray(keyEnd + offset, keyEnd + offset + length), onRun);
        continue;
      }
      if (keyEnd + OVERFLOW_REFERENCE_SIZE > pageSize) throw invalid(file, `LMDB free-page record at offset ${nodeAt} runs past its page`, nodeAt);
      const first = bytes.readBigUInt64LE(keyEnd);
      const count = bytes.readBigUInt64LE(keyEnd + 16);
      if (count < 1n || count > lastPage || BigInt(PAGE_HEADER_SIZE + size) > count * BigInt(pageSize)) {
        throw invalid(file, `LMDB free-page record at offset ${nodeAt} has ${size} bytes on ${count} overflow pages`, base + keyEnd + 16, undefined, String(count));
      }
      const head = visit(first, count, base + keyEnd, 'free-page record');
      checkPageHeader(source, head, first, [P_OVERFLOW], 'overflow');
      const pages = head.readUInt32LE(20);
      if (BigInt(pages) !== count) {
        throw invalid(file, `LMDB overflow page ${first} (offset ${Number(first) * pageSize}) spans ${pages} pages, its record says ${count}`, Number(first) * pageSize + 20, String(count), pages);
      }
      const dataAt = Number(first) * pageSize + PAGE_HEADER_SIZE;
      readFreeRecord(source, size, dataAt, (offset, length) => {
        const chunk = readAt(fd, dataAt + offset, length);
        if (chunk.length < length) throw truncated(file, `${file} shrank while it was read`, dataAt + offset + length, dataAt + offset + chunk.length);
        return chunk;
      }, onRun);
    }
  }
  return runs;
}

/** The highest page from `lastPage` down that none of `free` covers. */
function highestPageNotFree(lastPage: number, free: PageRange[]): number {
  free.sort((a, b) => b.last - a.last);
  let page = lastPage;
  for (const run of free) {
    if (run.last < page) break;
    if (run.first <= page) page = run.first - 1;
  }
  return page;
}

function inspectLmdbDataFile(directory: string, mode: LmdbOpenMode, alwaysReadFreeList: boolean): LmdbDataFileInfo {
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
    let fileSize = stat.size;
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
    // A writer writes a meta's pages before the meta, and the file never shrinks: its size now
    // covers every page the meta just read was written with.
    fileSize = Math.max(fileSize, fstatSync(fd).size);
    const lastPage = Number(meta.lastPage);
    const filePages = Math.floor(fileSize / pageSize);
    if (lastPage < filePages && !alwaysReadFreeList) {
      return { fileSize, pageSize, meta, lastPageInUse: lastPage, requiredSize: (lastPage + 1) * pageSize, freeListRead: false };
    }
    // The file may lack pages at its end that the free DB lists: pages a transaction took and
    // freed again, which LMDB never writes. LMDB never reads a free page, and every other page up
    // to the last page is in use (LMDB: each is used by a database or listed free, exactly once).
    const lastPageInUse = highestPageNotFree(lastPage, readFreeList({ file, fd, fileSize, pageSize, meta }));
    const requiredSize = (lastPageInUse + 1) * pageSize;
    if (fileSize < requiredSize) {
      throw truncated(file, `${file} is truncated: ${describeMeta(meta)} has pages up to ${meta.lastPage} of ${pageSize} bytes, and page ${lastPageInUse}, which its free list does not list, is past the end of the file`, requiredSize, fileSize);
    }
    return { fileSize, pageSize, meta, lastPageInUse, requiredSize, freeListRead: true };
  } finally {
    closeSync(fd);
  }
}

/**
 * Checks the data file of the LMDB environment in `directory` before LMDB maps it: both meta
 * pages (page flag, magic, data version, page size, root pages within the last page), and the
 * file's size against the meta LMDB will open: every page LMDB may read must lie in the file.
 * Those are the meta's pages 0 to last page, except the pages its free DB lists, which LMDB
 * never reads and may never have written. So when the file is shorter than the last page, the
 * free DB is read (plain reads of its pages, each checked to lie in the file), and the highest
 * page it does not list must lie in the file. A larger file is sound (LMDB leaves freed pages
 * at its end).
 *
 * Errors (`PageLogError`, naming the file): `FORMAT_TRUNCATED` with `expected` and `actual`
 * sizes when the file is too short; `CORRUPTION` with the offset when a meta page is not one
 * or the free DB does not read as one; `CORRUPTION` too when it is not a regular file; `IO`
 * when it does not read.
 */
export function checkLmdbDataFile(directory: string, mode: LmdbOpenMode): LmdbDataFileInfo {
  return inspectLmdbDataFile(directory, mode, false);
}

/**
 * `checkLmdbDataFile`, reading the free DB even when the file holds the meta's last page: the
 * result's `lastPageInUse` is then the highest page the free DB does not list, and
 * `requiredSize` the exact size the file may be truncated to. For tests and tools.
 */
export function inspectLmdbFreePages(directory: string, mode: LmdbOpenMode): LmdbDataFileInfo {
  return inspectLmdbDataFile(directory, mode, true);
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
