import { shimsPerTest } from '../index.js';

/**
 * A scenario that fails on purpose, run by `junit_reporter.test.ts` in a child mocha (its name
 * does not end in `.test.ts`, so the suite itself never runs it): one passing test, one that
 * skips itself, one that fails after starting a server, whose dbpath and log are kept.
 */
describe('a scenario that fails on purpose', function () {
  this.timeout(60_000);
  const shims = shimsPerTest();

  it('passes', () => undefined);

  it('skips itself', function () {
    this.skip();
  });

  it('fails after starting a server', async () => {
    await shims.launch();
    throw new Error('expected <failure> & kept files');
  });
});
