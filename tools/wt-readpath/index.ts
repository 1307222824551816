/**
 * `wt-readpath` as a library, for benchmarks and scenario harnesses that want the numbers
 * without a child process. The command line is `main.ts`.
 */
import { ErrorCode, SchemaError } from '../../engine/errors.js';
import { collectReport, FindingSink, HomeReader, verifyHome, type Finding, type VerifyOptions } from '../../engine/verify/index.js';
import { creationConfig, DumpEncoder, dumpHeader, dumpUri } from './dump_format.js';

export { buildProgram, main } from './program.js';
export { ExitCode, type ExitCodeValue } from './output.js';
export { collapseConfig, CREATE_DEFAULTS, creationConfig, dumpHeader, dumpItem } from './dump_format.js';
export { liveServerPid, SERVER_LOCK_FILE } from './lock.js';

/** What one read of a home processed. */
export interface ReadPathMeasurement {
  /** Bytes of pages read and checked (verify), or bytes of dump text produced (dump). */
  bytes: number;
  /** Records met. */
  records: number;
  /** Pages read. */
  pages: number;
  errors: number;
  warnings: number;
  /** Wall-clock milliseconds. */
  millis: number;
  findings: Finding[];
}

/** Verifies a stopped home as `wt-readpath verify` does and reports what it processed. */
export async function measureVerify(home: string, options: VerifyOptions = {}): Promise<ReadPathMeasurement> {
  const started = performance.now();
  const report = await collectReport(verifyHome(home, options));
  return {
    bytes: report.stats.bytes, records: report.stats.records, pages: report.stats.pages, errors: report.errors,
    warnings: report.warnings, millis: performance.now() - started, findings: report.findings,
  };
}

/**
 * Dumps one table of a stopped home as `wt-readpath dump` does. The text goes to `write` when
 * given, in chunks (otherwise it is only measured); `bytes` counts it in UTF-8. Throws
 * `SchemaError` (`NOT_FOUND`) for an unknown table.
 */
export async function measureDump(home: string, uri: string, options: { hex?: boolean; write?: (text: string) => void } = {}): Promise<ReadPathMeasurement> {
  const started = performance.now();
  const sink = new FindingSink();
  const reader = await HomeReader.open(home, sink);
  let bytes = 0;
  let records = 0;
  try {
    const name = dumpUri(uri);
    const resolved = reader.resolveFile(name);
    if (resolved === undefined) throw new SchemaError(ErrorCode.NotFound, `${name}: No such object exists`, { uri: name });
    // The header may hold non-ASCII configuration text.
    const header = dumpHeader(name, creationConfig(reader, name, resolved.file, resolved.table), options.hex === true);
    bytes += Buffer.byteLength(header);
    options.write?.(header);
    // As the command encodes them: a leaf at a time, into byte chunks. Record lines are
    // escaped to ASCII, so a chunk's length is its size in bytes.
    const write = options.write;
    const encoder = new DumpEncoder(options.hex === true, (chunk) => {
      bytes += chunk.length;
      write?.(chunk.toString('latin1'));
    });
    for (const leaf of reader.leaves(resolved.file)) {
      records += leaf.length;
      encoder.leaf(leaf);
    }
    encoder.flush();
  } finally {
    await reader.close();
  }
  const findings = sink.drain();
  return {
    bytes, records, pages: sink.stats.pages, errors: sink.errors, warnings: sink.warnings,
    millis: performance.now() - started, findings,
  };
}
