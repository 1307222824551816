import { expect } from 'chai';
import { publishSuiteReport } from '../libs/report.js';
import { chooseSeed } from '../libs/seeded_random.js';
import { describeCopy, runDamageCampaign, type CopyOutcome } from './damage_campaign.js';

/**
 * A sample of the damage campaign (`npm run damage` runs a few hundred copies): each damaged
 * copy of a healthy home must be refused or read correctly by every wt-readpath subcommand and
 * by the server, never with a death by a signal, a stack trace, a hang, a clean verify over a
 * differing dump, or different data served without an error. `DAMAGE_COPIES` sets the sample
 * size, `JSTEST_SEED` replays a run.
 */
describe('damage campaign (sample): damaged homes never crash, hang or read as sound', function () {
  this.timeout(600_000);
  const seed = chooseSeed();
  const copies = Number(process.env['DAMAGE_COPIES'] ?? 5);
  let outcomes: Promise<CopyOutcome[]>;

  before(() => {
    console.log(`  damage campaign: ${copies} copies, seed ${seed} (replay with JSTEST_SEED=${seed}, or npm run damage -- --seed ${seed} --only N)`);
    const run = runDamageCampaign({ seed, copies });
    outcomes = run.then((result) => result.outcomes);
    outcomes.catch(() => undefined);
    void run.then((result) => publishSuiteReport(result.report)).catch(() => undefined);
  });

  for (let index = 0; index < copies; index++) {
    it(`damaged copy ${index} (${index % 2 === 0 ? 'local' : 'disagg'} home)`, async () => {
      const outcome = (await outcomes).find((candidate) => candidate.index === index)!;
      expect(outcome.problems, describeCopy(outcome)).to.deep.equal([]);
    });
  }
});
