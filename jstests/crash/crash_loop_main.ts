import { Command } from 'commander';
import { publishSuiteReport } from '../libs/report.js';
import { chooseSeed } from '../libs/seeded_random.js';
import { describeCrashFailures, runCrashLoop } from './crash_loop.js';
import { positiveInteger, nonNegativeInteger } from '../libs/option_values.js';

/**
 * `npm run crash -- --rounds 500 [--seed N] [--storage local]`: the long crash loop. Prints a
 * line per round and the report; exits 1 when any round failed (the home and logs are kept).
 */
const program = new Command('crash')
  .description('crash loop: write, checkpoint, rotate keys, SIGKILL mongod-shim at random moments, restart and check that no acknowledged write is lost')
  .option('--rounds <n>', 'rounds to run', positiveInteger, 500)
  .option('--seed <n>', 'seed of the random choices (printed by every run, to replay it)', nonNegativeInteger)
  .option('--storage <mode>', 'disagg (with key rotations) or local', 'disagg')
  .option('--keep', 'keep the dbpath and logs even when every round passed', false)
  .option('--followers <n>', 'follower processes on the leader\'s page log (disagg only)', nonNegativeInteger, 0)
  .showHelpAfterError();

program.parse(process.argv);
const options = program.opts<{ rounds: number; seed?: number; storage: string; keep: boolean; followers: number }>();
if (!Number.isInteger(options.followers) || options.followers < 0) program.error(`--followers must be a non-negative integer, not ${options.followers}`);
if (options.followers > 0 && options.storage !== 'disagg') program.error('--followers needs --storage disagg');
if (options.storage !== 'disagg' && options.storage !== 'local') program.error(`--storage must be disagg or local, not ${options.storage}`);

// A promise that never settles with nothing else pending would end the process silently,
// without the report: say so and fail instead.
let finished = false;
process.on('beforeExit', () => {
  if (finished) return;
  console.error('crash loop: stalled (a pending operation never settled); the report was not produced');
  process.exitCode = 1;
  finished = true;
});

const seed = chooseSeed(options.seed);
console.log(`crash loop: ${options.rounds} rounds, seed ${seed}, storage ${options.storage}${options.followers > 0 ? `, ${options.followers} follower(s)` : ''}`);
const result = await runCrashLoop({
  rounds: options.rounds,
  seed,
  storage: options.storage as 'disagg' | 'local',
  keepHome: options.keep,
  followers: options.followers,
  progress: (line) => console.log(line),
});
await publishSuiteReport(result.report);
finished = true;
if (!result.passed) {
  console.error(describeCrashFailures(result));
  process.exitCode = 1;
} else if (result.keptDirectory !== undefined) {
  console.log(`dbpath and logs kept in ${result.keptDirectory}`);
}
// Done: a driver client the kills left half-closed must not keep the process alive.
process.exit();
