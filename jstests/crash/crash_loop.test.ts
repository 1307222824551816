import { expect } from 'chai';
import { publishSuiteReport } from '../libs/report.js';
import { chooseSeed } from '../libs/seeded_random.js';
import { describeCrashFailures, runCrashLoop } from './crash_loop.js';

/** A few rounds here; `npm run crash -- --rounds 500` runs the long loop with the same code. */
const rounds = Number(process.env['JSTEST_CRASH_ROUNDS'] ?? 5);

describe('crash loop: SIGKILL at random moments', function () {
  this.timeout(Math.max(120_000, rounds * 30_000));

  it('loses no write acknowledged by a checkpoint or the journal, restarts every time, and leaves homes that verify clean', async () => {
    const seed = chooseSeed();
    console.log(`  crash loop: ${rounds} rounds, seed ${seed} (replay with JSTEST_SEED=${seed})`);
    const result = await runCrashLoop({ rounds, seed });
    await publishSuiteReport(result.report);
    expect(result.failures, describeCrashFailures(result)).to.deep.equal([]);
    expect(result.report.figures.rounds).to.equal(rounds);
    expect(result.report.figures.documentsLost).to.equal(0);
    expect(result.report.figures.acknowledgedDocuments, 'the workload acknowledged documents through checkpoints').to.be.greaterThan(0);
    expect(result.report.figures.writesJournaled, 'the workload acknowledged journaled writes').to.be.greaterThan(0);
  });

  it('with two followers on the leader\'s page log: each reads exactly the leader\'s data after every restart, and a killed one restarts and verifies', async () => {
    const seed = chooseSeed();
    const followerRounds = Math.max(2, Math.ceil(rounds / 2));
    console.log(`  crash loop with followers: ${followerRounds} rounds, seed ${seed} (replay with JSTEST_SEED=${seed})`);
    const result = await runCrashLoop({ rounds: followerRounds, seed, followers: 2 });
    expect(result.failures, describeCrashFailures(result)).to.deep.equal([]);
    expect(result.report.figures.documentsLost).to.equal(0);
    expect(result.report.figures.followerChecks, 'both followers were checked, at the end at least').to.be.at.least(2);
  });
});
