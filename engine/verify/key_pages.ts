import { inspectKeyProviderPage, type KeyProviderPageInspection } from '../key_provider/index.js';
import { KEY_PROVIDER_TABLE_ID, type PageLog, type PageRecord } from '../page_log/index.js';
import { KEY_PROVIDER_PAGE_ID, logRecords, recordAt } from './disagg.js';
import { FindingCode, type FindingLocation, type FindingSink } from './findings.js';

/**
 * The key-provider pages of a page log (FORMATS.md 9.5), checked with the key-provider
 * module's reader. Loaded only for a home with a page log (`await import`), so that reading a
 * local home does not load the key-provider module.
 */

/** The key-provider page at `lsn`, inspected; undefined (reported) when it is missing. */
export function inspectKeyProviderAt(pageLog: PageLog, lsn: number, sink: FindingSink): { record: PageRecord; inspection: KeyProviderPageInspection } | undefined {
  const record = recordAt(pageLog, KEY_PROVIDER_TABLE_ID, KEY_PROVIDER_PAGE_ID, lsn, sink);
  if (record === undefined) return undefined;
  return { record, inspection: inspectKeyProviderPage(record.image, { lsn, tableId: KEY_PROVIDER_TABLE_ID, pageId: KEY_PROVIDER_PAGE_ID }) };
}

/** Reports the problems of a key-provider page; `referenced` pages get errors, others warnings. */
export function reportKeyProviderProblems(inspection: KeyProviderPageInspection, referenced: boolean, sink: FindingSink): void {
  for (const problem of inspection.problems) {
    const code = problem.check === 'checksum' ? FindingCode.KeyProviderPageChecksum : FindingCode.KeyProviderPageInvalid;
    const location: FindingLocation = { tableId: KEY_PROVIDER_TABLE_ID, pageId: KEY_PROVIDER_PAGE_ID, lsn: inspection.lsn };
    if (problem.offset !== undefined) location.offset = problem.offset;
    const message = referenced ? problem.message : `${problem.message} (a page no checkpoint names)`;
    sink.report(referenced ? 'error' : 'warning', code, message, location);
  }
}

/**
 * Checks every key-provider page in the log: pages no checkpoint names are inspected
 * (problems are warnings; the named ones were checked as errors), and each page's backlink
 * must name the page before it.
 */
export function checkKeyProviderHistory(pageLog: PageLog, referenced: ReadonlySet<number>, sink: FindingSink): void {
  // Undefined until the first page: its predecessors may have been pruned from the log.
  let previous: number | undefined;
  for (const entry of logRecords(pageLog, sink)) {
    if (entry.kind !== 'page' || entry.record.tableId !== KEY_PROVIDER_TABLE_ID) continue;
    const { lsn, pageId, backlinkLsn } = entry.record;
    const at: FindingLocation = { tableId: KEY_PROVIDER_TABLE_ID, pageId, lsn };
    if (pageId !== KEY_PROVIDER_PAGE_ID) {
      sink.warning(FindingCode.KeyProviderPageInvalid, `key-provider table holds page id ${pageId}; only page ${KEY_PROVIDER_PAGE_ID} is used`, at);
      continue;
    }
    if (previous === undefined ? backlinkLsn >= lsn : backlinkLsn !== previous) {
      const wanted = previous === undefined ? 'an earlier LSN' : `the previous page's LSN ${previous}`;
      sink.warning(FindingCode.KeyProviderPageBacklink, `key-provider page backlink is LSN ${backlinkLsn}, not ${wanted}`, at);
    }
    previous = lsn;
    if (referenced.has(lsn)) continue;
    const page = inspectKeyProviderAt(pageLog, lsn, sink);
    if (page !== undefined) reportKeyProviderProblems(page.inspection, false, sink);
  }
}
