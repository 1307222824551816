import { cpSync } from 'node:fs';
import { expect } from 'chai';
import type { Connection } from '../api.js';
import { testHomes } from '../testing/homes.js';

/**
 * Writes that happen while a checkpoint is running (a server keeps serving requests during its
 * periodic checkpoint) must land in the checkpoint whole or not at all: a crash right after it
 * must never reopen with half of a transaction.
 */
describe('writes during a running checkpoint (disagg, shared and local tables)', function () {
  this.timeout(30_000);
  const homes = testHomes();

  async function contents(home: string): Promise<Record<string, Array<[unknown, unknown]>>> {
    const connection = await homes.open(home, { storage: 'disagg', readOnly: true });
    const session = connection.openSession();
    return {
      shared: [...session.openCursor('table:shared').entries()],
      local: [...session.openCursor('table:local').entries()],
    };
  }

  /** Runs `during` once the checkpoint has started and is waiting for the page log. */
  async function checkpointWith(connection: Connection, during: () => void): Promise<void> {
    const checkpoint = connection.checkpoint();
    // Let the checkpoint start and reach its first wait (the page log syncing its pages).
    for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
    during();
    await checkpoint;
  }

  it('keeps a transaction over a shared and a local table all or nothing', async () => {
    const home = await homes.directory();
    const connection = await homes.open(home, { storage: 'disagg' });
    connection.createTable('table:shared', 'key_format=S,value_format=S');
    connection.createTable('table:local', 'key_format=S,value_format=S', { shared: false });
    const session = connection.openSession();
    for (let i = 0; i < 2_000; i++) {
      session.openCursor('table:shared').put(`k${i}`, 'before');
      session.openCursor('table:local').put(`k${i}`, 'before');
    }
    await connection.checkpoint();
    session.openCursor('table:shared').put('dirty', 'yes');
    session.openCursor('table:local').put('dirty', 'yes');
    await checkpointWith(connection, () => {
      session.beginTransaction();
      session.openCursor('table:shared').put('txn', 'both or neither');
      session.openCursor('table:local').put('txn', 'both or neither');
      session.commitTransaction();
    });
    // A crash now: the files hold the last completed checkpoint.
    await (connection as unknown as { pageLog: { flush(): Promise<void> } }).pageLog.flush();
    const crashed = await homes.directory();
    cpSync(home, crashed, { recursive: true });
    const found = await contents(crashed);
    const inShared = found.shared.some(([k]) => k === 'txn');
    const inLocal = found.local.some(([k]) => k === 'txn');
    expect({ inShared, inLocal }, 'the transaction is in one table of the checkpoint and not the other').to.satisfy(
      (x: { inShared: boolean; inLocal: boolean }) => x.inShared === x.inLocal,
    );
  });

  it('writes local and shared tables as of the same stable timestamp', async () => {
    const home = await homes.directory();
    const connection = await homes.open(home, { storage: 'disagg' });
    connection.createTable('table:shared', 'key_format=S,value_format=S');
    connection.createTable('table:local', 'key_format=S,value_format=S', { shared: false });
    const session = connection.openSession();
    session.beginTransaction();
    session.openCursor('table:shared').put('at20', 'x');
    session.openCursor('table:local').put('at20', 'x');
    session.commitTransaction({ commitTimestamp: 20n });
    connection.setTimestamps({ stable: 10n });
    await checkpointWith(connection, () => connection.setTimestamps({ stable: 30n }));
    await (connection as unknown as { pageLog: { flush(): Promise<void> } }).pageLog.flush();
    const crashed = await homes.directory();
    cpSync(home, crashed, { recursive: true });
    const found = await contents(crashed);
    // The checkpoint was taken at stable 10: neither table may hold the write at 20.
    expect(found).to.deep.equal({ shared: [], local: [] });
  });
});
