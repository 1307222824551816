import { runCorruptionMatrix } from '../corruption/corruption_matrix.js';
import { runDamageCampaign } from '../corruption/damage_campaign.js';
import { runCrashLoop } from '../crash/crash_loop.js';
import { runWireFuzz } from '../fuzz/wire_fuzz.js';
import { publishSuiteReport, type SuiteReport } from './report.js';
import { chooseSeed } from './seeded_random.js';

/**
 * The robustness suites as one call, for the bench or any script: the crash loop, the
 * corruption matrix, the damage campaign and the wire fuzzing, each with the same code as its mocha scenario,
 * returning their reports (and by default writing `jstests/reports/<suite>.json` and printing
 * them). A failed check never throws: see each report's `passed` and `details`.
 */
export interface RobustnessOptions {
  /** Crash-loop rounds (default 5; 0 leaves the crash loop out). */
  crashRounds?: number;
  /** Storage mode of the crash loop (default disagg). */
  crashStorage?: 'disagg' | 'local';
  /** Run the corruption matrix (default true). */
  corruption?: boolean;
  /** Damaged copies of the damage campaign (default 40; 0 leaves it out). */
  damageCopies?: number;
  /** Fuzzing messages (default 10,000; 0 leaves the fuzzing out). */
  fuzzMessages?: number;
  /** One seed for all three (default: `JSTEST_SEED` or the clock). */
  seed?: number;
  /** Write and print each report (default true). */
  publish?: boolean;
  progress?: (line: string) => void;
}

export interface RobustnessReports {
  seed: number;
  crash?: SuiteReport;
  corruption?: SuiteReport;
  damage?: SuiteReport;
  fuzz?: SuiteReport;
}

export async function measureRobustness(options: RobustnessOptions = {}): Promise<RobustnessReports> {
  const seed = options.seed ?? chooseSeed();
  const publish = options.publish ?? true;
  const reports: RobustnessReports = { seed };
  const done = async (report: SuiteReport): Promise<SuiteReport> => {
    if (publish) await publishSuiteReport(report, options.progress);
    return report;
  };
  const crashRounds = options.crashRounds ?? 5;
  if (crashRounds > 0) {
    const result = await runCrashLoop({ rounds: crashRounds, seed, storage: options.crashStorage ?? 'disagg', ...(options.progress ? { progress: options.progress } : {}) });
    reports.crash = await done(result.report);
  }
  if (options.corruption ?? true) reports.corruption = await done((await runCorruptionMatrix({ seed })).report);
  const damageCopies = options.damageCopies ?? 40;
  if (damageCopies > 0) reports.damage = await done((await runDamageCampaign({ seed, copies: damageCopies })).report);
  const fuzzMessages = options.fuzzMessages ?? 10_000;
  if (fuzzMessages > 0) {
    const result = await runWireFuzz({ messages: fuzzMessages, seed, ...(options.progress ? { progress: options.progress } : {}) });
    reports.fuzz = await done(result.report);
  }
  return reports;
}
