/**
 * The key-provider page (the "KEK page", FORMATS.md 9.5): a small header in front of the
 * provider's opaque key blob, put to page-log table 26, page 1 at every checkpoint that
 * changes the key.
 *
 * ```
 * offset size field
 *      0    4 signature           77 74 63 68 ("wtch", 0x68637477 little-endian)
 *      4    1 version             2 (1 = the 16-byte header without a timestamp)
 *      5    1 compatible_version  1
 *      6    1 header_size         24 (16 on a version-1 page)
 *      7    1 unused              0
 *      8    4 crypt_size          blob length, u32 LE
 *     12    4 checksum            CRC-32C of header + blob with this field zeroed, u32 LE
 *     16    8 timestamp           checkpoint timestamp, u64 LE (version 2 and later)
 *     24    n blob
 * ```
 */
import { ErrorCode, KeyProviderError, type ErrorCodeValue, type ErrorLocation } from '../errors.js';
import { checksum, checksumWithZeroedField } from '../format/checksum.js';

/** Fixed values of the key-provider page header. */
export const KeyProviderPageLayout = {
  /** `77 74 63 68` ("wtch") read as a little-endian u32. */
  signature: 0x68637477,
  /** The version this codec writes. */
  version: 2,
  /** The oldest reader version able to read what this codec writes. */
  compatibleVersion: 1,
  /** The highest compatible_version this reader accepts. */
  readerVersion: 1,
  /** Header size this codec writes. */
  headerSize: 24,
  /** Header size of a version-1 page, and the smallest valid page. */
  minimumHeaderSize: 16,
  /** First version whose header carries the timestamp at offset 16. */
  firstVersionWithTimestamp: 2,
  /** The largest blob a u32 crypt_size can describe. */
  maximumBlobSize: 0xffffffff,
} as const;

/** Byte offsets of the header fields. */
export const KeyProviderPageOffset = {
  signature: 0,
  version: 4,
  compatibleVersion: 5,
  headerSize: 6,
  unused: 7,
  cryptSize: 8,
  checksum: 12,
  timestamp: 16,
} as const;

const largestTimestamp = (1n << 64n) - 1n;

/** Where a page was read from; the LSN is required so every error can name it. */
export type KeyProviderPageLocation = ErrorLocation & { lsn: number };

/** A key-provider page that passed every reader check. */
export interface DecodedKeyProviderPage {
  version: number;
  compatibleVersion: number;
  headerSize: number;
  cryptSize: number;
  /** The stored checksum, which matched the computed one. */
  checksum: number;
  /** The checkpoint timestamp; undefined on a version-1 page, which has none. */
  timestamp: bigint | undefined;
  /** A copy of the blob, so the caller may keep it after the page buffer is reused. */
  blob: Buffer;
}

/**
 * The reader checks, in the order they run. The order matters: a torn or overwritten page
 * is reported as a checksum failure before any field it contains is trusted.
 */
export type KeyProviderPageCheck =
  | 'size'
  | 'checksum'
  | 'header-size'
  | 'crypt-size'
  | 'compatible-version'
  | 'signature';

/** One failed check, with the structured fields its error carries. */
export interface KeyProviderPageProblem {
  check: KeyProviderPageCheck;
  code: ErrorCodeValue;
  message: string;
  /** Byte offset of the field at fault; absent for the size check. */
  offset?: number;
  expected?: number | string;
  actual?: number | string;
}

/**
 * Every header field the page has room for, whether or not it is valid, and every problem
 * found. It holds no blob bytes, so it can be printed or serialised as it is; the blob is
 * `page.subarray(blobOffset)` when the caller needs it.
 */
export interface KeyProviderPageInspection {
  lsn: number;
  pageSize: number;
  signature: number | undefined;
  version: number | undefined;
  compatibleVersion: number | undefined;
  headerSize: number | undefined;
  unused: number | undefined;
  cryptSize: number | undefined;
  /** The checksum stored in the header. */
  checksum: number | undefined;
  /** The checksum computed over the page with the checksum field zeroed. */
  computedChecksum: number | undefined;
  /** Read when the version is 2 or later and the header has room for it. */
  timestamp: bigint | undefined;
  /** Where the blob starts (header_size), when header_size is within the page. */
  blobOffset: number | undefined;
  /** Bytes after the header, when header_size is within the page. */
  blobLength: number | undefined;
  /** Failed checks in reader order; empty for a valid page. `problems[0]` is what decode throws. */
  problems: KeyProviderPageProblem[];
}

function hex32(value: number): string {
  return `0x${value.toString(16).padStart(8, '0')}`;
}

/**
 * Builds a version-2 key-provider page: the 24-byte header, then a copy of `blob`.
 *
 * @param blob the provider's opaque key blob, exactly as `getKey` returned it.
 * @param timestamp the timestamp of the checkpoint writing the page (u64).
 * @throws KeyProviderError `INVALID_ARGUMENT` when the timestamp is outside u64 or the blob
 *   is too large for crypt_size.
 */
export function encodeKeyProviderPage({ blob, timestamp }: { blob: Uint8Array; timestamp: bigint }): Buffer {
  if (typeof timestamp !== 'bigint' || timestamp < 0n || timestamp > largestTimestamp) {
    throw new KeyProviderError('key-provider page timestamp must be an unsigned 64-bit bigint', {}, ErrorCode.InvalidArgument);
  }
  if (blob.length > KeyProviderPageLayout.maximumBlobSize) {
    throw new KeyProviderError(
      'key blob is too large for a key-provider page',
      { expected: KeyProviderPageLayout.maximumBlobSize, actual: blob.length },
      ErrorCode.InvalidArgument,
    );
  }
  const headerSize = KeyProviderPageLayout.headerSize;
  const page = Buffer.alloc(headerSize + blob.length);
  page.writeUInt32LE(KeyProviderPageLayout.signature, KeyProviderPageOffset.signature);
  page.writeUInt8(KeyProviderPageLayout.version, KeyProviderPageOffset.version);
  page.writeUInt8(KeyProviderPageLayout.compatibleVersion, KeyProviderPageOffset.compatibleVersion);
  page.writeUInt8(headerSize, KeyProviderPageOffset.headerSize);
  page.writeUInt32LE(blob.length, KeyProviderPageOffset.cryptSize);
  page.writeBigUInt64LE(timestamp, KeyProviderPageOffset.timestamp);
  page.set(blob, headerSize);
  // The checksum field is still zero here, so a plain checksum is the zeroed-field checksum.
  page.writeUInt32LE(checksum(page), KeyProviderPageOffset.checksum);
  return page;
}

/**
 * Reads every field of a key-provider page and runs every reader check without throwing,
 * for the read-path tool. Checks run in reader order; a page shorter than 16 bytes yields
 * only the size problem, since no other field can be trusted to exist.
 */
export function inspectKeyProviderPage(page: Uint8Array, where: KeyProviderPageLocation): KeyProviderPageInspection {
  const bytes = Buffer.from(page.buffer, page.byteOffset, page.byteLength);
  const pageSize = bytes.length;
  const has = (offset: number, size: number): boolean => pageSize >= offset + size;
  const signature = has(KeyProviderPageOffset.signature, 4) ? bytes.readUInt32LE(KeyProviderPageOffset.signature) : undefined;
  const version = has(KeyProviderPageOffset.version, 1) ? bytes[KeyProviderPageOffset.version] : undefined;
  const compatibleVersion = has(KeyProviderPageOffset.compatibleVersion, 1) ? bytes[KeyProviderPageOffset.compatibleVersion] : undefined;
  const headerSize = has(KeyProviderPageOffset.headerSize, 1) ? bytes[KeyProviderPageOffset.headerSize] : undefined;
  const unused = has(KeyProviderPageOffset.unused, 1) ? bytes[KeyProviderPageOffset.unused] : undefined;
  const cryptSize = has(KeyProviderPageOffset.cryptSize, 4) ? bytes.readUInt32LE(KeyProviderPageOffset.cryptSize) : undefined;
  const storedChecksum = has(KeyProviderPageOffset.checksum, 4) ? bytes.readUInt32LE(KeyProviderPageOffset.checksum) : undefined;
  const computedChecksum = has(KeyProviderPageOffset.checksum, 4)
    ? checksumWithZeroedField(bytes, KeyProviderPageOffset.checksum)
    : undefined;
  const headerWithinPage = headerSize !== undefined && headerSize <= pageSize;
  const timestamp =
    version !== undefined &&
    version >= KeyProviderPageLayout.firstVersionWithTimestamp &&
    headerSize !== undefined &&
    headerSize >= KeyProviderPageOffset.timestamp + 8 &&
    has(KeyProviderPageOffset.timestamp, 8)
      ? bytes.readBigUInt64LE(KeyProviderPageOffset.timestamp)
      : undefined;

  const problems: KeyProviderPageProblem[] = [];
  const minimum = KeyProviderPageLayout.minimumHeaderSize;
  if (pageSize < minimum) {
    problems.push({
      check: 'size',
      code: ErrorCode.KeyPageInvalid,
      message: `key-provider page is ${pageSize} bytes, shorter than the ${minimum}-byte minimum header`,
      expected: minimum,
      actual: pageSize,
    });
  } else {
    const stored = storedChecksum as number;
    const computed = computedChecksum as number;
    const size = headerSize as number;
    if (stored !== computed) {
      problems.push({
        check: 'checksum',
        code: ErrorCode.KeyPageChecksum,
        message: `key-provider page checksum mismatch: stored ${hex32(stored)}, computed ${hex32(computed)}`,
        offset: KeyProviderPageOffset.checksum,
        expected: hex32(stored),
        actual: hex32(computed),
      });
    }
    if (size < minimum || size > pageSize) {
      problems.push({
        check: 'header-size',
        code: ErrorCode.KeyPageInvalid,
        message: `key-provider page header_size ${size} is outside ${minimum}..${pageSize} (the page size)`,
        offset: KeyProviderPageOffset.headerSize,
        expected: `${minimum}..${pageSize}`,
        actual: size,
      });
    }
    if (pageSize - size !== cryptSize) {
      problems.push({
        check: 'crypt-size',
        code: ErrorCode.KeyPageInvalid,
        message: `key-provider page crypt_size ${cryptSize} does not match the ${pageSize - size} bytes after the ${size}-byte header`,
        offset: KeyProviderPageOffset.cryptSize,
        expected: pageSize - size,
        actual: cryptSize as number,
      });
    }
    if ((compatibleVersion as number) > KeyProviderPageLayout.readerVersion) {
      problems.push({
        check: 'compatible-version',
        code: ErrorCode.KeyPageUnsupported,
        message: `key-provider page needs a reader of version ${compatibleVersion}; this reader is version ${KeyProviderPageLayout.readerVersion}`,
        offset: KeyProviderPageOffset.compatibleVersion,
        expected: KeyProviderPageLayout.readerVersion,
        actual: compatibleVersion as number,
      });
    }
    if (signature !== KeyProviderPageLayout.signature) {
      problems.push({
        check: 'signature',
        code: ErrorCode.KeyPageInvalid,
        message: `key-provider page signature is ${hex32(signature as number)}, not ${hex32(KeyProviderPageLayout.signature)} ("wtch")`,
        offset: KeyProviderPageOffset.signature,
        expected: hex32(KeyProviderPageLayout.signature),
        actual: hex32(signature as number),
      });
    }
  }

  return {
    lsn: where.lsn,
    pageSize,
    signature,
    version,
    compatibleVersion,
    headerSize,
    unused,
    cryptSize,
    checksum: storedChecksum,
    computedChecksum,
    timestamp,
    blobOffset: headerWithinPage ? headerSize : undefined,
    blobLength: headerWithinPage ? pageSize - headerSize : undefined,
    problems,
  };
}

/**
 * Decodes a key-provider page read at `where.lsn`, running the reader checks in order
 * (size, checksum, header_size, crypt_size, compatible_version, signature) and throwing the
 * first that fails. A version-1 page (16-byte header) decodes with `timestamp` undefined.
 *
 * @throws KeyProviderError naming the LSN: `KEY_PAGE_CHECKSUM` for a checksum mismatch,
 *   `KEY_PAGE_UNSUPPORTED` for a compatible_version above this reader's, `KEY_PAGE_INVALID`
 *   for the size, header_size, crypt_size and signature checks (told apart by `offset`).
 */
export function decodeKeyProviderPage(page: Uint8Array, where: KeyProviderPageLocation): DecodedKeyProviderPage {
  const inspection = inspectKeyProviderPage(page, where);
  const problem = inspection.problems[0];
  if (problem !== undefined) {
    const location: ErrorLocation = { ...where };
    if (problem.offset !== undefined) location.offset = problem.offset;
    if (problem.expected !== undefined) location.expected = problem.expected;
    if (problem.actual !== undefined) location.actual = problem.actual;
    throw new KeyProviderError(problem.message, location, problem.code);
  }
  const headerSize = inspection.headerSize as number;
  return {
    version: inspection.version as number,
    compatibleVersion: inspection.compatibleVersion as number,
    headerSize,
    cryptSize: inspection.cryptSize as number,
    checksum: inspection.checksum as number,
    timestamp: inspection.timestamp,
    blob: Buffer.from(page.subarray(headerSize)),
  };
}
