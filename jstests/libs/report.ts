import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Reports of the robustness suites (crash loop, corruption matrix, wire fuzzing): a few figures
 * per run, written as `jstests/reports/<suite>.json` (that folder is git-ignored) and printed as
 * a table, so that one version's figures can be set beside the next one's.
 */

/** A figure: a count, a duration, a size, or a short text. */
export type Figure = number | string | boolean | null;

/** What one suite run measured. */
export interface SuiteReport {
  /** `crash`, `corruption`, `fuzz`. */
  suite: string;
  /** Whether every check of the run held. */
  passed: boolean;
  /** The seed of the run, to replay it. */
  seed?: number;
  startedAt: string;
  durationMs: number;
  /** The commit the run was built from (with `+changes` when the work tree differed). */
  commit?: string;
  /** The figures to compare between versions, in print order. */
  figures: Record<string, Figure>;
  /** Everything else worth keeping: per-case outcomes, failures with their reproduction. */
  details?: unknown;
}

/** The repository root: the nearest folder above this module holding `package.json`. */
export function repositoryRoot(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(directory, 'package.json'))) {
    const parent = dirname(directory);
    if (parent === directory) throw new Error('no package.json above the jstests libraries');
    directory = parent;
  }
  return directory;
}

/** Where reports go: `JSTEST_REPORT_DIR` when set, else `jstests/reports` in the repository. */
export function reportDirectory(): string {
  const configured = process.env['JSTEST_REPORT_DIR'];
  return configured !== undefined && configured !== '' ? configured : join(repositoryRoot(), 'jstests', 'reports');
}

/** The commit the code was built from, marked when the work tree has changes; undefined outside git. */
export async function currentCommit(): Promise<string | undefined> {
  const cwd = repositoryRoot();
  const head = await execa('git', ['rev-parse', '--short', 'HEAD'], { cwd, reject: false });
  if (head.exitCode !== 0) return undefined;
  const status = await execa('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, reject: false });
  return String(head.stdout).trim() + (String(status.stdout).trim() === '' ? '' : '+changes');
}

/** Writes `<report directory>/<suite>.json` and returns its path. */
export async function writeSuiteReport(report: SuiteReport, directory = reportDirectory()): Promise<string> {
  await mkdir(directory, { recursive: true });
  const path = join(directory, `${report.suite}.json`);
  await writeFile(path, JSON.stringify(report, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value), 2) + '\n');
  return path;
}

/** The report as an aligned two-column table, a heading line first. */
export function formatSuiteReport(report: SuiteReport): string {
  const rows: [string, string][] = [
    ['passed', String(report.passed)],
    ...(report.seed === undefined ? [] : [['seed', String(report.seed)] as [string, string]]),
    ['duration', `${(report.durationMs / 1000).toFixed(1)} s`],
    ...(report.commit === undefined ? [] : [['commit', report.commit] as [string, string]]),
    ...Object.entries(report.figures).map(([name, value]): [string, string] => [name, value === null ? '-' : String(value)]),
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  return [`== ${report.suite} report ==`, ...rows.map(([name, value]) => `  ${name.padEnd(width)}  ${value}`)].join('\n');
}

/**
 * Completes a report (commit), writes it and prints it: the last step of each suite. Returns
 * the path written. A write failure is printed, not thrown: the figures still appear.
 */
export async function publishSuiteReport(report: SuiteReport, print: (text: string) => void = (text) => console.log(text)): Promise<string | undefined> {
  const commit = report.commit ?? (await currentCommit().catch(() => undefined));
  const complete: SuiteReport = commit === undefined ? report : { ...report, commit };
  let path: string | undefined;
  try {
    path = await writeSuiteReport(complete);
  } catch (error) {
    print(`could not write the ${report.suite} report: ${(error as Error).message}`);
  }
  print(formatSuiteReport(complete) + (path === undefined ? '' : `\n  (written to ${path})`));
  return path;
}
