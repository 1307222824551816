/**
 * The rules of a page log that several nodes share: one leader writes, followers read.
 *
 * - **Terms.** The writer role is held in terms. Taking it records term N + 1 (its node, when it
 *   began, the completion record it continues from); from then on every write of term N is
 *   refused by the store itself, in the transaction that would write it (`fenceKey`): a fenced
 *   leader can neither put a page nor complete a checkpoint, so nothing it writes after the new
 *   term becomes visible.
 * - **Leases.** Every node renews a lease record: a leader's says its term is still served, a
 *   follower's names the completion records it reads. A live lease (not expired by the store's
 *   clock) keeps a second leader out, and keeps the leader's pruning off the checkpoints it
 *   names. An expired lease (a node killed with -9) holds nothing from its expiry on.
 * - **Claims.** A leader claims the role at open: refused while another node's leader lease
 *   is live (`LEADER_ACTIVE`), never two writers. A step-up claims it regardless: the old
 *   leader, alive or not, is fenced by the new term.
 *
 * These functions are the rules; a store supplies its records through `NodeRecordStore`, in
 * one atomic update at a time (one LMDB write transaction; one SQL transaction for a store on
 * a database server). They decide before they write, so an update that refuses writes nothing.
 */
import { ErrorCode, PageLogError } from '../errors.js';
import type { LeaseRecordFields, TermRecordFields } from './record_format.js';

/** A node's part in the log. */
export type NodeRole = 'leader' | 'follower';

export type TermRecord = TermRecordFields;
export type LeaseRecord = LeaseRecordFields;

/** Every node record of a log. */
export interface NodeRecords {
  /** Oldest first. */
  terms: TermRecord[];
  leases: LeaseRecord[];
}

/** The node records inside one atomic update of a store. */
export interface NodeRecordUpdate {
  /** The highest term recorded, if any. */
  newestTerm(): TermRecord | undefined;
  lease(nodeId: string): LeaseRecord | undefined;
  leases(): LeaseRecord[];
  putTerm(record: TermRecord): void;
  putLease(record: LeaseRecord): void;
  removeLease(nodeId: string): void;
  /** The LSN of the newest completion record (0 when none) as of this update. */
  newestCompletionLsn(): number;
  /** The largest LSN stored as of this update (0 for an empty log). */
  lastLsn(): number;
}

/** What a store gives the rules. */
export interface NodeRecordStore {
  /** Milliseconds since the epoch by the clock all nodes of the store share (the host's, for LMDB). */
  now(): number;
  /** Every node record, as stored now. */
  readNodeRecords(): NodeRecords;
  /**
   * Runs `update` atomically with respect to every other node: its reads see the store's
   * latest state and its writes land together or not at all. Resolves with its result.
   */
  updateNodeRecords<T>(update: (records: NodeRecordUpdate) => T): Promise<T>;
}

/** Who a node is, as its lease records it. */
export interface NodeIdentity {
  nodeId: string;
  pid: number;
  address: string;
}

/** Lease length unless a node is opened with another. */
export const DEFAULT_LEASE_MS = 10_000;
/** A node renews its lease this many times per lease length. */
export const RENEWALS_PER_LEASE = 3;
/** The node id of a log opened without one (a single node, as before logs were shared). */
export const DEFAULT_NODE_ID = 'default';

/** True while `lease` holds what it records. */
export function isLive(lease: LeaseRecord, now: number): boolean {
  return lease.expiresAt > now;
}

/**
 * The leader whose lease is live and who holds the newest term, if any: the node a claim at
 * open must not displace.
 */
export function liveLeader(records: Pick<NodeRecordUpdate, 'newestTerm' | 'lease'>, now: number): { term: TermRecord; lease: LeaseRecord } | undefined {
  const term = records.newestTerm();
  if (term === undefined) return undefined;
  const lease = records.lease(term.nodeId);
  if (lease === undefined || lease.role !== 'leader' || lease.term !== term.term || !isLive(lease, now)) return undefined;
  return { term, lease };
}

/** The outcome of a claim: the new term, or the live leader that refused it. */
export type ClaimOutcome = { granted: true; term: TermRecord } | { granted: false; holder: { term: TermRecord; lease: LeaseRecord } };

/**
 * Claims the writer role for `node` with the next term. Without `fence`, a live lease of
 * another node's leader refuses the claim (nothing is written); a claim by the node that holds
 * the newest term (a restart) is granted. With `fence` (a step-up) the claim is always
 * granted: the new term fences the old leader, alive or not.
 */
export function claimWriterRole(records: NodeRecordUpdate, node: NodeIdentity, options: { now: number; leaseMs: number; fence: boolean }): ClaimOutcome {
  const holder = liveLeader(records, options.now);
  if (holder !== undefined && holder.term.nodeId !== node.nodeId && !options.fence) return { granted: false, holder };
  const term: TermRecord = {
    term: (records.newestTerm()?.term ?? 0) + 1,
    nodeId: node.nodeId,
    startedAt: options.now,
    fromCompletionLsn: records.newestCompletionLsn(),
    firstLsn: records.lastLsn() + 1,
  };
  records.putTerm(term);
  records.putLease(leaderLease(node, term.term, options));
  return { granted: true, term };
}

function leaderLease(node: NodeIdentity, term: number, options: { now: number; leaseMs: number }): LeaseRecord {
  return { ...node, role: 'leader', term, renewedAt: options.now, expiresAt: options.now + options.leaseMs, checkpoints: [] };
}

/**
 * Renews a leader's lease, unless a newer term has fenced it: then nothing is written and the
 * fencing term is returned.
 */
export function renewLeaderLease(records: NodeRecordUpdate, node: NodeIdentity, term: number, options: { now: number; leaseMs: number }): TermRecord | undefined {
  const newest = records.newestTerm();
  if (newest !== undefined && newest.term > term) return newest;
  records.putLease(leaderLease(node, term, options));
  return undefined;
}

/** Writes a follower's lease naming the checkpoints it reads. */
export function renewFollowerLease(records: NodeRecordUpdate, node: NodeIdentity, checkpoints: readonly number[], options: { now: number; leaseMs: number }): void {
  records.putLease({
    ...node, role: 'follower', term: records.newestTerm()?.term ?? 0, renewedAt: options.now, expiresAt: options.now + options.leaseMs,
    checkpoints: [...new Set(checkpoints)].sort((a, b) => a - b),
  });
}

/**
 * Ends a node's lease (a clean close, a step-down). A leader's is removed only while its term
 * is still the newest: a fenced leader leaves the records as the new one wrote them.
 */
export function releaseLease(records: NodeRecordUpdate, nodeId: string, role: NodeRole, term: number): void {
  const lease = records.lease(nodeId);
  if (lease === undefined || lease.role !== role) return;
  if (role === 'leader' && (lease.term !== term || (records.newestTerm()?.term ?? 0) > term)) return;
  records.removeLease(nodeId);
}

/** The completion records live leases name: pruning keeps every one of them. */
export function leasedCheckpoints(leases: readonly LeaseRecord[], now: number): number[] {
  const held = new Set<number>();
  for (const lease of leases) if (isLive(lease, now)) for (const lsn of lease.checkpoints) held.add(lsn);
  return [...held].sort((a, b) => a - b);
}

/** The error a fenced leader's writes fail with, naming both terms. */
export function fencedError(term: number, fencedBy: TermRecord | undefined, path: string): PageLogError {
  const by = fencedBy === undefined
    ? 'a newer term'
    : `term ${fencedBy.term} (node ${fencedBy.nodeId}, since ${new Date(fencedBy.startedAt).toISOString()})`;
  return new PageLogError(
    `this node's term ${term} was fenced by ${by}: it is no longer the page log's writer, and its writes are refused`,
    { file: path, expected: fencedBy?.term ?? term + 1, actual: term },
    ErrorCode.Fenced,
  );
}

/** The error a claim at open fails with while another leader's lease is live. */
export function leaderActiveError(holder: { term: TermRecord; lease: LeaseRecord }, path: string, now: number): PageLogError {
  const where = holder.lease.address === '' ? `pid ${holder.lease.pid}` : `${holder.lease.address}, pid ${holder.lease.pid}`;
  return new PageLogError(
    `another leader holds the page log: node ${holder.term.nodeId} (${where}) in term ${holder.term.term}, its lease live for ${holder.lease.expiresAt - now} ms more; ` +
    'start this node as a follower, or step it up (a step-up fences the leader by a new term)',
    { file: path, actual: holder.term.term },
    ErrorCode.LeaderActive,
  );
}
