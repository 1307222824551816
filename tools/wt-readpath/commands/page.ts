import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import {
  BLOCK_PAYLOAD_OFFSET, checksumWithZeroedField, DISAGG_BASE_CHECKSUM_OFFSET, DISAGG_BASE_PAYLOAD_OFFSET, DisaggFlags,
  hex32, parseTurtlePage, readDisaggHeader, readPageHeader,
} from '../../../engine/format/index.js';
import { describeKeyBlob, inspectKeyProviderPage } from '../../../engine/key_provider/index.js';
import { KEY_PROVIDER_TABLE_ID, TURTLE_PAGE_TABLE_ID } from '../../../engine/page_log/index.js';
import { FileSource, requireHome } from '../../../engine/verify/index.js';
import { openPageLogOf, type HomeOptions } from '../context.js';
import { refuseLiveHome } from '../lock.js';
import { ExitCode, UsageError, type ExitCodeValue, type Output } from '../output.js';
import { blockChecksumStatus, decodePageBody, type DecodedPage } from '../page_decode.js';

/** `page`'s options, as text from the command line: a file block or a page-log page. */
export interface PageCommandOptions extends HomeOptions {
  file?: string;
  offset?: string;
  size?: string;
  allocationSize?: string;
  tableId?: string;
  pageId?: string;
  lsn?: string;
}

function integer(name: string, text: string | undefined, required = true): number | undefined {
  if (text === undefined) {
    if (required) throw new UsageError(`--${name} is required`);
    return undefined;
  }
  if (!/^\d+$/.test(text)) throw new UsageError(`--${name} takes a non-negative integer, not "${text}"`);
  return Number(text);
}

/** `page`: decodes one page of a `.wt` file or of the page log, with its checks. */
export async function pageCommand(home: string, options: PageCommandOptions, output: Output): Promise<ExitCodeValue> {
  const byFile = options.file !== undefined;
  const byLog = options.tableId !== undefined || options.pageId !== undefined || options.lsn !== undefined;
  if (byFile === byLog) throw new UsageError('give either --file F --offset O --size S, or --table-id T --page-id P --lsn L');
  return byFile ? filePage(home, options, output) : logPage(home, options, output);
}

function print(decoded: DecodedPage, output: Output): void {
  const header = decoded.header;
  output.line(`page header: type ${header.type} (${header.typeName}), recno ${header.recno}, write gen ${header.writeGen}, mem size ${header.memSize}, entries ${header.entries}, flags 0x${(header.flags as number).toString(16)}${(header.flagNames as string[]).length ? ` (${(header.flagNames as string[]).join(', ')})` : ''}, unused ${header.unused}, version ${header.version}`);
  if (decoded.extents) {
    output.line(`extents (${decoded.extents.length}):`);
    for (const e of decoded.extents) output.line(`  [${e.offset}, ${e.size}]`);
  }
  if (decoded.overflow) output.line(`overflow data (${decoded.overflow.length} bytes): ${decoded.overflow.data}`);
  if (decoded.cells) {
    output.line(`cells (${decoded.cells.length}):`);
    for (const c of decoded.cells) {
      const parts = [`${c.offset}: ${c.type}${c.short ? ' (short)' : ''}`, `${c.size} bytes`];
      if (c.prefix !== undefined) parts.push(`prefix ${c.prefix}`);
      if (c.rle !== undefined) parts.push(`rle ${c.rle}`);
      if (c.time !== undefined) parts.push(`time ${Object.entries(c.time as Record<string, string>).map(([k, v]) => `${k}=${v}`).join(' ')}`);
      if (c.address !== undefined) parts.push(`address ${c.address}`);
      if (c.copyOffset !== undefined) parts.push(`copy of the cell ${c.copyOffset} bytes back`);
      if (c.data !== undefined) parts.push(`"${c.data}"`);
      output.line(`  ${parts.join(', ')}`);
    }
  }
  for (const problem of decoded.problems) output.diagnostic(`wt-readpath page: ${problem}`);
}

async function filePage(home: string, options: PageCommandOptions, output: Output): Promise<ExitCodeValue> {
  const offset = integer('offset', options.offset)!;
  const size = integer('size', options.size)!;
  const allocationSize = integer('allocation-size', options.allocationSize, false) ?? 4096;
  const file = options.file!;
  let path = isAbsolute(file) ? file : join(home, file);
  if (!existsSync(path) && existsSync(resolve(file))) path = resolve(file);
  if (!existsSync(path)) throw new UsageError(`${file} does not exist (looked in ${home})`);
  if (existsSync(join(home, 'WiredTiger.turtle'))) refuseLiveHome(home);
  if (size < BLOCK_PAYLOAD_OFFSET) throw new UsageError(`--size ${size} is smaller than the ${BLOCK_PAYLOAD_OFFSET}-byte headers`);
  const source = new FileSource(path, file, allocationSize);
  try {
    if (offset + size > source.size) throw new UsageError(`[${offset}, ${size}] runs past the end of the ${source.size}-byte file`);
    const block = source.readBytes(offset, size);
    const status = blockChecksumStatus(block);
    const decoded = decodePageBody(block, BLOCK_PAYLOAD_OFFSET, { file: allocationSize });
    if (status.diskSize !== size) decoded.problems.unshift(`block disk size ${status.diskSize} is not the --size ${size} given`);
    if (!status.ok) decoded.problems.unshift(`block checksum ${status.stored} does not match its contents (computed ${status.computed})`);
    if (output.json) {
      output.document({ file, offset, size, block: status, ...decoded });
    } else {
      output.line(`${file} at offset ${offset}, ${size} bytes`);
      output.line(`block header: disk size ${status.diskSize}, checksum ${status.stored} (${status.ok ? 'ok' : `MISMATCH: computed ${status.computed}`}), flags 0x${status.flags.toString(16)}`);
      print(decoded, output);
    }
    return decoded.problems.length > 0 ? ExitCode.Corruption : ExitCode.Clean;
  } finally {
    source.close();
  }
}

async function logPage(home: string, options: PageCommandOptions, output: Output): Promise<ExitCodeValue> {
  const tableId = integer('table-id', options.tableId)!;
  const pageId = integer('page-id', options.pageId)!;
  const lsn = integer('lsn', options.lsn)!;
  requireHome(home);
  refuseLiveHome(home);
  const pageLog = await openPageLogOf(home, options);
  if (pageLog === undefined) throw new UsageError(`${home} has no page log`);
  try {
    if (pageId < 1) throw new UsageError('--page-id starts at 1');
    const chain = pageLog.openHandle(tableId).get(pageId, lsn);
    const newest = chain[chain.length - 1];
    if (newest === undefined) throw new UsageError(`table ${tableId} page ${pageId} has no record at or below LSN ${lsn}`);
    const records = chain.map((r) => ({ lsn: r.lsn, backlinkLsn: r.backlinkLsn, baseLsn: r.baseLsn, flags: r.flags, size: r.image.length }));
    const problems: string[] = [];
    if (newest.lsn !== lsn) problems.push(`the page's newest record at or below LSN ${lsn} is LSN ${newest.lsn}`);
    const image = chain[0]!.image;
    let body: Record<string, unknown>;
    if (tableId === TURTLE_PAGE_TABLE_ID) {
      let fields: unknown = null;
      try {
        fields = parseTurtlePage(image, chain[0]!.lsn);
      } catch (error) {
        problems.push(`turtle page does not parse: ${error instanceof Error ? error.message : String(error)}`);
      }
      body = { kind: 'turtle page', text: image.toString('utf8'), fields };
    } else if (tableId === KEY_PROVIDER_TABLE_ID) {
      const inspection = inspectKeyProviderPage(image, { lsn: chain[0]!.lsn, tableId, pageId });
      for (const p of inspection.problems) problems.push(p.message);
      const blob = inspection.blobOffset === undefined ? undefined : Buffer.from(image.subarray(inspection.blobOffset));
      body = { kind: 'key-provider page', inspection: { ...inspection, problems: undefined }, key: blob ? describeKeyBlob(blob) : null };
    } else if (image.length >= DISAGG_BASE_PAYLOAD_OFFSET) {
      const disagg = readDisaggHeader(image);
      const length = disagg.flags & DisaggFlags.DataChecksum ? image.length : Math.min(64, image.length);
      const computed = checksumWithZeroedField(image, DISAGG_BASE_CHECKSUM_OFFSET, length);
      if (computed !== disagg.checksum) problems.push(`page checksum ${hex32(disagg.checksum)} does not match its contents (computed ${hex32(computed)})`);
      if (chain.length > 1) problems.push(`${chain.length - 1} delta(s) follow the base image; only the base is decoded`);
      const decoded = decodePageBody(image, DISAGG_BASE_PAYLOAD_OFFSET, 'pagelog');
      if (readPageHeader(image).memSize !== image.length) problems.push(`mem_size does not match the ${image.length}-byte page`);
      problems.push(...decoded.problems);
      body = { kind: 'btree page', disaggHeader: { ...disagg, checksum: hex32(disagg.checksum), previousChecksum: hex32(disagg.previousChecksum), computedChecksum: hex32(computed) }, ...decoded, problems: undefined };
    } else {
      problems.push(`page is ${image.length} bytes, shorter than its headers`);
      body = { kind: 'unknown' };
    }
    if (output.json) {
      output.document({ tableId, pageId, lsn, records, ...body, problems });
    } else {
      output.line(`table ${tableId} page ${pageId} as of LSN ${lsn}: ${records.map((r) => `LSN ${r.lsn} (${r.size} bytes, backlink ${r.backlinkLsn})`).join(', ')}`);
      if (body.kind === 'turtle page') {
        for (const line of (body.text as string).split('\n')) output.line(`  ${line}`);
      } else if (body.kind === 'key-provider page') {
        const inspection = body.inspection as Record<string, unknown>;
        output.line(`  signature ${inspection.signature === undefined ? '-' : hex32(inspection.signature as number)}, version ${inspection.version}, compatible version ${inspection.compatibleVersion}, header size ${inspection.headerSize}, crypt size ${inspection.cryptSize}`);
        output.line(`  checksum ${inspection.checksum === undefined ? '-' : hex32(inspection.checksum as number)}, computed ${inspection.computedChecksum === undefined ? '-' : hex32(inspection.computedChecksum as number)}, timestamp ${inspection.timestamp ?? '-'}`);
        if (body.key) output.line(`  key: ${Object.entries(body.key as Record<string, unknown>).map(([k, v]) => `${k} ${String(v)}`).join(', ')}`);
      } else if (body.kind === 'btree page') {
        const disaggHeader = body.disaggHeader as Record<string, unknown>;
        output.line(`disagg header: magic 0x${(disaggHeader.magic as number).toString(16)}, version ${disaggHeader.version}, compatible version ${disaggHeader.compatibleVersion}, header size ${disaggHeader.headerSize}, checksum ${disaggHeader.checksum} (computed ${disaggHeader.computedChecksum}), previous checksum ${disaggHeader.previousChecksum}, reconciliation id ${disaggHeader.reconciliationId}, flags 0x${(disaggHeader.flags as number).toString(16)}`);
        print({ ...(body as unknown as DecodedPage), problems: [] }, output);
      }
      for (const problem of problems) output.diagnostic(`wt-readpath page: ${problem}`);
    }
    return problems.length > 0 ? ExitCode.Corruption : ExitCode.Clean;
  } finally {
    await pageLog.close();
  }
}
