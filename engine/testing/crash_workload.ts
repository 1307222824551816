/**
 * The process the crash test kills with SIGKILL. Usage:
 * `node crash_workload.js HOME local|disagg SEED`.
 *
 * It opens the home (recovering whatever the last kill left), loads the tables' contents as its
 * model, and prints `{"ready":...}` with their digest. Then it runs a seeded random workload
 * forever: inserts, updates, removes, transactions that commit or roll back, some with commit
 * timestamps, reads checked against its model, and checkpoints, some with more operations
 * while they wait for the disk. Before each checkpoint it prints `{"begin":n,"digest":...}` with
 * the digest of the state that checkpoint must hold (as of the stable timestamp), and after it
 * resolves `{"completed":n}`. A reopen after a kill must find the state of the last completed
 * checkpoint, or of the one begun after it.
 */
import type { Connection, Cursor, Session, StorageMode } from '../api.js';
import { EngineError, ErrorCode } from '../errors.js';
import { openConnection } from '../index.js';
import { CRASH_TABLES, cloneState, digestState, readState, type TablesState, type WorkloadMessage } from './crash_model.js';
import { seededRandom, type Random } from './random.js';

const KEY_SPACE = 4_000;

function say(message: WorkloadMessage): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

interface Write {
  uri: string;
  key: string;
  value: string | null;
}

/** The workload's picture of the data: newest, and as of the stable timestamp. */
class Model {
  latest: TablesState;
  stable: TablesState;
  /** Timestamped commits not yet at or below the stable timestamp, oldest first. */
  private pending: Array<{ ts: bigint; writes: Write[] }> = [];

  constructor(initial: TablesState) {
    this.latest = cloneState(initial);
    this.stable = cloneState(initial);
  }

  /** A commit: untimestamped writes are part of every checkpoint at once. */
  commit(writes: Write[], ts: bigint | undefined): void {
    for (const w of writes) apply(this.latest, w);
    if (ts === undefined) for (const w of writes) apply(this.stable, w);
    else this.pending.push({ ts, writes });
  }

  advanceStable(stable: bigint): void {
    while (this.pending.length > 0 && this.pending[0]!.ts <= stable) {
      for (const w of this.pending.shift()!.writes) apply(this.stable, w);
    }
  }

  get hasPending(): boolean {
    return this.pending.length > 0;
  }
}

function apply(state: TablesState, w: Write): void {
  if (w.value === null) state[w.uri]!.delete(w.key);
  else state[w.uri]!.set(w.key, w.value);
}

function valueFor(random: Random, step: number): string {
  return `v${step}-${'abcdefghijklmnopqrstuvwxyz'.slice(0, random.below(26))}`.padEnd(8 + random.below(300), '.');
}

/** One random write through `cursor`, reflected in `writes`; the model says what exists. */
function randomWrite(random: Random, cursor: Cursor, uri: string, view: Map<string, string>, writes: Write[], step: number): void {
  const key = `k${String(random.below(KEY_SPACE)).padStart(6, '0')}`;
  const exists = view.has(key);
  const choice = random.next();
  if (choice < 0.35) {
    const value = valueFor(random, step);
    try {
      cursor.insert(key, value);
      if (exists) throw new Error(`insert of existing ${uri} ${key} succeeded`);
      writes.push({ uri, key, value });
      view.set(key, value);
    } catch (error) {
      if (!(error instanceof EngineError && error.code === ErrorCode.AlreadyExists && exists)) throw error;
    }
  } else if (choice < 0.7) {
    const value = valueFor(random, step);
    cursor.put(key, value);
    writes.push({ uri, key, value });
    view.set(key, value);
  } else {
    const removed = cursor.remove(key);
    if (removed !== exists) throw new Error(`remove of ${uri} ${key} returned ${removed}, the model says ${exists}`);
    if (removed) {
      writes.push({ uri, key, value: null });
      view.delete(key);
    }
  }
}

/** Compares a few point reads and a random range scan (either direction) with the model. */
function checkReads(random: Random, session: Session, uri: string, expected: Map<string, string>): void {
  const cursor = session.openCursor(uri);
  for (let n = 0; n < 5; n++) {
    const key = `k${String(random.below(KEY_SPACE)).padStart(6, '0')}`;
    const found = cursor.get(key);
    if (found !== expected.get(key)) throw new Error(`get ${uri} ${key} returned ${String(found)}, the model has ${String(expected.get(key))}`);
  }
  const low = `k${String(random.below(KEY_SPACE)).padStart(6, '0')}`;
  const high = `k${String(random.below(KEY_SPACE)).padStart(6, '0')}`;
  const reverse = random.next() < 0.5;
  const scanned = [...cursor.entries({ gte: low, lt: high, reverse })].map(([k, v]) => `${k as string}=${v as string}`);
  const wanted = [...expected].filter(([k]) => k >= low && k < high).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${v}`);
  if (reverse) wanted.reverse();
  if (scanned.join('\n') !== wanted.join('\n')) {
    throw new Error(`scan of ${uri} [${low}, ${high}) ${reverse ? 'in reverse ' : ''}returned ${scanned.length} records, the model has ${wanted.length}`);
  }
  cursor.close();
}

async function main(): Promise<void> {
  const [home, mode, seedText] = process.argv.slice(2);
  if (home === undefined || (mode !== 'local' && mode !== 'disagg') || seedText === undefined) {
    throw new Error('usage: crash_workload HOME local|disagg SEED');
  }
  const random = seededRandom(Number(seedText));
  const connection: Connection = await openConnection(home, { storage: mode as StorageMode });
  for (const uri of CRASH_TABLES) {
    if (!connection.hasTable(uri)) {
      // In disaggregated mode the second table is local: a checkpoint must pair both.
      connection.createTable(uri, 'key_format=S,value_format=S', mode === 'disagg' && uri === CRASH_TABLES[1] ? { shared: false } : {});
    }
  }
  await connection.checkpoint();
  const model = new Model(readState(connection));
  const recovered = digestState(model.latest);
  say({ ready: true, ...recovered, stable: String(connection.stableTimestamp) });

  const session: Session = connection.openSession();
  const cursors = Object.fromEntries(CRASH_TABLES.map((uri) => [uri, session.openCursor(uri)]));
  // Commit timestamps continue above anything a previous run may have used.
  let ts = connection.stableTimestamp + 1_000n;
  let checkpointNumber = 0;
  const timestamped = random.next() < 0.5;
  // A timestamped run sets a stable timestamp before its first commit, as a replica set does:
  // checkpoints then hold what is stable, never a commit above it.
  if (timestamped && connection.stableTimestamp === 0n) connection.setTimestamps({ stable: ts, oldest: ts });
  /** One random operation other than a checkpoint. */
  const operate = (step: number): void => {
    const choice = random.next();
    const uri = random.pick(CRASH_TABLES);
    if (choice < 0.57) {
      // A single write (in timestamped runs, a one-write transaction with a commit timestamp).
      const writes: Write[] = [];
      if (timestamped) {
        session.beginTransaction();
        randomWrite(random, cursors[uri]!, uri, new Map(model.latest[uri]), writes, step);
        ts += 1n;
        session.commitTransaction({ commitTimestamp: ts });
        model.commit(writes, ts);
      } else {
        randomWrite(random, cursors[uri]!, uri, new Map(model.latest[uri]), writes, step);
        model.commit(writes, undefined);
      }
    } else if (choice < 0.93) {
      // A transaction over both tables that commits or rolls back.
      session.beginTransaction();
      const writes: Write[] = [];
      const views = Object.fromEntries(CRASH_TABLES.map((u) => [u, new Map(model.latest[u])]));
      const count = 1 + random.below(40);
      for (let n = 0; n < count; n++) {
        const target = random.pick(CRASH_TABLES);
        randomWrite(random, cursors[target]!, target, views[target]!, writes, step);
      }
      if (random.next() < 0.2) {
        session.rollbackTransaction();
      } else if (timestamped) {
        ts += 1n;
        session.commitTransaction({ commitTimestamp: ts });
        model.commit(writes, ts);
      } else {
        session.commitTransaction();
        model.commit(writes, undefined);
      }
    } else if (choice < 0.96) {
      // Reads must agree with the model while the workload runs, not only after a reopen.
      checkReads(random, session, uri, model.latest[uri]!);
    } else if (timestamped) {
      // Stable trails the newest commit a little; oldest trails stable.
      const stable = ts - BigInt(random.below(4));
      if (stable > connection.stableTimestamp) {
        const oldest = stable - BigInt(random.below(3));
        connection.setTimestamps({ stable, oldest: oldest > connection.oldestTimestamp ? oldest : connection.oldestTimestamp });
        model.advanceStable(stable);
      }
    }
  };

  for (let step = 0; ; step++) {
    if (random.next() < 0.96) {
      operate(step);
    } else {
      checkpointNumber++;
      // Without a stable timestamp a checkpoint holds every commit, timestamped or not, as
      // WiredTiger's does.
      const expected = digestState(connection.stableTimestamp === 0n ? model.latest : model.stable);
      say({ begin: checkpointNumber, ...expected, stable: String(connection.stableTimestamp) });
      const running = connection.checkpoint();
      if (random.next() < 0.5) {
        // Keep working while the checkpoint waits for the disk, as a server does. By the time
        // the event loop turns, the checkpoint has written its tables (one synchronous step):
        // these operations belong to the next checkpoint.
        await new Promise((resolve) => setImmediate(resolve));
        const more = random.below(20);
        for (let n = 0; n < more; n++) operate(step);
      }
      const info = await running;
      say({ completed: checkpointNumber, id: info.id });
    }
    // Let the page log's background commits run, as they would under a server.
    if (step % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
}

main().catch((error: unknown) => {
  say({ failed: String((error as Error)?.stack ?? error) });
  process.exit(3);
});
