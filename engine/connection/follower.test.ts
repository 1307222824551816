import { join } from 'node:path';
import { engineFailure, engineFailureNow } from '../testing/failures.js';
import { expect } from 'chai';
import type { Connection, ConnectionConfig } from '../api.js';
import { ErrorCode } from '../errors.js';
import { testHomes } from '../testing/homes.js';

const keyOf = (i: number): string => `key${String(i).padStart(5, '0')}`;



function values(connection: Connection, uri = 'table:t'): string[] {
  const session = connection.openSession();
  try {
    return [...session.openCursor(uri).entries()].map(([, value]) => value as string);
  } finally {
    session.close();
  }
}

describe('connection: a follower of a leader\'s page log', function () {
  this.timeout(60_000);
  const homes = testHomes('follower-test-');

  /** A leader home with table:t, and the page log path followers share. */
  async function leaderWith(rows: number, config: ConnectionConfig = {}): Promise<{ leader: Connection; pageLogPath: string }> {
    const home = await homes.directory();
    const leader = await homes.open(home, { leaseMs: 2_000, ...config });
    leader.createTable('table:t', 'key_format=S,value_format=S');
    write(leader, 0, rows, 'v1');
    return { leader, pageLogPath: join(home, 'pagelog') };
  }

  function write(connection: Connection, from: number, to: number, text: string): void {
    const cursor = connection.openSession().openCursor('table:t');
    for (let i = from; i < to; i++) cursor.put(keyOf(i), `${text}-${i}`);
  }

  async function follower(pageLogPath: string, config: ConnectionConfig = {}): Promise<Connection> {
    return homes.open(await homes.directory(), { role: 'follower', pageLogPath, leaseMs: 2_000, ...config });
  }

  it('serves the leader\'s checkpoint and nothing written after it, and refuses shared writes with NOT_LEADER', async () => {
    const { leader, pageLogPath } = await leaderWith(300);
    const first = await leader.checkpoint();
    write(leader, 300, 400, 'v1');
    const reader = await follower(pageLogPath);
    const status = reader.disaggStatus()!;
    expect(status).to.include({ role: 'follower', term: 0, waitingForCheckpoint: false });
    expect(status.checkpoint).to.include({ id: first.id, lsn: first.lsn, metadataLsn: first.metadataLsn });
    expect(values(reader)).to.have.length(300);
    const cursor = reader.openSession().openCursor('table:t');
    expect(engineFailureNow(() => cursor.put('x', 'y')).code).to.equal(ErrorCode.NotLeader);
    expect(engineFailureNow(() => reader.createTable('table:u', 'key_format=S,value_format=S')).code).to.equal(ErrorCode.NotLeader);
    expect(engineFailureNow(() => reader.dropTable('table:t')).code).to.equal(ErrorCode.NotLeader);
    // Local tables stay its own.
    reader.createTable('table:mine', 'key_format=S,value_format=S', { shared: false });
    reader.openSession().openCursor('table:mine').put('a', 'b');
    await reader.checkpoint();
  });

  it('picks up a newer checkpoint, while a cursor opened before keeps reading the one it started with', async () => {
    const { leader, pageLogPath } = await leaderWith(300, { pageLogRetain: 1 });
    await leader.checkpoint();
    const reader = await follower(pageLogPath);
    const hold = reader.holdCheckpointView()!;
    const old = reader.openSession().openCursor('table:t', { view: hold });
    // Many checkpoints later, each rewriting every row and pruning to one checkpoint.
    for (let round = 2; round <= 6; round++) {
      write(leader, 0, 300, `v${round}`);
      const checkpoint = await leader.checkpoint();
      await reader.pickUpCheckpoint();
      expect(reader.disaggStatus()!.checkpoint?.id).to.equal(checkpoint.id);
    }
    expect(values(reader)).to.deep.equal(Array.from({ length: 300 }, (_, i) => `v6-${i}`));
    expect(reader.disaggStatus()!.heldCheckpoints).to.deep.equal([hold.checkpoint.id]);
    expect([...old.entries()].map(([, value]) => value)).to.deep.equal(Array.from({ length: 300 }, (_, i) => `v1-${i}`));
    old.close();
    hold.release();
    expect(reader.disaggStatus()!.heldCheckpoints).to.deep.equal([]);
  });

  it('waits for a first checkpoint, serving no shared table, then picks it up', async () => {
    const home = await homes.directory();
    const leader = await homes.open(home, { leaseMs: 2_000 });
    const reader = await follower(join(home, 'pagelog'));
    expect(reader.disaggStatus()).to.include({ waitingForCheckpoint: true, checkpoint: undefined });
    expect(reader.listTables().filter((table) => table.shared)).to.deep.equal([]);
    expect(await reader.pickUpCheckpoint()).to.equal(undefined);
    leader.createTable('table:t', 'key_format=S,value_format=S');
    write(leader, 0, 5, 'v1');
    const checkpoint = await leader.checkpoint();
    expect((await reader.pickUpCheckpoint())?.id).to.equal(checkpoint.id);
    expect(values(reader)).to.have.length(5);
  });

  it('refuses a checkpoint id that does not exist or was pruned with CHECKPOINT_NOT_FOUND, keeping the one it serves', async () => {
    const { leader, pageLogPath } = await leaderWith(10, { pageLogRetain: 1 });
    const first = await leader.checkpoint();
    write(leader, 0, 10, 'v2');
    await leader.checkpoint();
    const second = await leader.checkpoint();
    const reader = await follower(pageLogPath);
    const pruned = await engineFailure(() => reader.pickUpCheckpoint(first.id));
    expect(pruned.code).to.equal(ErrorCode.CheckpointNotFound);
    expect(pruned.message).to.contain('pruned');
    const future = await engineFailure(() => reader.pickUpCheckpoint(String(second.lsn! + 1000)));
    expect(future.code).to.equal(ErrorCode.CheckpointNotFound);
    expect(engineFailureNow(() => reader.pickUpCheckpoint('abc')).code).to.equal(ErrorCode.InvalidArgument);
    expect(reader.disaggStatus()!.checkpoint?.id).to.equal(second.id);
    const opened = await engineFailure(async () => homes.open(await homes.directory(), { role: 'follower', pageLogPath, followerCheckpoint: first.id }));
    expect(opened.code).to.equal(ErrorCode.CheckpointNotFound);
  });

  it('refuses the page log of another database with PAGE_LOG_MISMATCH', async () => {
    const { leader, pageLogPath } = await leaderWith(5);
    await leader.checkpoint();
    const other = await leaderWith(5);
    await other.leader.checkpoint();
    const home = await homes.directory();
    const reader = await homes.open(home, { role: 'follower', pageLogPath });
    await reader.close();
    const error = await engineFailure(() => homes.open(home, { role: 'follower', pageLogPath: other.pageLogPath }));
    expect(error.code).to.equal(ErrorCode.PageLogMismatch);
  });

  it('follows a key rotation: the next pick-up loads the new key-provider page', async () => {
    const { leader, pageLogPath } = await leaderWith(5, { keyProvider: 'example' });
    await leader.checkpoint();
    const reader = await follower(pageLogPath, { keyProvider: 'example' });
    const before = reader.keyProviderStatus()!;
    expect(before.keyVersion).to.equal(leader.keyProviderStatus()!.keyVersion);
    leader.requestKeyRotation();
    await leader.checkpoint();
    await reader.pickUpCheckpoint();
    expect(reader.keyProviderStatus()!.keyVersion).to.equal(leader.keyProviderStatus()!.keyVersion).and.to.equal(before.keyVersion + 1);
    expect(reader.keyProviderStatus()!.pageLsn).to.equal(leader.keyProviderStatus()!.pageLsn);
    const unkeyed = await engineFailure(async () => homes.open(await homes.directory(), { role: 'follower', pageLogPath }));
    expect(unkeyed.code).to.equal(ErrorCode.ConfigInvalid);
  });

  it('steps up with a new term, fencing the old leader, whose step-down then follows the new one', async () => {
    const { leader, pageLogPath } = await leaderWith(50);
    const kept = await leader.checkpoint();
    write(leader, 50, 60, 'lost');
    const reader = await follower(pageLogPath);
    const adopted = await reader.stepUp();
    expect(adopted?.id).to.equal(kept.id);
    expect(reader.disaggStatus()).to.include({ role: 'leader', term: 2 });
    expect(values(reader)).to.have.length(50);

    const refused = await engineFailure(() => leader.checkpoint());
    expect(refused.code).to.equal(ErrorCode.Fenced);
    expect(refused.message).to.contain('term 1 was fenced by term 2');
    expect(leader.disaggStatus()!.fencedBy).to.include({ term: 2 });
    await leader.stepDown({ fenced: true });
    expect(leader.disaggStatus()).to.include({ role: 'follower' });
    expect(values(leader), 'what the fenced leader wrote after its checkpoint is gone').to.have.length(50);

    write(reader, 50, 70, 'new');
    const next = await reader.checkpoint();
    await leader.pickUpCheckpoint();
    expect(leader.disaggStatus()!.checkpoint?.id).to.equal(next.id);
    expect(values(leader)).to.have.length(70);
  });

  it('steps down cleanly with a final checkpoint, and the node it hands over to continues from it', async () => {
    const { leader, pageLogPath } = await leaderWith(20);
    await leader.checkpoint();
    const reader = await follower(pageLogPath);
    write(leader, 20, 30, 'v1');
    await leader.stepDown();
    expect(leader.disaggStatus()).to.include({ role: 'follower', term: 0 });
    expect(values(leader)).to.have.length(30);
    await reader.stepUp();
    expect(values(reader), 'the step-down\'s final checkpoint holds every write').to.have.length(30);
  });
});
