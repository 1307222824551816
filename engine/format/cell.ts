import { ErrorCode, FormatError } from '../errors.js';
import { packedUintSize, readPackedUint, readPackedUintBig, writePackedUint } from './packed.js';

/**
 * Row-store cells (FORMATS.md section 5): the descriptor byte, short and long key and value
 * cells, time windows and aggregates, address cells and overflow references.
 */

/** Cell types as the descriptor's high nibble, plus the three short forms. */
export const CellType = {
  AddressDeleted: 0x00,
  AddressInternal: 0x10,
  AddressLeaf: 0x20,
  AddressLeafNoOverflow: 0x30,
  Deleted: 0x40,
  Key: 0x50,
  KeyOverflow: 0x60,
  KeyPrefix: 0x70,
  Value: 0x80,
  ValueCopy: 0x90,
  ValueOverflow: 0xa0,
  ValueOverflowRemoved: 0xb0,
  KeyOverflowRemoved: 0xc0,
} as const;
export type CellTypeValue = (typeof CellType)[keyof typeof CellType];

export const CELL_SECOND_DESCRIPTOR = 0x08;
export const CELL_64V = 0x04;
export const SHORT_KEY = 0x01;
export const SHORT_KEY_PREFIX = 0x02;
export const SHORT_VALUE = 0x03;
export const SHORT_MAX_LENGTH = 63;
export const CELL_SIZE_ADJUST = 64;

export const TimeFlags = {
  Prepare: 0x01,
  DurableStart: 0x02,
  DurableStop: 0x04,
  StartTs: 0x08,
  StopTs: 0x10,
  StartTxn: 0x20,
  StopTxn: 0x40,
} as const;

export const TS_MAX = (1n << 64n) - 1n;
export const TXN_MAX = (1n << 64n) - 11n;

/**
 * The raw time fields of a cell's second descriptor, as stored (stop and durable values are
 * deltas; `decodeTimeWindow` and `decodeTimeAggregate` turn them into absolute values).
 */
export interface RawTimeFields {
  flags: number;
  startTs?: bigint;
  startTxn?: bigint;
  durableStartDelta?: bigint;
  stopDelta?: bigint;
  stopTxnDelta?: bigint;
  durableStopDelta?: bigint;
}

export interface TimeWindow {
  startTs: bigint;
  startTxn: bigint;
  durableStartTs: bigint;
  stopTs: bigint;
  stopTxn: bigint;
  durableStopTs: bigint;
  prepared: boolean;
}

export interface TimeAggregate {
  oldestStartTs: bigint;
  newestTxn: bigint;
  newestStartDurableTs: bigint;
  newestStopTs: bigint;
  newestStopTxn: bigint;
  newestStopDurableTs: bigint;
  prepared: boolean;
}

/** One decoded cell. Short forms report their long type (`Key`, `KeyPrefix`, `Value`). */
export interface Cell {
  type: CellTypeValue;
  /** True for the 1-byte-descriptor short forms. */
  short: boolean;
  /** Offset of the descriptor byte in the page. */
  offset: number;
  /** Total bytes of the cell. */
  size: number;
  /** Prefix-compression count (keys only). */
  prefix: number;
  /** Key or value bytes, or the address cookie of address and overflow cells. */
  data: Buffer;
  /** The RLE / record-number value; always 0 on a valid row-store cell. */
  v: bigint;
  time?: RawTimeFields;
  /** `ValueCopy` only: byte distance back from this cell to the copied value cell. */
  copyOffset?: number;
  /** `AddressDeleted` on a fast-truncate page: txn id, timestamp, durable timestamp. */
  fastTruncate?: { txn: bigint; ts: bigint; durableTs: bigint };
}

function truncated(offset: number, what: string): FormatError {
  return new FormatError(`${what} runs past the end of the page`, { offset }, ErrorCode.FormatTruncated);
}

/** The time fields a second descriptor's flags announce, in the order they are stored. */
const TIME_FIELDS = [
  [TimeFlags.StartTs, 'startTs'], [TimeFlags.StartTxn, 'startTxn'], [TimeFlags.DurableStart, 'durableStartDelta'],
  [TimeFlags.StopTs, 'stopDelta'], [TimeFlags.StopTxn, 'stopTxnDelta'], [TimeFlags.DurableStop, 'durableStopDelta'],
] as const;

/**
 * Decodes cells into its own fields, one after another, without allocating per cell: the
 * page walks of verify and dump decode every cell of every page, and one object (with a
 * Buffer for its data) per cell was most of their cost. A field is valid until the next
 * `decode`; `time` and `fastTruncate` are objects of their own, made only when present.
 */
export class CellDecoder {
  type: CellTypeValue = CellType.Key;
  /** True for the 1-byte-descriptor short forms. */
  short = false;
  /** Offset of the descriptor byte in the page. */
  offset = 0;
  /** Total bytes of the cell. */
  size = 0;
  /** Prefix-compression count (keys only). */
  prefix = 0;
  /** The cell's data bytes (key, value or address cookie) are `page[dataStart, dataEnd)`. */
  dataStart = 0;
  dataEnd = 0;
  /** The RLE / record-number value; always 0 on a valid row-store cell. */
  v = 0n;
  time: RawTimeFields | undefined = undefined;
  /** `ValueCopy` only: byte distance back from this cell to the copied value cell. */
  copyOffset = 0;
  fastTruncate: Cell['fastTruncate'] = undefined;

  /**
   * Decodes the cell at `offset`; `end` is the end of the page's cells (its `mem_size`).
   * `fastTruncatePage` says whether the page carries `WT_PAGE_FT_UPDATE`. Throws
   * `FormatError` for a cell that does not decode.
   */
  decode(page: Uint8Array, offset: number, end: number, fastTruncatePage = false): void {
    if (offset >= end) throw truncated(offset, 'cell');
    const desc = page[offset]!;
    const shortType = desc & 0x03;
    this.offset = offset;
    this.v = 0n;
    this.time = undefined;
    this.copyOffset = 0;
    this.fastTruncate = undefined;
    if (shortType !== 0) {
      const length = desc >> 2;
      let p = offset + 1;
      let prefix = 0;
      if (shortType === SHORT_KEY_PREFIX) {
        if (p >= end) throw truncated(offset, 'cell prefix');
        prefix = page[p++]!;
      }
      if (p + length > end) throw truncated(offset, 'short cell data');
      this.type = shortType === SHORT_KEY ? CellType.Key : shortType === SHORT_KEY_PREFIX ? CellType.KeyPrefix : CellType.Value;
      this.short = true;
      this.prefix = prefix;
      this.dataStart = p;
      this.dataEnd = p + length;
      this.size = p + length - offset;
      return;
    }
    // A long key or value without time window, RLE value or prefix, shorter than 128 bytes
    // (a one-byte length): the other common cells, decoded here too so that this stays small
    // enough for the compiler to inline into the page walks.
    if ((desc === CellType.Value || desc === CellType.Key) && offset + 1 < end) {
      const b0 = page[offset + 1]!;
      const length = (b0 & 0x3f) + CELL_SIZE_ADJUST;
      const p = offset + 2;
      if (b0 >= 0x80 && b0 < 0xc0 && p + length <= end) {
        this.type = desc;
        this.short = false;
        this.prefix = 0;
        this.dataStart = p;
        this.dataEnd = p + length;
        this.size = p + length - offset;
        return;
      }
    }
    this.decodeLong(page, offset, end, desc, fastTruncatePage);
  }

  /** The long forms `decode` leaves: type checks, time fields, RLE values, longer lengths. */
  private decodeLong(page: Uint8Array, offset: number, end: number, desc: number, fastTruncatePage: boolean): void {
    const type = (desc & 0xf0) as CellTypeValue;
    if (type > CellType.KeyOverflowRemoved) {
      throw new FormatError(`invalid cell type 0x${type.toString(16)}`, { offset });
    }
    this.type = type;
    this.short = false;
    let p = offset + 1;
    let prefix = 0;
    if (type === CellType.KeyPrefix) {
      if (p >= end) throw truncated(offset, 'cell prefix');
      prefix = page[p++]!;
    }
    this.prefix = prefix;
    if (desc & CELL_SECOND_DESCRIPTOR) {
      if (p >= end) throw truncated(offset, 'cell second descriptor');
      const flags = page[p++]!;
      if (flags & 0x80) throw new FormatError('unused bit set in the cell time flags', { offset: p - 1 });
      const time: RawTimeFields = { flags };
      for (const [flag, field] of TIME_FIELDS) {
        if ((flags & flag) === 0) continue;
        time[field] = this.bigField(page, p, end, 'cell time fields');
        p += this.fieldSize;
      }
      this.time = time;
    }
    if (desc & CELL_64V) {
      this.v = this.bigField(page, p, end, 'cell RLE value');
      p += this.fieldSize;
    }
    if (type === CellType.AddressDeleted && fastTruncatePage) {
      const txn = this.bigField(page, p, end, 'fast-truncate fields');
      p += this.fieldSize;
      const ts = this.bigField(page, p, end, 'fast-truncate fields');
      p += this.fieldSize;
      const durableTs = this.bigField(page, p, end, 'fast-truncate fields');
      p += this.fieldSize;
      this.fastTruncate = { txn, ts, durableTs };
    }
    if (p >= end) throw truncated(offset, 'cell length');
    // The one- and two-byte forms of the packed length inline: nearly every cell has one.
    const b0 = page[p]!;
    let packedLength: number;
    if (b0 >= 0x80 && b0 < 0xc0) {
      packedLength = b0 & 0x3f;
      p += 1;
    } else if (b0 >= 0xc0 && b0 < 0xe0 && p + 1 < end) {
      packedLength = (((b0 & 0x1f) << 8) | page[p + 1]!) + 64;
      p += 2;
    } else {
      const [value, n] = readPackedUint(page, p);
      packedLength = value;
      p += n;
    }
    if (type === CellType.ValueCopy) {
      this.copyOffset = packedLength;
      this.dataStart = p;
      this.dataEnd = p;
      this.size = p - offset;
      return;
    }
    let length = packedLength;
    if (type === CellType.Key || type === CellType.KeyPrefix) length += CELL_SIZE_ADJUST;
    else if (type === CellType.Value && !(desc & CELL_SECOND_DESCRIPTOR) && this.v === 0n) length += CELL_SIZE_ADJUST;
    if (p + length > end) throw truncated(offset, 'cell data');
    this.dataStart = p;
    this.dataEnd = p + length;
    this.size = p + length - offset;
  }

  /** Bytes of the last field `bigField` read. */
  private fieldSize = 0;

  /**
   * The packed integer at `p` (its size left in `fieldSize`). A method, not a closure over
   * `decode`'s position: a closure would make every `decode` call allocate its context.
   */
  private bigField(page: Uint8Array, p: number, end: number, what: string): bigint {
    if (p >= end) throw truncated(this.offset, what);
    const [value, n] = readPackedUintBig(page, p);
    this.fieldSize = n;
    return value;
  }

  /** The decoded cell as a `Cell` of its own, its data a view of `page`. */
  toCell(page: Buffer): Cell {
    const { type, short, offset, size, prefix, v } = this;
    const data = page.subarray(this.dataStart, this.dataEnd);
    if (short) return { type, short, offset, size, prefix, data, v };
    if (type === CellType.ValueCopy) return { type, short, offset, size, prefix, data, v, time: this.time, copyOffset: this.copyOffset };
    return { type, short, offset, size, prefix, data, v, time: this.time, fastTruncate: this.fastTruncate };
  }
}

/**
 * Decodes the cell at `offset`; `end` is the end of the page's cells (its `mem_size`).
 * `fastTruncatePage` says whether the page carries `WT_PAGE_FT_UPDATE`.
 */
export function unpackCell(page: Buffer, offset: number, end: number, fastTruncatePage = false): Cell {
  const decoder = new CellDecoder();
  decoder.decode(page, offset, end, fastTruncatePage);
  return decoder.toCell(page);
}

/** The absolute time window of a value cell (defaults when the cell has none). */
export function decodeTimeWindow(time: RawTimeFields | undefined): TimeWindow {
  const startTs = time?.startTs ?? 0n;
  const startTxn = time?.startTxn ?? 0n;
  const durableStartTs = startTs + (time?.durableStartDelta ?? 0n);
  const stopTs = time?.stopDelta !== undefined ? startTs + time.stopDelta : TS_MAX;
  const stopTxn = time?.stopTxnDelta !== undefined ? startTxn + time.stopTxnDelta : TXN_MAX;
  const durableStopTs = stopTs === TS_MAX ? 0n : stopTs + (time?.durableStopDelta ?? 0n);
  return { startTs, startTxn, durableStartTs, stopTs, stopTxn, durableStopTs, prepared: !!(time && time.flags & TimeFlags.Prepare) };
}

/** The absolute time aggregate of an address cell (defaults when the cell has none). */
export function decodeTimeAggregate(time: RawTimeFields | undefined): TimeAggregate {
  const oldestStartTs = time?.startTs ?? 0n;
  const newestTxn = time?.startTxn ?? 0n;
  const newestStartDurableTs = time?.durableStartDelta !== undefined ? oldestStartTs + time.durableStartDelta : 0n;
  const newestStopTs = time?.stopDelta !== undefined ? oldestStartTs + time.stopDelta : TS_MAX;
  const newestStopTxn = time?.stopTxnDelta !== undefined ? newestTxn + time.stopTxnDelta : TXN_MAX;
  const newestStopDurableTs = time?.durableStopDelta !== undefined ? newestStopTs + time.durableStopDelta : 0n;
  return {
    oldestStartTs, newestTxn, newestStartDurableTs, newestStopTs, newestStopTxn, newestStopDurableTs,
    prepared: !!(time && time.flags & TimeFlags.Prepare),
  };
}

/** True when a value cell's time window says the value was removed (a stop time is set). */
export function isStopped(window: TimeWindow): boolean {
  return window.stopTs !== TS_MAX || window.stopTxn !== TXN_MAX;
}

/**
 * Bytes of a key cell (no prefix compression) or a plain value cell holding `length` bytes:
 * both use the short form up to 63 bytes and the long form, length biased by 64, above.
 */
export function dataCellSize(length: number): number {
  return length <= SHORT_MAX_LENGTH ? 1 + length : 1 + packedUintSize(length - CELL_SIZE_ADJUST) + length;
}

export const keyCellSize = dataCellSize;
export const valueCellSize = dataCellSize;

/** Writes a short or long data cell; returns the bytes written. */
function writeDataCell(buf: Buffer, offset: number, data: Uint8Array, shortTag: number, longType: CellTypeValue): number {
  if (data.length <= SHORT_MAX_LENGTH) {
    buf[offset] = (data.length << 2) | shortTag;
    buf.set(data, offset + 1);
    return 1 + data.length;
  }
  buf[offset] = longType;
  const n = writePackedUint(buf, offset + 1, data.length - CELL_SIZE_ADJUST);
  buf.set(data, offset + 1 + n);
  return 1 + n + data.length;
}

/** Writes a key cell without prefix compression; returns the bytes written. */
export function writeKeyCell(buf: Buffer, offset: number, key: Uint8Array): number {
  return writeDataCell(buf, offset, key, SHORT_KEY, CellType.Key);
}

/** Writes a plain value cell (globally visible, no time window); returns the bytes written. */
export function writeValueCell(buf: Buffer, offset: number, value: Uint8Array): number {
  return writeDataCell(buf, offset, value, SHORT_VALUE, CellType.Value);
}

/** Bytes of an address or overflow-reference cell without time information. */
export function referenceCellSize(cookieLength: number): number {
  return 1 + packedUintSize(cookieLength) + cookieLength;
}

/**
 * Writes an address cell (`AddressInternal`, `AddressLeaf`, `AddressLeafNoOverflow`) or an
 * overflow reference (`KeyOverflow`, `ValueOverflow`) without time information.
 */
export function writeReferenceCell(buf: Buffer, offset: number, type: CellTypeValue, cookie: Uint8Array): number {
  buf[offset] = type;
  const n = writePackedUint(buf, offset + 1, cookie.length);
  buf.set(cookie, offset + 1 + n);
  return 1 + n + cookie.length;
}

export function isKeyCell(type: CellTypeValue): boolean {
  return type === CellType.Key || type === CellType.KeyPrefix || type === CellType.KeyOverflow;
}

export function isAddressCell(type: CellTypeValue): boolean {
  return type === CellType.AddressDeleted || type === CellType.AddressInternal
    || type === CellType.AddressLeaf || type === CellType.AddressLeafNoOverflow;
}

export function isValueCell(type: CellTypeValue): boolean {
  return type === CellType.Value || type === CellType.ValueCopy || type === CellType.ValueOverflow;
}

export function cellTypeName(type: number): string {
  for (const [name, value] of Object.entries(CellType)) if (value === type) return name;
  return `unknown(0x${type.toString(16)})`;
}
