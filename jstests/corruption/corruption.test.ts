import { expect } from 'chai';
import { publishSuiteReport } from '../libs/report.js';
import { chooseSeed } from '../libs/seeded_random.js';
import { corruptionCases, corruptionReport, CorruptionRun, type CaseOutcome } from './corruption_matrix.js';

/**
 * Every structure of a home, flipped, zeroed and truncated (the turtle file also replaced by
 * garbage and removed), each on its own copy: verify names it, and the server refuses to start
 * naming it or fails the reads that reach it, never returning wrong documents.
 */
describe('corruption: damaged homes are refused or fail their reads, never read silently', function () {
  this.timeout(300_000);
  const seed = chooseSeed();
  const cases = corruptionCases();
  const run = new CorruptionRun(seed);
  let results: Map<string, Promise<CaseOutcome>>;
  const outcomes: CaseOutcome[] = [];
  const started = Date.now();

  before(() => {
    console.log(`  corruption matrix: ${cases.length} cases, seed ${seed} (replay with JSTEST_SEED=${seed})`);
    results = run.start(cases);
  });

  after(async () => {
    const failed = outcomes.some((outcome) => outcome.problems.length > 0) || outcomes.length < cases.length;
    const kept = await run.cleanup(failed);
    if (kept.length > 0) console.error(`  kept the damaged copies and their sample homes in ${kept.join(', ')}`);
    await publishSuiteReport(corruptionReport(outcomes, seed, new Date(started).toISOString(), Date.now() - started, kept));
  });

  for (const corruptionCase of cases) {
    const { structure, mutation } = corruptionCase;
    it(`${structure.name}, ${mutation.name === 'missing' ? 'removed' : mutation.name === 'garbage' ? 'replaced by garbage' : mutation.name === 'flip' ? 'with a flipped byte' : mutation.name === 'zero' ? 'zeroed' : 'truncated'} (${structure.storage} home)`, async () => {
      const outcome = await results.get(corruptionCase.name)!;
      outcomes.push(outcome);
      const context = [
        `${outcome.place}: ${outcome.damage}`,
        `verify exit ${outcome.verify.exitCode}: ${outcome.verify.excerpt}`,
        `server: ${JSON.stringify(outcome.server).slice(0, 800)}`,
      ].join('\n');
      expect(outcome.problems, context).to.deep.equal([]);
    });
  }
});
