/**
 * A child process for the damage tests: opens the page log in `argv[2]` (read-only when
 * `argv[3]` is `ro`), reads every record and page, and prints one JSON line: `{ok: true,
 * records}` or `{ok: false, code, message, location}`. A store LMDB faults on kills this
 * process by a signal instead, which the test reports.
 */
import { EngineError } from '../../errors.js';
import { openPageLog } from '../index.js';

const [path, mode] = process.argv.slice(2);
try {
  const log = await openPageLog(path!, { readOnly: mode === 'ro', create: false });
  try {
    let records = 0;
    for (const entry of log.records({})) {
      records += 1;
      if (entry.kind === 'page') log.openHandle(entry.record.tableId).get(entry.record.pageId, entry.record.lsn);
    }
    process.stdout.write(`${JSON.stringify({ ok: true, records })}\n`);
  } finally {
    await log.close();
  }
} catch (error) {
  if (!(error instanceof EngineError)) throw error;
  process.stdout.write(`${JSON.stringify({ ok: false, code: error.code, message: error.message, location: error.location })}\n`);
}
