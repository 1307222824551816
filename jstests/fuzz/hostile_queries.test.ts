import { expect } from 'chai';
import { shimsPerSuite, type ShimProcess } from '../libs/index.js';

/**
 * Queries that cost the server far more than they cost the client. The server runs every
 * client on one event loop, so a query that never yields stops everyone: these check that a
 * hostile query cannot take the other clients' turn away.
 */
describe('hostile queries: one client cannot stall the others', function () {
  this.timeout(120_000);
  const shims = shimsPerSuite();
  let shim: ShimProcess;

  before(async () => {
    shim = await shims.launch();
    // 24 letters, with and without a mismatch after them: each pattern below backtracks
    // through about 2^24 ways of matching them before it gives up.
    await (await shim.client()).db('hostile').collection('text').insertMany([{ s: `${'a'.repeat(24)}!` }, { s: 'a'.repeat(24) }]);
  });

  // Nested quantifiers, repeated alternatives that match the same text, a bounded repeat of an
  // unbounded group (polynomial, of degree the repeat count), and the same next to a
  // backreference or a lookahead, which only a backtracking engine can run.
  for (const pattern of ['^(a+)+$', '^(a|a)+$', '(a|a)*b', '^(\\w|a)+$', '^(?:a|a)*$', '^(.*a){12}$', '^(a+)+\\1$', '(?=a)(a|a)*$', '(?=a)a*a*a*a*a*b']) {
    it(`answers a ping on another connection while /${pattern}/ runs, or settles at once`, async () => {
      const victim = await shim.client();
      const attacker = await shim.client();
      await victim.db('admin').command({ ping: 1 });
      const order: string[] = [];
      let pingSent = false;
      let settledBeforePing = false;
      const regex = attacker
        .db('hostile')
        .collection('text')
        .find({ s: { $regex: pattern } }, { maxTimeMS: 1000 })
        .toArray()
        .then(
          () => 'regex finished',
          () => 'regex failed',
        )
        .then((outcome) => {
          order.push(outcome);
          settledBeforePing = !pingSent;
        });
      // Let the query reach the server first.
      await new Promise((resolve) => setTimeout(resolve, 100));
      pingSent = true;
      const ping = victim
        .db('admin')
        .command({ ping: 1 })
        .then(() => order.push('ping answered'));
      await Promise.all([regex, ping]);
      // A query that settled before the ping was even sent held nobody up (matched in linear
      // time, or refused); otherwise the ping must overtake it.
      expect(settledBeforePing || order[0] === 'ping answered', `order of replies: ${order.join(', ')}`).to.equal(true);
    });
  }
});
