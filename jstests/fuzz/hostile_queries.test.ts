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
    // 26 letters then a mismatch: `^(a+)+$` backtracks through 2^26 ways to split them.
    await (await shim.client()).db('hostile').collection('text').insertOne({ s: `${'a'.repeat(26)}!` });
  });

  it('answers a ping on another connection before a catastrophically backtracking $regex finishes', async () => {
    const victim = await shim.client();
    const attacker = await shim.client();
    await victim.db('admin').command({ ping: 1 });
    const order: string[] = [];
    const regex = attacker
      .db('hostile')
      .collection('text')
      .find({ s: { $regex: '^(a+)+$' } }, { maxTimeMS: 1000 })
      .toArray()
      .then(
        () => order.push('regex finished'),
        () => order.push('regex failed'),
      );
    // Let the query reach the server first.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const ping = victim
      .db('admin')
      .command({ ping: 1 })
      .then(() => order.push('ping answered'));
    await Promise.all([regex, ping]);
    // Either the server refuses the pattern at once, or the ping overtakes the match.
    expect(order[0] === 'ping answered' || order[0] === 'regex failed', `order of replies: ${order.join(', ')}`).to.equal(true);
  });
});
