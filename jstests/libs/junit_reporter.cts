/**
 * A mocha reporter for CI: prints what the `spec` reporter prints and, when an output file is
 * named (`--reporter-option output=PATH` or `JUNIT_OUTPUT=PATH`), writes a JUnit XML file that
 * CI systems read: one `<testsuite>` per test file, one `<testcase>` per test, with the failure's
 * message and stack.
 *
 * A failed scenario keeps its dbpath and logs (see `mocha_hooks.ts`); its testcase names them in
 * `<properties>` and, as a `[[ATTACHMENT|path]]` line in `<system-out>`, the form Jenkins and
 * GitLab pick up as attachments (the fixtures record them in `kept_artifacts.cts`).
 *
 * The file is written when the run ends, after every `after` hook has run, so artifacts kept by
 * a suite-level fixture are included too.
 *
 * A CommonJS module: mocha loads reporters with `require`.
 */
import Mocha = require('mocha');
import fs = require('node:fs');
import path = require('node:path');
import kept = require('./kept_artifacts.cjs');

interface CaseRecord {
  file: string;
  classname: string;
  name: string;
  fullTitle: string;
  seconds: number;
  /** A pending test (`it.skip`, `this.skip()`): reported as skipped, never dropped. */
  skipped?: boolean;
  failure?: { message: string; type: string; stack: string };
}

function escapeXml(text: string): string {
  // Characters XML 1.0 cannot carry at all (control characters from a binary dump) become U+FFFD.
  return text
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '\ufffd')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

function relativeFile(file: string | undefined): string {
  return file === undefined ? '(no file)' : path.relative(process.cwd(), file);
}

class JUnitReporter extends Mocha.reporters.Spec {
  private readonly cases: CaseRecord[] = [];
  /** Wall time per file, hooks included: what a file costs a CI machine. */
  private readonly fileSeconds = new Map<string, number>();

  constructor(runner: Mocha.Runner, options: Mocha.MochaOptions & { reporterOption?: Record<string, string>; reporterOptions?: Record<string, string> }) {
    super(runner, options);
    const reporterOptions = options.reporterOption ?? options.reporterOptions ?? {};
    const output = reporterOptions['output'] ?? process.env['JUNIT_OUTPUT'];
    if (output === undefined || output === '') return;
    const started = Date.now();

    const suiteStarts = new Map<Mocha.Suite, number>();
    runner.on(Mocha.Runner.constants.EVENT_SUITE_BEGIN, (suite) => {
      if (suite.parent?.root === true) suiteStarts.set(suite, Date.now());
    });
    runner.on(Mocha.Runner.constants.EVENT_SUITE_END, (suite) => {
      const start = suiteStarts.get(suite);
      if (start === undefined) return;
      const file = relativeFile(suite.file);
      this.fileSeconds.set(file, (this.fileSeconds.get(file) ?? 0) + (Date.now() - start) / 1000);
    });
    runner.on(Mocha.Runner.constants.EVENT_TEST_PASS, (test) => this.record(test));
    runner.on(Mocha.Runner.constants.EVENT_TEST_PENDING, (test) => this.record(test, undefined, true));
    runner.on(Mocha.Runner.constants.EVENT_TEST_FAIL, (runnable, error: Error) => this.record(runnable, error));
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const xml = this.render((Date.now() - started) / 1000);
      fs.mkdirSync(path.dirname(path.resolve(output)), { recursive: true });
      fs.writeFileSync(output, xml);
    });
  }

  private record(runnable: Mocha.Runnable, error?: Error, skipped = false): void {
    const parents = runnable.titlePath().slice(0, -1);
    const record: CaseRecord = {
      file: relativeFile(runnable.file ?? runnable.parent?.file),
      classname: parents.join(' '),
      // A failed hook is reported as a case of its own, named as mocha names it.
      name: runnable.title,
      fullTitle: runnable.fullTitle(),
      seconds: (runnable.duration ?? 0) / 1000,
      ...(skipped ? { skipped: true } : {}),
    };
    if (error !== undefined) {
      record.failure = { message: error.message ?? String(error), type: error.name ?? 'Error', stack: error.stack ?? String(error) };
    }
    this.cases.push(record);
  }

  private render(totalSeconds: number): string {
    const byFile = new Map<string, CaseRecord[]>();
    for (const record of this.cases) {
      const list = byFile.get(record.file) ?? [];
      list.push(record);
      byFile.set(record.file, list);
    }
    const keptByTitle = kept.keptArtifacts();
    const failures = this.cases.filter((record) => record.failure !== undefined).length;
    const lines = ['<?xml version="1.0" encoding="UTF-8"?>'];
    lines.push(`<testsuites name="mocha" tests="${this.cases.length}" failures="${failures}" errors="0" time="${totalSeconds.toFixed(3)}">`);
    for (const [file, records] of byFile) {
      const fileFailures = records.filter((record) => record.failure !== undefined).length;
      const fileSkipped = records.filter((record) => record.skipped === true).length;
      const fileSeconds = this.fileSeconds.get(file) ?? records.reduce((sum, record) => sum + record.seconds, 0);
      lines.push(`  <testsuite name="${escapeXml(file)}" file="${escapeXml(file)}" tests="${records.length}" failures="${fileFailures}" errors="0" skipped="${fileSkipped}" time="${fileSeconds.toFixed(3)}">`);
      for (const record of records) {
        const attributes = `classname="${escapeXml(record.classname)}" name="${escapeXml(record.name)}" file="${escapeXml(record.file)}" time="${record.seconds.toFixed(3)}"`;
        if (record.skipped === true) {
          lines.push(`    <testcase ${attributes}>`, '      <skipped/>', '    </testcase>');
          continue;
        }
        if (record.failure === undefined) {
          lines.push(`    <testcase ${attributes}/>`);
          continue;
        }
        lines.push(`    <testcase ${attributes}>`);
        const artifacts = keptByTitle.get(record.fullTitle) ?? [];
        if (artifacts.length > 0) {
          lines.push('      <properties>');
          for (const artifact of artifacts) {
            lines.push(`        <property name="kept.runDirectory" value="${escapeXml(artifact.runDirectory)}"/>`);
            lines.push(`        <property name="kept.dbpath" value="${escapeXml(artifact.dbpath)}"/>`);
            if (artifact.logPath !== undefined) lines.push(`        <property name="kept.log" value="${escapeXml(artifact.logPath)}"/>`);
          }
          lines.push('      </properties>');
        }
        lines.push(`      <failure message="${escapeXml(record.failure.message)}" type="${escapeXml(record.failure.type)}">${escapeXml(record.failure.stack)}</failure>`);
        if (artifacts.length > 0) {
          const text = artifacts
            .flatMap((artifact) => [`kept ${artifact.runDirectory}`, ...[artifact.dbpath, artifact.logPath].filter((kept) => kept !== undefined).map((kept) => `[[ATTACHMENT|${kept}]]`)])
            .join('\n');
          lines.push(`      <system-out>${escapeXml(text)}</system-out>`);
        }
        lines.push('    </testcase>');
      }
      lines.push('  </testsuite>');
    }
    lines.push('</testsuites>');
    return lines.join('\n') + '\n';
  }
}

export = JUnitReporter;
