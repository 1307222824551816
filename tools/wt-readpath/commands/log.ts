import { FindingSink, logRecords, type Finding } from '../../../engine/verify/index.js';
import { checkHome, openPageLogOf, reportFindings, type HomeOptions } from '../context.js';
import { UsageError, type ExitCodeValue, type Output } from '../output.js';

/** `log`'s options: an LSN range, as text from the command line. */
export interface LogCommandOptions extends HomeOptions {
  from?: string;
  to?: string;
}

function parseBound(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new UsageError(`--${name} takes a non-negative integer LSN, not "${text}"`);
  return Number(text);
}

const hexTs = (value: bigint): string => `0x${value.toString(16)}`;

/**
 * `log`: the page log's records by LSN (pages, discards and completion records, each with the
 * term of the leader that completed it), then its node records: every term (the writer role's
 * tenures) and every node's lease.
 */
export async function logCommand(home: string, options: LogCommandOptions, output: Output): Promise<ExitCodeValue> {
  const from = parseBound('from', options.from);
  const to = parseBound('to', options.to);
  if (from !== undefined && to !== undefined && from > to) throw new UsageError(`--from ${from} is above --to ${to}`);
  checkHome(home);
  const pageLog = await openPageLogOf(home, options);
  const sink = new FindingSink();
  try {
    if (pageLog === undefined) {
      output.diagnostic(`wt-readpath log: ${home} has no page log (local storage)`);
      if (output.json) output.document({ home, records: [], findings: [] });
      return 0;
    }
    const records: Array<Record<string, unknown>> = [];
    let count = 0;
    for (const entry of logRecords(pageLog, sink, { from, to })) {
      count++;
      if (entry.kind === 'page') {
        const record = entry.record;
        if (output.json) records.push({ kind: 'page', ...record });
        else output.line(`LSN ${record.lsn}: page     table ${record.tableId} page ${record.pageId} backlink ${record.backlinkLsn} base ${record.baseLsn} flags ${record.flags} size ${record.size}`);
      } else if (entry.kind === 'discard') {
        if (output.json) records.push({ kind: 'discard', lsn: entry.lsn, tableId: entry.tableId, pageId: entry.pageId });
        else output.line(`LSN ${entry.lsn}: discard  table ${entry.tableId} page ${entry.pageId}`);
      } else {
        const record = entry.record;
        if (output.json) records.push({ kind: 'complete', lsn: record.lsn, timestamp: hexTs(record.timestamp), oldestTimestamp: hexTs(record.oldestTimestamp), term: record.term, metadata: record.metadata });
        else output.line(`LSN ${record.lsn}: complete timestamp ${hexTs(record.timestamp)} oldest ${hexTs(record.oldestTimestamp)} term ${record.term} ${record.metadata}`);
      }
      if (count % 4096 === 0) await output.drain();
    }
    const nodes = pageLog.nodeRecords();
    const now = Date.now();
    if (!output.json) {
      for (const term of nodes.terms) {
        output.line(`term ${term.term}: node ${term.nodeId} since ${new Date(term.startedAt).toISOString()}, continues from LSN ${term.fromCompletionLsn}, first LSN ${term.firstLsn}`);
      }
      for (const lease of nodes.leases) {
        const state = lease.expiresAt > now ? 'live' : 'expired';
        const holds = lease.role === 'follower' ? `, holds ${lease.checkpoints.length === 0 ? 'no checkpoint' : `checkpoints ${lease.checkpoints.join(', ')}`}` : '';
        output.line(`lease ${lease.nodeId}: ${lease.role} term ${lease.term} pid ${lease.pid}, ${state} until ${new Date(lease.expiresAt).toISOString()}${holds}`);
      }
    }
    const findings: Finding[] = [];
    const code = reportFindings(sink, output, findings);
    if (output.json) {
      const leases = nodes.leases.map((lease) => ({ ...lease, live: lease.expiresAt > now }));
      output.document({ home, from: from ?? 1, to: to ?? pageLog.getLastLsn(), records, terms: nodes.terms, leases, findings });
    }
    return code;
  } finally {
    await pageLog?.close();
  }
}
