import { Command, InvalidArgumentError } from 'commander';
import { publishSuiteReport } from '../libs/report.js';
import { chooseSeed } from '../libs/seeded_random.js';
import { describeCopy, runDamageCampaign } from './damage_campaign.js';
import { positiveInteger, nonNegativeInteger } from '../libs/option_values.js';

/**
 * `npm run damage -- [--copies 300] [--seed N] [--only 12,40] [--concurrency 2]`: the damage
 * campaign over a few hundred damaged copies. Prints a line per copy and the report; exits 1
 * when any copy failed. `--seed S --only N` replays copy N of a run with seed S.
 */
function indexList(value: string): number[] {
  const indexes = value.split(',').map(Number);
  if (indexes.some((index) => !Number.isInteger(index) || index < 0)) throw new InvalidArgumentError('expected copy numbers separated by commas');
  return indexes;
}

const program = new Command('damage')
  .description('damage campaign: random bit flips, zeroed ranges, truncations, garbage and turtle edits on copies of healthy homes; every wt-readpath subcommand and a server start on each')
  .option('--copies <n>', 'damaged copies to check', positiveInteger, 300)
  .option('--seed <n>', 'seed of the campaign (copy N uses seed + N)', nonNegativeInteger)
  .option('--only <list>', 'only these copy numbers (to replay them)', indexList)
  .option('--concurrency <n>', 'copies checked at once', positiveInteger, 2)
  .showHelpAfterError();

program.parse(process.argv);
const options = program.opts<{ copies: number; seed?: number; only?: number[]; concurrency: number }>();

// A promise that never settles would end the process silently, without the report.
let finished = false;
process.on('beforeExit', () => {
  if (finished) return;
  console.error('damage campaign: stalled (a pending operation never settled); the report was not produced');
  process.exitCode = 1;
  finished = true;
});

const seed = chooseSeed(options.seed);
console.log(`damage campaign: ${options.only?.length ?? options.copies} copies, seed ${seed}`);
const { outcomes, report } = await runDamageCampaign({
  seed,
  copies: options.copies,
  concurrency: options.concurrency,
  ...(options.only ? { only: options.only } : {}),
  progress: (outcome) => console.log(describeCopy(outcome)),
});
await publishSuiteReport(report);
finished = true;
const failed = outcomes.filter((outcome) => outcome.problems.length > 0);
if (failed.length > 0) {
  console.error(`${failed.length} of ${outcomes.length} copies failed; replay one with: npm run damage -- --seed ${seed} --only ${failed.map((outcome) => outcome.index).join(',')}`);
  process.exitCode = 1;
}
