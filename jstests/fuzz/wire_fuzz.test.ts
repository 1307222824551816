import { expect } from 'chai';
import { publishSuiteReport } from '../libs/report.js';
import { chooseSeed } from '../libs/seeded_random.js';
import { runWireFuzz } from './wire_fuzz.js';

/** A sample of 3,000 messages in `npm test`; `npm run fuzz` sends 50,000 (or `JSTEST_FUZZ_MESSAGES`). */
const messages = Number(process.env['JSTEST_FUZZ_MESSAGES'] ?? 3_000);

describe('wire fuzzing: malformed and hostile messages over raw sockets', function () {
  this.timeout(Math.max(180_000, messages * 30));

  it(`keeps serving a well-behaved client, with bounded memory and no leaked connection, through ${messages} generated messages`, async () => {
    const seed = chooseSeed();
    console.log(`  wire fuzzing: ${messages} messages, seed ${seed} (replay with JSTEST_SEED=${seed} JSTEST_FUZZ_MESSAGES=${messages})`);
    const result = await runWireFuzz({ messages, seed });
    await publishSuiteReport(result.report);
    const kept = result.keptDirectory === undefined ? '' : `\ndbpath and logs kept in ${result.keptDirectory}`;
    expect(result.problems, result.problems.join('\n') + kept).to.deep.equal([]);
    expect(result.report.figures.messages).to.equal(messages);
    expect(result.report.figures.driverFailures).to.equal(0);
  });
});
