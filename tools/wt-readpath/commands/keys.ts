import { hex32 } from '../../../engine/format/index.js';
import { describeKeyBlob, inspectKeyProviderPage } from '../../../engine/key_provider/index.js';
import { KEY_PROVIDER_TABLE_ID } from '../../../engine/page_log/index.js';
import {
  checkCompletion, FindingCode, FindingSink, KEY_PROVIDER_PAGE_ID, logRecords, recordAt, type Finding,
} from '../../../engine/verify/index.js';
import { checkHome, openPageLogOf, reportFindings, type HomeOptions } from '../context.js';
import type { ExitCodeValue, Output } from '../output.js';

/**
 * `keys`: every key-provider page in the page log, oldest first: header fields, checksum
 * status, the key version and other facts the blob's module discloses, which checkpoints name
 * the page, and its problems. Never key bytes.
 */
export async function keysCommand(home: string, options: HomeOptions, output: Output): Promise<ExitCodeValue> {
  checkHome(home);
  const sink = new FindingSink();
  const pageLog = await openPageLogOf(home, options);
  try {
    if (pageLog === undefined) {
      output.diagnostic(`wt-readpath keys: ${home} has no page log (local storage): no key-provider pages`);
      if (output.json) output.document({ home, current: null, pages: [], findings: [] });
      return 0;
    }
    // Which checkpoints name which key-provider page.
    const namedBy = new Map<number, number[]>();
    let current: number | undefined;
    const pages: Array<{ lsn: number; backlinkLsn: number; size: number }> = [];
    for (const entry of logRecords(pageLog, sink)) {
      if (entry.kind === 'complete') {
        const checked = checkCompletion(pageLog, entry.record, sink);
        const lsn = checked?.turtle.keyProvider?.lsn;
        if (lsn !== undefined) {
          namedBy.set(lsn, [...(namedBy.get(lsn) ?? []), entry.record.lsn]);
          current = lsn;
        } else if (checked !== undefined) current = undefined;
      } else if (entry.kind === 'page' && entry.record.tableId === KEY_PROVIDER_TABLE_ID) {
        pages.push({ lsn: entry.record.lsn, backlinkLsn: entry.record.backlinkLsn, size: entry.record.size });
      }
    }
    const views: Array<Record<string, unknown>> = [];
    for (const page of pages) {
      const record = recordAt(pageLog, KEY_PROVIDER_TABLE_ID, KEY_PROVIDER_PAGE_ID, page.lsn, sink);
      const checkpoints = namedBy.get(page.lsn) ?? [];
      const view: Record<string, unknown> = { lsn: page.lsn, backlinkLsn: page.backlinkLsn, size: page.size, current: page.lsn === current, checkpoints };
      if (record !== undefined) {
        const inspection = inspectKeyProviderPage(record.image, { lsn: page.lsn, tableId: KEY_PROVIDER_TABLE_ID, pageId: KEY_PROVIDER_PAGE_ID });
        const checksumOk = inspection.checksum !== undefined && inspection.checksum === inspection.computedChecksum;
        const blob = inspection.blobOffset === undefined ? undefined : record.image.subarray(inspection.blobOffset);
        view.header = {
          signature: inspection.signature === undefined ? null : hex32(inspection.signature), version: inspection.version ?? null,
          compatibleVersion: inspection.compatibleVersion ?? null, headerSize: inspection.headerSize ?? null, unused: inspection.unused ?? null,
          cryptSize: inspection.cryptSize ?? null, checksum: inspection.checksum === undefined ? null : hex32(inspection.checksum),
          computedChecksum: inspection.computedChecksum === undefined ? null : hex32(inspection.computedChecksum),
          timestamp: inspection.timestamp === undefined ? null : `0x${inspection.timestamp.toString(16)}`,
        };
        view.checksumOk = checksumOk;
        view.key = blob === undefined ? null : describeKeyBlob(Buffer.from(blob));
        view.problems = inspection.problems.map((p) => ({ check: p.check, code: p.code, message: p.message, offset: p.offset ?? null }));
        for (const problem of inspection.problems) {
          const named = checkpoints.length > 0;
          sink.report(named ? 'error' : 'warning', problem.check === 'checksum' ? FindingCode.KeyProviderPageChecksum : FindingCode.KeyProviderPageInvalid,
            named ? problem.message : `${problem.message} (a page no checkpoint names)`,
            { tableId: KEY_PROVIDER_TABLE_ID, pageId: KEY_PROVIDER_PAGE_ID, lsn: page.lsn, ...(problem.offset === undefined ? {} : { offset: problem.offset }) });
        }
      }
      views.push(view);
    }
    if (current !== undefined && !pages.some((p) => p.lsn === current)) {
      sink.error(FindingCode.KeyProviderPageMissing, `the newest checkpoint names key-provider page LSN ${current}, which is missing`, { tableId: KEY_PROVIDER_TABLE_ID, pageId: KEY_PROVIDER_PAGE_ID, lsn: current });
    }
    const findings: Finding[] = [];
    const code = reportFindings(sink, output, findings);
    if (output.json) {
      output.document({ home, current: current ?? null, pages: views, findings });
      return code;
    }
    if (views.length === 0) output.line('no key-provider pages');
    for (const view of views) {
      const checkpoints = view.checkpoints as number[];
      const tags = [view.current ? 'current' : undefined, checkpoints.length > 0 ? `named by checkpoint${checkpoints.length > 1 ? 's' : ''} ${checkpoints.join(', ')}` : 'named by no checkpoint'].filter(Boolean);
      output.line(`key-provider page LSN ${view.lsn} (${tags.join('; ')})`);
      output.line(`  backlink LSN ${view.backlinkLsn}, ${view.size} bytes`);
      const header = view.header as Record<string, unknown> | undefined;
      if (header === undefined) {
        output.line('  (record unreadable)');
        continue;
      }
      output.line(`  signature ${header.signature}, version ${header.version}, compatible version ${header.compatibleVersion}, header size ${header.headerSize}, unused ${header.unused}`);
      output.line(`  crypt size ${header.cryptSize}, checksum ${header.checksum} (${view.checksumOk ? 'ok' : `MISMATCH: computed ${header.computedChecksum}`}), timestamp ${header.timestamp ?? '-'}`);
      const key = view.key as Record<string, unknown> | null;
      if (key !== null) output.line(`  key: ${Object.entries(key).map(([k, v]) => `${k} ${String(v)}`).join(', ')}`);
      for (const problem of view.problems as Array<{ message: string }>) output.line(`  problem: ${problem.message}`);
    }
    return code;
  } finally {
    await pageLog?.close();
  }
}
