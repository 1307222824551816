import {
  formatFinding, verifyHome, verifyTable, type Finding, type VerifySummary,
} from '../../../engine/verify/index.js';
import { checkHome, type HomeOptions } from '../context.js';
import { ExitCode, type ExitCodeValue, type Output } from '../output.js';

/** `verify`'s options. */
export interface VerifyCommandOptions extends HomeOptions {
  uri?: string;
  strict?: boolean;
}

/**
 * `verify`: every finding on stdout as it is found (or in the JSON document), a summary on
 * stderr. Exit 2 on any error, or any warning with `--strict`.
 */
export async function verifyCommand(home: string, options: VerifyCommandOptions, output: Output): Promise<ExitCodeValue> {
  checkHome(home);
  const verifyOptions = {
    pageLogPath: options.pageLog,
    onProgress: (p: { step: string; done: number; total: number }) => output.progress(`verifying ${p.step} (${p.done}/${p.total})`),
  };
  const run = options.uri === undefined ? verifyHome(home, verifyOptions) : verifyTable(home, options.uri, verifyOptions);
  const findings: Finding[] = [];
  let summary: VerifySummary;
  for (;;) {
    let next: IteratorResult<Finding, VerifySummary>;
    try {
      next = await run.next();
    } catch (error) {
      // A table that cannot be found in a damaged metadata is the damage, not a usage error.
      if (!findings.some((f) => f.severity === 'error')) throw error;
      output.diagnostic(`wt-readpath: ${error instanceof Error ? error.message : String(error)}`);
      if (output.json) output.document({ home, uri: options.uri ?? null, strict: options.strict === true, ok: false, exitCode: ExitCode.Corruption, findings });
      return ExitCode.Corruption;
    }
    if (next.done) {
      summary = next.value;
      break;
    }
    findings.push(next.value);
    if (!output.json) {
      output.clearProgress();
      output.line(formatFinding(next.value));
    }
  }
  output.clearProgress();
  const failed = summary.errors > 0 || (options.strict === true && summary.warnings > 0);
  const code = failed ? ExitCode.Corruption : ExitCode.Clean;
  if (output.json) {
    output.document({ home, uri: options.uri ?? null, strict: options.strict === true, ok: !failed, exitCode: code, errors: summary.errors, warnings: summary.warnings, stats: summary.stats, findings });
  } else {
    const s = summary.stats;
    output.diagnostic(`wt-readpath verify: ${summary.errors} error(s), ${summary.warnings} warning(s); ${s.trees} tree(s), ${s.pages} page(s), ${s.bytes} bytes, ${s.records} record(s), ${s.logRecords} page-log record(s) checked`);
  }
  return code;
}
