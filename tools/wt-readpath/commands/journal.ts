import { FindingCode, FindingSink, type Finding } from '../../../engine/verify/index.js';
import { inspectLog } from '../../../engine/log/index.js';
import { formatLsn, type LogOp, type LogRecordBody } from '../../../engine/format/index.js';
import { checkHome, reportFindings } from '../context.js';
import type { ExitCodeValue, Output } from '../output.js';

const hex = (value: bigint): string => `0x${value.toString(16)}`;
/** Bytes of a key or value printed before it is cut short. */
const PRINTED_BYTES = 64;

function bytes(buffer: Buffer): string {
  const shown = buffer.subarray(0, PRINTED_BYTES).toString('hex');
  return buffer.length > PRINTED_BYTES ? `${shown}... (${buffer.length} bytes)` : shown;
}

function describeOp(op: LogOp): Record<string, unknown> {
  switch (op.kind) {
    case 'put':
      return { optype: 'row_put', fileid: op.fileId, key: bytes(op.key), value: bytes(op.value) };
    case 'remove':
      return { optype: 'row_remove', fileid: op.fileId, key: bytes(op.key) };
    case 'timestamp':
      return { optype: 'txn_timestamp', commit_ts: hex(op.commitTs), durable_ts: hex(op.durableTs), time_sec: String(op.timeSec) };
    case 'prevLsn':
      return { optype: 'prev_lsn', prev_lsn: formatLsn(op.lsn) };
    case 'checkpointStart':
      return { optype: 'checkpoint_start' };
    case 'unknown':
      return { optype: op.type, bytes: bytes(op.bytes) };
  }
}

function describeBody(body: LogRecordBody): Record<string, unknown> {
  switch (body.type) {
    case 'commit':
      return { type: 'commit', txnid: String(body.txnId), ops: body.ops.map(describeOp) };
    case 'system':
      return { type: 'system', ops: body.ops.map(describeOp) };
    case 'checkpoint':
      return { type: 'checkpoint', ckpt_lsn: formatLsn(body.checkpointLsn) };
    case 'message':
      return { type: 'message', message: body.message };
    case 'fileSync':
      return { type: 'file_sync', fileid: body.fileId, start: body.start };
    case 'descriptor':
      return { type: 'descriptor', magic: `0x${body.magic.toString(16)}`, version: body.version, log_size: String(body.logSize) };
  }
}

/**
 * `log --journal`: every record of the home's journal files in order, as `wt printlog` lists
 * them (LSN, length, record type, operations), then whatever makes a file unusable as a
 * finding (exit 2). The records before a bad one are printed; reading stops at it.
 */
export async function journalCommand(home: string, output: Output): Promise<ExitCodeValue> {
  checkHome(home);
  const records: Array<Record<string, unknown>> = [];
  const print = (lsn: string, len: number, body: LogRecordBody): void => {
    const described = { lsn, len, ...describeBody(body) };
    if (output.json) records.push(described);
    else output.line(JSON.stringify(described));
  };
  const sink = new FindingSink();
  const inspection = inspectLog(home, { includeHeaders: true, onRecord: (file, record) => print(formatLsn({ file, offset: record.offset }), record.len, record.body) });
  for (const problem of inspection.problems) {
    sink.error(problem.kind === 'foreignHome' ? FindingCode.JournalForeign : FindingCode.JournalCorrupt, problem.message, { file: problem.file, offset: problem.offset });
  }
  if (inspection.tornTail) {
    sink.warning(FindingCode.JournalTornTail, `${inspection.tornTail.file} ends with a torn record at offset ${inspection.tornTail.offset}`, { file: inspection.tornTail.file, offset: inspection.tornTail.offset });
  }
  const findings: Finding[] = [];
  const code = reportFindings(sink, output, findings);
  if (output.json) output.document({ home, files: inspection.files.map((f) => ({ name: f.name, size: f.size, validEnd: f.validEnd, records: f.records })), records, findings });
  return code;
}
