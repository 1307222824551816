import { engineFailure, engineFailureNow } from '../testing/failures.js';
import { expect } from 'chai';
import { ErrorCode } from '../errors.js';
import { openPageLog, type PageLog, type PageLogOptions } from './index.js';
import { storesUnderTest } from './stores_under_test.js';
import {
  claimWriterRole, leasedCheckpoints, liveLeader, releaseLease, renewFollowerLease, renewLeaderLease,
  type LeaseRecord, type NodeRecordUpdate, type TermRecord,
} from './nodes.js';

const BASE = { backlinkLsn: 0, baseLsn: 0, flags: 0 };



async function checkpoint(log: PageLog, text: string, timestamp = 10n): Promise<number> {
  log.openHandle(200).put(100, BASE, Buffer.from(text));
  log.beginCheckpoint();
  return log.completeCheckpoint({ timestamp, oldestTimestamp: 1n, metadata: text });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The rules over the smallest store there is: a few maps. The same functions run over LMDB in
 * the tests below; a store on a database server sits under them the same way.
 */
class MemoryRecords implements NodeRecordUpdate {
  readonly terms = new Map<number, TermRecord>();
  readonly leaseMap = new Map<string, LeaseRecord>();
  completion = 0;
  last = 0;
  newestTerm(): TermRecord | undefined {
    return this.terms.get(Math.max(0, ...this.terms.keys()));
  }
  lease(nodeId: string): LeaseRecord | undefined {
    return this.leaseMap.get(nodeId);
  }
  leases(): LeaseRecord[] {
    return [...this.leaseMap.values()];
  }
  putTerm(record: TermRecord): void {
    this.terms.set(record.term, record);
  }
  putLease(record: LeaseRecord): void {
    this.leaseMap.set(record.nodeId, record);
  }
  removeLease(nodeId: string): void {
    this.leaseMap.delete(nodeId);
  }
  newestCompletionLsn(): number {
    return this.completion;
  }
  lastLsn(): number {
    return this.last;
  }
}

const node = (nodeId: string): { nodeId: string; pid: number; address: string } => ({ nodeId, pid: 1, address: '' });

describe('page log nodes: the rules', () => {
  it('grants the first claim term 1, continuing from the newest completion and above the last LSN', () => {
    const records = new MemoryRecords();
    records.completion = 7;
    records.last = 9;
    const outcome = claimWriterRole(records, node('a'), { now: 100, leaseMs: 50, fence: false });
    expect(outcome).to.deep.equal({ granted: true, term: { term: 1, nodeId: 'a', startedAt: 100, fromCompletionLsn: 7, firstLsn: 10 } });
    expect(liveLeader(records, 149)?.term.nodeId).to.equal('a');
    expect(liveLeader(records, 150), 'expired at its expiry').to.equal(undefined);
  });

  it('refuses a claim while another leader lives, writing nothing; grants its own restart and a fencing step-up', () => {
    const records = new MemoryRecords();
    claimWriterRole(records, node('a'), { now: 0, leaseMs: 100, fence: false });
    const refused = claimWriterRole(records, node('b'), { now: 10, leaseMs: 100, fence: false });
    expect(refused.granted).to.equal(false);
    expect(records.terms.size).to.equal(1);
    expect(records.lease('b')).to.equal(undefined);
    expect(claimWriterRole(records, node('a'), { now: 20, leaseMs: 100, fence: false })).to.include({ granted: true });
    const stepUp = claimWriterRole(records, node('b'), { now: 30, leaseMs: 100, fence: true });
    expect(stepUp.granted && stepUp.term.term).to.equal(3);
    expect(renewLeaderLease(records, node('a'), 2, { now: 40, leaseMs: 100 })?.term, 'a renewal of the fenced term learns of it').to.equal(3);
    expect(records.lease('a')!.expiresAt, 'and writes nothing').to.equal(120);
  });

  it('grants a claim once the leader lease expired or was released', () => {
    const records = new MemoryRecords();
    claimWriterRole(records, node('a'), { now: 0, leaseMs: 100, fence: false });
    expect(claimWriterRole(records, node('b'), { now: 100, leaseMs: 100, fence: false }).granted).to.equal(true);
    releaseLease(records, 'a', 'leader', 1);
    expect(records.lease('a'), 'a fenced leader does not remove what the new term wrote').to.not.equal(undefined);
    releaseLease(records, 'b', 'leader', 2);
    expect(records.lease('b')).to.equal(undefined);
    expect(claimWriterRole(records, node('c'), { now: 101, leaseMs: 100, fence: false }).granted).to.equal(true);
  });

  it('keeps the checkpoints of live follower leases only', () => {
    const records = new MemoryRecords();
    renewFollowerLease(records, node('f1'), [5, 3, 5], { now: 0, leaseMs: 100 });
    renewFollowerLease(records, node('f2'), [8], { now: 50, leaseMs: 100 });
    expect(records.lease('f1')!.checkpoints).to.deep.equal([3, 5]);
    expect(leasedCheckpoints(records.leases(), 99)).to.deep.equal([3, 5, 8]);
    expect(leasedCheckpoints(records.leases(), 100), 'f1 expired').to.deep.equal([8]);
  });
});

for (const store of storesUnderTest()) describe(`page log nodes on ${store.name}`, function () {
  this.timeout(60_000);
  let path: string;
  const opened: PageLog[] = [];

  async function open(options: PageLogOptions): Promise<PageLog> {
    const log = await openPageLog(path, options);
    opened.push(log);
    return log;
  }

  before(async () => store.setUp());
  after(async () => store.tearDown());

  beforeEach(async () => {
    path = await store.freshLocation();
  });

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((log) => log.close()));
  });

  it('refuses a second leader with LEADER_ACTIVE while the first lives, and lets the same node reclaim its log', async () => {
    const first = await open({ nodeId: 'a', address: 'host:1' });
    expect(first).to.include({ role: 'leader', term: 1, nodeId: 'a' });
    const error = await engineFailure(() => openPageLog(path, { nodeId: 'b' }));
    expect(error.code).to.equal(ErrorCode.LeaderActive);
    expect(error.message).to.contain('node a (host:1').and.contain('term 1');
    await first.close();
    const again = await open({ nodeId: 'b' });
    expect(again.term, 'a closed leader released its lease').to.equal(2);
  });

  it('takes the role over once the leader lease expires (a leader killed with -9)', async () => {
    await open({ nodeId: 'a', leaseMs: 60 });
    const stopRenewing = opened[0]!.pauseLeaseRenewal();
    await sleep(80);
    const second = await open({ nodeId: 'b', leaseMs: 60 });
    expect(second.term).to.equal(2);
    stopRenewing();
  });

  it('serves a follower reads and refuses its writes with NOT_LEADER', async () => {
    const leader = await open({ nodeId: 'a' });
    const lsn = await checkpoint(leader, 'one');
    const follower = await open({ nodeId: 'f', role: 'follower' });
    expect(follower).to.include({ role: 'follower', term: 0 });
    expect(follower.getCompleteCheckpoint()?.lsn).to.equal(lsn);
    expect(follower.openHandle(200).get(100)[0]!.image.toString()).to.equal('one');
    expect(engineFailureNow(() => follower.openHandle(200).put(101, BASE, Buffer.from('x'))).code).to.equal(ErrorCode.NotLeader);
    expect(engineFailureNow(() => follower.beginCheckpoint()).code).to.equal(ErrorCode.NotLeader);
    expect((await engineFailure(() => follower.prune!(1))).code).to.equal(ErrorCode.NotLeader);
    const after = await checkpoint(leader, 'two');
    expect(follower.getLastLsn(), 'a follower sees the leader\'s later records').to.equal(after);
  });

  it('refuses to open a missing log as a follower', async () => {
    const error = await engineFailure(() => openPageLog(path, { role: 'follower' }));
    expect(error.code).to.equal(ErrorCode.MissingFile);
  });

  it('keeps a checkpoint a follower lease names through prunes, and lets it go once the lease expires', async () => {
    const leader = await open({ nodeId: 'a' });
    const held = await checkpoint(leader, 'held');
    const follower = await open({ nodeId: 'f', role: 'follower', leaseMs: 90 });
    await follower.holdCheckpoints([held]);
    for (const text of ['2', '3', '4']) await checkpoint(leader, text);
    await leader.prune!(1);
    expect(leader.listCompleteCheckpoints().map((record) => record.lsn)).to.include(held);
    expect(follower.openHandle(200).get(100, held)[0]!.image.toString()).to.equal('held');
    const stopRenewing = follower.pauseLeaseRenewal();
    await sleep(120);
    await leader.prune!(1);
    expect(leader.listCompleteCheckpoints().map((record) => record.lsn)).to.not.include(held);
    stopRenewing();
  });

  it('fences the old leader at a step-up: its checkpoint is refused naming both terms and nothing it puts is stored', async () => {
    const old = await open({ nodeId: 'a' });
    const before = await checkpoint(old, 'before');
    const follower = await open({ nodeId: 'b', role: 'follower' });
    const term = await follower.takeWriterRole();
    expect(term).to.include({ term: 2, nodeId: 'b', fromCompletionLsn: before });
    expect(follower).to.include({ role: 'leader', term: 2 });

    old.openHandle(200).put(100, BASE, Buffer.from('fenced'));
    old.beginCheckpoint();
    const refused = await engineFailure(() => old.completeCheckpoint({ timestamp: 20n, oldestTimestamp: 1n, metadata: 'fenced' }));
    expect(refused.code).to.equal(ErrorCode.Fenced);
    expect(refused.message).to.contain("term 1 was fenced by term 2 (node b");
    expect(old.fencedBy?.term).to.equal(2);
    expect(engineFailureNow(() => old.openHandle(200).put(101, BASE, Buffer.from('later'))).code).to.equal(ErrorCode.Fenced);

    const images = [...follower.records()].filter((entry) => entry.kind === 'page').length;
    expect(images, 'only the page of the checkpoint before the step-up is stored').to.equal(1);
    const next = await checkpoint(follower, 'after');
    expect(next).to.be.greaterThan(before);
    expect(follower.getCompleteCheckpoint()).to.include({ lsn: next, term: 2, metadata: 'after' });

    await old.releaseWriterRole();
    expect(old.role).to.equal('follower');
    expect(old.openHandle(200).get(100)[0]!.image.toString(), 'the fenced leader reads what the new one wrote').to.equal('after');
  });

  it('learns it was fenced at its next lease renewal, before it writes', async () => {
    const old = await open({ nodeId: 'a', leaseMs: 60 });
    const follower = await open({ nodeId: 'b', role: 'follower', leaseMs: 60 });
    await follower.takeWriterRole();
    await sleep(60);
    expect(old.fencedBy?.term).to.equal(2);
  });

  it('ends the writer role cleanly at a step-down: another node claims it at once', async () => {
    const leader = await open({ nodeId: 'a' });
    await checkpoint(leader, 'one');
    await leader.releaseWriterRole();
    expect(leader).to.include({ role: 'follower', term: 0 });
    const next = await open({ nodeId: 'b' });
    expect(next.term).to.equal(2);
    expect(leader.nodeRecords().leases.find((lease) => lease.nodeId === 'a')?.role).to.equal('follower');
  });

  it('writes nothing, not even a lease, when opened read-only', async () => {
    const leader = await open({ nodeId: 'a' });
    await checkpoint(leader, 'one');
    const inspector = await open({ readOnly: true });
    expect(inspector.role).to.equal('inspector');
    expect(inspector.nodeRecords().leases.map((lease) => lease.nodeId)).to.deep.equal(['a']);
    expect((await engineFailure(() => inspector.holdCheckpoints([1]))).code).to.equal(ErrorCode.ReadOnly);
  });
});
