import { measureRobustness } from '../../jstests/libs/report_suites.js';
import type { SuiteReport } from '../../jstests/libs/report.js';
import type { BenchRow, BenchSection } from '../types.js';

/** Figures whose names end this way are in these units; the rest are counts. */
const UNITS: [suffix: string, unit: string][] = [
  ['Ms', 'ms'],
  ['MB', 'MB'],
  ['PerSecond', '/s'],
];

/**
 * The robustness suites' figures (crash loop, corruption matrix, damage campaign, wire fuzzing), run with the
 * same code as their scenarios and written to `jstests/reports/` as `npm run crash` writes
 * them, so one version's figures can be set beside the next one's. A suite whose checks failed
 * fails the section: a bench figure from a broken run would mislead.
 */
export const robustnessSection: BenchSection = {
  name: 'robustness',
  description: 'crash-loop, corruption-matrix, damage-campaign and wire-fuzzing figures',
  async run(context) {
    const reports = await measureRobustness({
      crashRounds: context.quick ? 2 : 10,
      fuzzMessages: context.quick ? 1_000 : 10_000,
      damageCopies: context.quick ? 10 : 40,
      progress: (line) => context.log(line),
    });
    const rows: BenchRow[] = [];
    for (const report of [reports.crash, reports.corruption, reports.damage, reports.fuzz]) {
      if (report === undefined) continue;
      if (!report.passed) throw new Error(`the ${report.suite} suite failed (seed ${reports.seed}): ${JSON.stringify(report.details).slice(0, 500)}`);
      rows.push(...rowsOf(report));
    }
    return rows;
  },
};

function rowsOf(report: SuiteReport): BenchRow[] {
  const rows: BenchRow[] = [{ section: 'robustness', figure: 'duration', variant: report.suite, value: report.durationMs / 1000, unit: 's' }];
  for (const [name, value] of Object.entries(report.figures)) {
    if (typeof value !== 'number') continue;
    const unit = UNITS.find(([suffix]) => name.endsWith(suffix))?.[1] ?? 'count';
    rows.push({ section: 'robustness', figure: name, variant: report.suite, value, unit });
  }
  return rows;
}
