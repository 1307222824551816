import {
  cellTypeName, computeBlockChecksum, decodeFileAddress, decodePageLogAddress, decodeTimeAggregate,
  decodeTimeWindow, escapeForDump, EXTENT_LIST_MAGIC, hex32, isAddressCell, PageFlags, PageType, readPackedUint,
  readPageHeader, TS_MAX, TXN_MAX, unpackCell, type PageHeader, type RawTimeFields,
} from '../../engine/format/index.js';

/**
 * Decoding one page for `page` and `header`: headers, checksum status, and every cell or
 * extent, with the problems met. Pure functions over bytes; nothing here reads files.
 */

export const PAGE_TYPE_NAMES: Record<number, string> = {
  0: 'invalid', 1: 'block manager (extent list)', 2: 'column fixed', 3: 'column internal', 4: 'column variable',
  5: 'overflow', 6: 'row internal', 7: 'row leaf',
};

/** The page header's fields in words. */
export function describePageHeader(h: PageHeader): Record<string, unknown> {
  const flags: string[] = [];
  if (h.flags & PageFlags.Compressed) flags.push('compressed');
  if (h.flags & PageFlags.EmptyValueAll) flags.push('empty-value-all');
  if (h.flags & PageFlags.EmptyValueNone) flags.push('empty-value-none');
  if (h.flags & PageFlags.Encrypted) flags.push('encrypted');
  if (h.flags & PageFlags.Unused) flags.push('unused');
  if (h.flags & PageFlags.FastTruncateUpdate) flags.push('fast-truncate');
  return {
    recno: h.recno.toString(), writeGen: h.writeGen.toString(), memSize: h.memSize, entries: h.entries,
    type: h.type, typeName: PAGE_TYPE_NAMES[h.type] ?? 'unknown', flags: h.flags, flagNames: flags, unused: h.unused, version: h.version,
  };
}

const PREVIEW = 64;

function preview(data: Buffer): string {
  return data.length > PREVIEW ? `${escapeForDump(data.subarray(0, PREVIEW))}... (${data.length} bytes)` : escapeForDump(data);
}

function timeOf(time: RawTimeFields | undefined, address: boolean): Record<string, string> | undefined {
  if (time === undefined) return undefined;
  const show = (v: bigint, max: bigint): string => (v === max ? 'max' : v.toString());
  if (address) {
    const aggregate = decodeTimeAggregate(time);
    return {
      oldestStartTs: aggregate.oldestStartTs.toString(), newestTxn: aggregate.newestTxn.toString(), newestStartDurableTs: aggregate.newestStartDurableTs.toString(),
      newestStopTs: show(aggregate.newestStopTs, TS_MAX), newestStopTxn: show(aggregate.newestStopTxn, TXN_MAX), newestStopDurableTs: aggregate.newestStopDurableTs.toString(),
    };
  }
  const window = decodeTimeWindow(time);
  return {
    startTs: window.startTs.toString(), startTxn: window.startTxn.toString(), durableStartTs: window.durableStartTs.toString(),
    stopTs: show(window.stopTs, TS_MAX), stopTxn: show(window.stopTxn, TXN_MAX), durableStopTs: window.durableStopTs.toString(),
  };
}

/** A decoded page: its parts and the problems met. */
export interface DecodedPage {
  header: Record<string, unknown>;
  cells?: Array<Record<string, unknown>>;
  extents?: Array<{ offset: number; size: number }>;
  overflow?: { length: number; data: string };
  problems: string[];
}

/**
 * Decodes the cells (or extents, or overflow bytes) of a page image whose payload starts at
 * `payloadOffset`. `addressKind` says how to read address cookies in its cells.
 */
export function decodePageBody(image: Buffer, payloadOffset: number, addressKind: { file: number } | 'pagelog'): DecodedPage {
  const problems: string[] = [];
  const header = readPageHeader(image);
  const decoded: DecodedPage = { header: describePageHeader(header), problems };
  if (header.memSize > image.length || header.memSize < payloadOffset) {
    problems.push(`mem_size ${header.memSize} does not fit the ${image.length}-byte page`);
    return decoded;
  }
  if (header.type === PageType.BlockManager) {
    const extents: Array<{ offset: number; size: number }> = [];
    let p = payloadOffset;
    const end = payloadOffset + header.entries;
    try {
      const read = (): number => {
        if (p >= end) throw new RangeError('runs past its data length');
        const [v, n] = readPackedUint(image, p);
        p += n;
        return v;
      };
      const magic = read();
      read();
      if (magic !== EXTENT_LIST_MAGIC) problems.push(`extent list magic is ${magic}, not ${EXTENT_LIST_MAGIC}`);
      for (;;) {
        const offset = read();
        const size = read();
        if (offset === 0) break;
        extents.push({ offset, size });
      }
    } catch (error) {
      problems.push(`extent list does not decode at offset ${p}: ${error instanceof Error ? error.message : String(error)}`);
    }
    decoded.extents = extents;
    return decoded;
  }
  if (header.type === PageType.Overflow) {
    const data = image.subarray(payloadOffset, Math.min(image.length, payloadOffset + header.entries));
    decoded.overflow = { length: header.entries, data: preview(Buffer.from(data)) };
    return decoded;
  }
  const cells: Array<Record<string, unknown>> = [];
  const fastTruncate = (header.flags & PageFlags.FastTruncateUpdate) !== 0;
  let p = payloadOffset;
  for (let i = 0; i < header.entries; i++) {
    try {
      const cell = unpackCell(image, p, header.memSize, fastTruncate);
      const view: Record<string, unknown> = { offset: cell.offset, size: cell.size, type: cellTypeName(cell.type), short: cell.short };
      if (cell.prefix) view.prefix = cell.prefix;
      if (cell.v !== 0n) view.rle = cell.v.toString();
      const time = timeOf(cell.time, isAddressCell(cell.type));
      if (time) view.time = time;
      if (cell.copyOffset !== undefined) view.copyOffset = cell.copyOffset;
      if (isAddressCell(cell.type) || cell.type === 0x60 || cell.type === 0xa0) {
        view.address = describeCookie(cell.data, addressKind);
      } else {
        view.length = cell.data.length;
        view.data = preview(cell.data);
      }
      cells.push(view);
      p += cell.size;
    } catch (error) {
      problems.push(`cell ${i} at offset ${p} does not decode: ${error instanceof Error ? error.message : String(error)}`);
      break;
    }
  }
  if (problems.length === 0 && p !== header.memSize) problems.push(`cells end at ${p}, not at mem_size ${header.memSize}`);
  decoded.cells = cells;
  return decoded;
}

/** An address cookie in words. */
export function describeCookie(cookie: Buffer, kind: { file: number } | 'pagelog'): string {
  try {
    if (kind === 'pagelog') {
      const address = decodePageLogAddress(cookie);
      return `page ${address.pageId}, LSN ${address.lsn}, ${address.size} bytes, checksum ${hex32(address.checksum)}`;
    }
    const address = decodeFileAddress(cookie, kind.file);
    return `offset ${address.offset}, ${address.size} bytes, checksum ${hex32(address.checksum)}`;
  } catch (error) {
    return `${cookie.toString('hex')} (does not decode: ${error instanceof Error ? error.message : String(error)})`;
  }
}

/** Checks a `.wt` block's own checksum (no address needed); returns stored, computed, and the verdict. */
export function blockChecksumStatus(block: Buffer): { stored: string; computed: string; ok: boolean; diskSize: number; flags: number } {
  const stored = block.readUInt32LE(32);
  const computed = computeBlockChecksum(block);
  return { stored: hex32(stored), computed: hex32(computed), ok: stored === computed, diskSize: block.readUInt32LE(28), flags: block[36]! };
}
