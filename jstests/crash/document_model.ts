/**
 * What the crash loop knows about its documents: for each `_id`, the oldest state a restart may
 * show (guaranteed by an acknowledged checkpoint) and the newest it may show (the last write
 * sent, acknowledged or not). Writes only move a document forward (insert as version 1, updates
 * to higher versions, a delete last), so a state is a number: 0 "never written", a version, or
 * `deletedState`. After a restart every document must lie between its two bounds.
 */

/** The state of a deleted document: after every version. */
export const deletedState = Number.POSITIVE_INFINITY;

/** A document as the crash loop writes it: its content follows from `_id` and `version`. */
export interface CrashDocument {
  _id: number;
  version: number;
  /** `_id:version`, so a document moved to another `_id` would show. */
  tag: string;
  payload: string;
}

/** The content of document `id` at `version`: sizes from a few bytes to about 1.5 KB. */
export function documentFor(id: number, version: number): CrashDocument {
  const unit = `${id}.${version}|`;
  const length = (id * 7919 + version * 104_729) % 1500;
  return { _id: id, version, tag: `${id}:${version}`, payload: unit.repeat(Math.ceil(length / unit.length)).slice(0, length) };
}

interface Bounds {
  /** Which of the loop's collections holds it. */
  collection: number;
  /** The oldest state a restart may show: 0 (may be missing), a version, or deleted. */
  floor: number;
  /** The newest state a restart may show. */
  ceiling: number;
}

/** A document that is not where its bounds say it must be. */
export interface ModelViolation {
  kind: 'lost' | 'stale' | 'resurrected' | 'phantom' | 'ahead' | 'content' | 'misplaced';
  id: number;
  expected: string;
  actual: string;
}

/** What a restart showed compared with the model. */
export interface ModelCheck {
  violations: ModelViolation[];
  /** Documents checked (present or required). */
  checked: number;
  /** Unacknowledged writes a restart kept (an insert, update or delete past the floor). */
  unacknowledgedKept: number;
  /** Unacknowledged writes a restart did not keep (allowed: no checkpoint held them). */
  unacknowledgedDropped: number;
}

/** A document read back: `_id`, version and the collection it was found in. */
export interface ObservedDocument {
  id: number;
  version: number;
  collection: number;
}

export class DocumentModel {
  private readonly bounds = new Map<number, Bounds>();
  /** Ids that exist (inserted and not deleted), for picking update and delete targets. */
  private readonly live: number[] = [];
  private readonly livePosition = new Map<number, number>();
  /** Writes acknowledged by the server since the last restart, in order. */
  private readonly acknowledged: { id: number; state: number }[] = [];
  /** How much of `acknowledged` a successful checkpoint has confirmed. */
  private confirmed = 0;
  /** Ids written since the last check: their contents are read back in full. */
  private readonly touched = new Set<number>();
  private nextId = 1;
  /** Documents whose insert a checkpoint confirmed, over the whole loop. */
  acknowledgedDocuments = 0;

  /** A fresh `_id`. */
  newId(): number {
    return this.nextId++;
  }

  get liveCount(): number {
    return this.live.length;
  }

  /** A random existing document whose last write was acknowledged, or undefined. */
  pickLive(draw: (bound: number) => number): number | undefined {
    return this.live.length === 0 ? undefined : this.live[draw(this.live.length)];
  }

  /** The newest state of `id` (its version, or `deletedState`). */
  newest(id: number): number {
    return this.bounds.get(id)?.ceiling ?? 0;
  }

  collectionOf(id: number): number {
    const entry = this.bounds.get(id);
    if (entry === undefined) throw new Error(`document ${id} is not in the model`);
    return entry.collection;
  }

  /** Before sending a write that moves `id` to `state`: from now on a restart may show it. */
  writeSent(id: number, collection: number, state: number): void {
    const entry = this.bounds.get(id);
    if (entry === undefined) this.bounds.set(id, { collection, floor: 0, ceiling: state });
    else entry.ceiling = Math.max(entry.ceiling, state);
    this.touched.add(id);
    if (state === deletedState) this.removeLive(id);
  }

  /** The server acknowledged the write: the next checkpoint that starts after this holds it. */
  writeAcknowledged(id: number, state: number): void {
    this.acknowledged.push({ id, state });
    if (state === 1) this.addLive(id);
  }

  /** Call as a checkpoint request is sent; pass the mark to `checkpointAcknowledged`. */
  checkpointSent(): number {
    return this.acknowledged.length;
  }

  /** A checkpoint sent at `mark` succeeded: every write acknowledged before it is durable. */
  checkpointAcknowledged(mark: number): void {
    for (let index = this.confirmed; index < mark; index++) {
      const { id, state } = this.acknowledged[index]!;
      const entry = this.bounds.get(id)!;
      if (entry.floor === 0 && state !== deletedState) this.acknowledgedDocuments += 1;
      entry.floor = Math.max(entry.floor, state);
    }
    this.confirmed = Math.max(this.confirmed, mark);
  }

  /** Ids written since the last check. */
  touchedIds(): number[] {
    return [...this.touched];
  }

  /** Every id the model holds (present or possibly present). */
  ids(): number[] {
    return [...this.bounds.keys()];
  }

  /**
   * Compares what a restart shows (every document of the loop's collections) with the bounds,
   * then takes it as the new truth: what a restart shows came from a completed checkpoint, so
   * it is durable, and writes it does not show are gone for good.
   */
  checkAndSettle(observed: Iterable<ObservedDocument>): ModelCheck {
    const violations: ModelViolation[] = [];
    const seen = new Map<number, ObservedDocument>();
    for (const document of observed) {
      if (seen.has(document.id)) {
        violations.push({ kind: 'phantom', id: document.id, expected: 'one copy', actual: `a second copy in collection ${document.collection}` });
        continue;
      }
      seen.set(document.id, document);
    }
    let unacknowledgedKept = 0;
    let unacknowledgedDropped = 0;
    for (const [id, document] of seen) {
      const entry = this.bounds.get(id);
      if (entry === undefined) {
        violations.push({ kind: 'phantom', id, expected: 'no document (never written, or deleted by an acknowledged checkpoint)', actual: `version ${document.version}` });
        continue;
      }
      if (document.collection !== entry.collection) {
        violations.push({ kind: 'misplaced', id, expected: `collection ${entry.collection}`, actual: `collection ${document.collection}` });
      }
      if (entry.floor === deletedState) {
        violations.push({ kind: 'resurrected', id, expected: 'deleted (acknowledged by a checkpoint)', actual: `version ${document.version}` });
      } else if (document.version < entry.floor) {
        violations.push({ kind: 'stale', id, expected: `version ${entry.floor} or later`, actual: `version ${document.version}` });
      } else if (document.version > entry.ceiling) {
        violations.push({ kind: 'ahead', id, expected: `version ${entry.ceiling} at most`, actual: `version ${document.version}` });
      } else if (document.version > entry.floor) {
        unacknowledgedKept += 1;
      }
    }
    for (const [id, entry] of this.bounds) {
      if (seen.has(id)) continue;
      if (entry.ceiling === deletedState) {
        // A delete was sent: missing is right, and past the floor it was an unacknowledged write kept.
        if (entry.floor !== deletedState) unacknowledgedKept += 1;
      } else if (entry.floor >= 1) {
        violations.push({ kind: 'lost', id, expected: `version ${entry.floor} (acknowledged by a checkpoint)`, actual: 'missing' });
      } else {
        unacknowledgedDropped += 1;
      }
    }
    const checked = new Set([...seen.keys(), ...this.bounds.keys()]).size;
    this.settle(seen);
    return { violations, checked, unacknowledgedKept, unacknowledgedDropped };
  }

  private settle(seen: Map<number, ObservedDocument>): void {
    for (const [id, entry] of [...this.bounds]) {
      const document = seen.get(id);
      if (document === undefined) {
        this.bounds.delete(id);
        this.removeLive(id);
        continue;
      }
      entry.floor = document.version;
      entry.ceiling = document.version;
      this.addLive(id);
    }
    this.acknowledged.length = 0;
    this.confirmed = 0;
    this.touched.clear();
  }

  private addLive(id: number): void {
    if (this.livePosition.has(id)) return;
    this.livePosition.set(id, this.live.length);
    this.live.push(id);
  }

  private removeLive(id: number): void {
    const position = this.livePosition.get(id);
    if (position === undefined) return;
    const last = this.live.pop()!;
    if (last !== id) {
      this.live[position] = last;
      this.livePosition.set(last, position);
    }
    this.livePosition.delete(id);
  }
}
