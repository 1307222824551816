import { MongoClient, type Db, type Document, type WriteConcernSettings } from 'mongodb';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { closeClientBounded } from '../libs/driver_clients.js';
import { ShimProcess, runReadPath, waitForPickUp, type ShimOptions } from '../libs/index.js';
import type { SuiteReport } from '../libs/report.js';
import { seededRandomFrom, type SeededRandom } from '../libs/seeded_random.js';
import { deletedState, documentFor, DocumentModel, type CrashDocument, type ModelViolation, type ObservedDocument } from './document_model.js';
import { probeStartupModes, runStartupModeKilled, type StartupModeAvailability } from './startup_modes.js';

/**
 * The crash loop: start mongod-shim on one home, write (inserts, updates, deletes), take
 * checkpoints (`fsync`), rotate the key-provider key, run repair commands and start-up modes
 * where the server has them, SIGKILL the server at a random moment, check the crashed home with
 * `wt-readpath verify`, restart, and check that every write acknowledged by a successful
 * checkpoint is there. With followers (`followers: N`), N follower processes share the
 * leader's page log for the whole run: after every restart of the leader each one must pick up
 * its newest checkpoint and read exactly what the leader reads; one of them is SIGKILLed in some
 * rounds (while it pins a checkpoint) and restarted, and its home must verify too. One
 * implementation for the mocha scenario (a few rounds) and `npm run crash -- --rounds N`
 * (`crash_loop_main.ts`).
 */

/** Where in a round the server is killed. */
export type KillMoment = 'workload' | 'checkpoint' | 'startup' | 'shutdown' | 'repairCommand' | 'repairMode' | 'magicRestore';

export interface CrashLoopOptions {
  rounds: number;
  seed: number;
  /** `disagg` (default: with the example key provider and key rotations) or `local`. */
  storage?: 'disagg' | 'local';
  /** Progress lines (one per round); silent when absent. */
  progress?: (line: string) => void;
  /** Keep the run directory even when every round passed. */
  keepHome?: boolean;
  /** Follower processes on the leader's page log (disaggregated storage only; default 0). */
  followers?: number;
}

/** One thing that went wrong, with where to look. */
export interface CrashFailure {
  round: number;
  kind: 'start' | 'data' | 'verify' | 'operation' | 'exited' | 'status' | 'stop' | 'follower';
  message: string;
}

export interface CrashLoopResult {
  passed: boolean;
  failures: CrashFailure[];
  report: SuiteReport;
  /** The run directory (dbpath and one log per start), when kept. */
  keptDirectory: string | undefined;
}

/** The collections the loop writes, as `crash.c0`...: a document stays in its collection. */
const collectionCount = 3;
const databaseName = 'crash';
/** The write concerns that wait for the journal fsync. */
const journaledWriteConcerns: WriteConcernSettings[] = [{ journal: true }, { w: 'majority' }, { fsync: true } as WriteConcernSettings];

/** Counters that become the report's figures. */
interface Tally {
  roundsRun: number;
  kills: Record<KillMoment, number>;
  writesAcknowledged: number;
  /** Writes acknowledged with `j: true`, `w: 'majority'` or `fsync: true`: durable at once. */
  writesJournaled: number;
  checkpointsAcknowledged: number;
  keyRotationsAcknowledged: number;
  repairCommandsAcknowledged: number;
  startupModesCompleted: number;
  documentsLost: number;
  otherViolations: number;
  unacknowledgedWritesKept: number;
  unacknowledgedWritesDropped: number;
  documentsChecked: number;
  contentsCompared: number;
  verifyRuns: number;
  startsAfterCrash: number;
  startMillisecondsTotal: number;
  followerChecks: number;
  followerKills: number;
  followerDocumentsCompared: number;
}

/** What the loop has been acknowledged beyond documents: these never go backwards after a crash. */
interface DurableFloors {
  checkpointId: number;
  keyVersion: number;
}

/** Stops the workload of a round: set just before the kill, so errors after it are expected. */
interface Halt {
  stopped: boolean;
  controller: AbortController;
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function describeViolation(violation: ModelViolation): string {
  return `${violation.kind} _id ${violation.id}: expected ${violation.expected}, found ${violation.actual}`;
}

class CrashLoop {
  private readonly random: SeededRandom;
  private readonly model = new DocumentModel();
  private readonly failures: CrashFailure[] = [];
  private readonly floors: DurableFloors = { checkpointId: 0, keyVersion: 0 };
  private readonly shim: ShimProcess;
  private readonly storage: 'disagg' | 'local';
  private availability: StartupModeAvailability = { repairMode: false, magicRestore: false };
  private repairCommandAvailable = false;
  private repairTablesCreated = 0;
  /** Followers of the leader's page log, made once the leader's dbpath exists. */
  private followers: ShimProcess[] = [];
  private readonly tally: Tally = {
    roundsRun: 0,
    kills: { workload: 0, checkpoint: 0, startup: 0, shutdown: 0, repairCommand: 0, repairMode: 0, magicRestore: 0 },
    writesAcknowledged: 0,
    writesJournaled: 0,
    checkpointsAcknowledged: 0,
    keyRotationsAcknowledged: 0,
    repairCommandsAcknowledged: 0,
    startupModesCompleted: 0,
    documentsLost: 0,
    otherViolations: 0,
    unacknowledgedWritesKept: 0,
    unacknowledgedWritesDropped: 0,
    documentsChecked: 0,
    contentsCompared: 0,
    verifyRuns: 0,
    startsAfterCrash: 0,
    startMillisecondsTotal: 0,
    followerChecks: 0,
    followerKills: 0,
    followerDocumentsCompared: 0,
  };

  constructor(private readonly options: CrashLoopOptions) {
    this.random = seededRandomFrom(options.seed);
    this.storage = options.storage ?? 'disagg';
    if ((options.followers ?? 0) > 0 && this.storage !== 'disagg') throw new Error('followers need disaggregated storage');
    const shimOptions: ShimOptions = {
      storage: this.storage,
      replSet: 'rs0',
      setParameters: { enableTestCommands: 1, enableRepairCommands: 1 },
      startTimeoutMs: 60_000,
    };
    if (this.storage === 'disagg') shimOptions.keyProvider = 'example';
    this.shim = new ShimProcess(shimOptions);
  }

  private progress(line: string): void {
    this.options.progress?.(line);
  }

  private fail(round: number, kind: CrashFailure['kind'], message: string): void {
    this.failures.push({ round, kind, message });
    this.progress(`round ${round}: FAILED (${kind}) ${message.split('\n')[0]}`);
  }

  async run(): Promise<CrashLoopResult> {
    const started = Date.now();
    const startedAt = new Date(started).toISOString();
    let keptDirectory: string | undefined;
    try {
      this.availability = await probeStartupModes();
      for (let round = 1; round <= this.options.rounds && this.failures.length === 0; round++) {
        await this.round(round);
        this.tally.roundsRun = round;
      }
      if (this.failures.length === 0) await this.finish(this.options.rounds + 1);
    } catch (error) {
      this.fail(this.tally.roundsRun + 1, 'operation', `the loop itself failed: ${(error as Error)?.stack ?? errorText(error)}`);
    } finally {
      const keep = this.failures.length > 0 || this.options.keepHome === true;
      for (const follower of this.followers) await follower.cleanup({ keep });
      keptDirectory = await this.shim.cleanup({ keep });
    }
    const passed = this.failures.length === 0;
    return { passed, failures: this.failures, keptDirectory, report: this.report(passed, startedAt, Date.now() - started, keptDirectory) };
  }

  /** The moments a round may kill at: start-up modes and repair commands once the server has them. */
  private chooseMoment(round: number): KillMoment {
    const choices: [number, KillMoment][] = [
      [8, 'workload'],
      [3, 'checkpoint'],
      [2, 'shutdown'],
    ];
    // The first round creates the home, so there is no start-up to interrupt yet.
    if (round > 1) choices.push([2, 'startup']);
    if (this.repairCommandAvailable) choices.push([2, 'repairCommand']);
    if (round > 1 && this.availability.repairMode) choices.push([1, 'repairMode']);
    if (round > 1 && this.availability.magicRestore) choices.push([1, 'magicRestore']);
    return this.random.weighted(choices);
  }

  private async round(round: number): Promise<void> {
    const moment = this.chooseMoment(round);
    this.tally.kills[moment] += 1;
    let detail: string;
    if (moment === 'startup') {
      detail = await this.killDuringStartup();
    } else if (moment === 'repairMode' || moment === 'magicRestore') {
      detail = await this.killStartupMode(round, moment);
    } else {
      if (!(await this.startAndCheck(round))) return;
      detail = await this.workloadThenKill(round, moment);
    }
    if (this.failures.length > 0) return;
    await this.verifyStoppedHome(round, 'after the kill');
    this.progress(`round ${round}/${this.options.rounds}: killed ${detail}; ${this.model.acknowledgedDocuments} documents acknowledged so far, ${this.tally.documentsLost} lost`);
  }

  /** After the last round: start, check, stop cleanly, verify. */
  private async finish(round: number): Promise<void> {
    if (!(await this.startAndCheck(round))) return;
    try {
      for (const follower of this.followers) if (follower.state === 'running') await follower.stop();
      await this.shim.stop();
    } catch (error) {
      this.fail(round, 'stop', errorText(error));
      return;
    }
    await this.verifyStoppedHome(round, 'after the final clean stop');
    for (const follower of this.followers) await this.verifyFollowerHome(round, follower, 'after the final clean stop');
  }

  /** Starts the server on the home (a restart after a crash from round 2 on) and checks the data. */
  private async startAndCheck(round: number): Promise<boolean> {
    const before = Date.now();
    try {
      await this.shim.start();
    } catch (error) {
      this.fail(round, 'start', `the server did not start on the crashed home: ${errorText(error)}`);
      return false;
    }
    if (round > 1) {
      this.tally.startsAfterCrash += 1;
      this.tally.startMillisecondsTotal += Date.now() - before;
    }
    const client = await this.connect();
    try {
      await this.checkDocuments(round, client.db(databaseName));
      await this.checkStatus(round, client.db('admin'));
      if (round === 1) await this.probeRepairCommand(client.db('admin'));
      if (this.failures.length === 0 && (this.options.followers ?? 0) > 0) await this.checkFollowers(round, client);
    } catch (error) {
      this.fail(round, 'operation', `reading the data back failed: ${errorText(error)}`);
    } finally {
      await closeClientBounded(client);
    }
    return this.failures.length === 0;
  }

  /**
   * Every follower (started, or restarted after a kill) picks up the checkpoint the leader takes
   * now, and reads exactly what the leader reads.
   */
  private async checkFollowers(round: number, leader: MongoClient): Promise<void> {
    const mark = this.model.checkpointSent();
    const checkpointId = String((await leader.db('admin').command({ fsync: 1 })).checkpointId);
    this.model.checkpointAcknowledged(mark);
    this.floors.checkpointId = Math.max(this.floors.checkpointId, Number(checkpointId));
    const expected = await everyDocument(leader.db(databaseName));
    if (this.followers.length === 0) {
      const pageLog = join(this.shim.dbpath, 'pagelog');
      this.followers = Array.from({ length: this.options.followers ?? 0 }, () => new ShimProcess({
        disaggRole: 'follower', pageLog, replSet: 'rs0', keyProvider: 'example', startTimeoutMs: 60_000,
        setParameters: { disaggPickUpIntervalMs: 100, disaggLeaseMs: 2_000 },
      }));
    }
    for (const [index, follower] of this.followers.entries()) {
      if (follower.state !== 'running') {
        try {
          await follower.start();
        } catch (error) {
          this.fail(round, 'follower', `follower ${index} did not start: ${errorText(error)}`);
          return;
        }
      }
      const client = new MongoClient(follower.uri, { serverSelectionTimeoutMS: 5_000, retryReads: false, maxPoolSize: 2 });
      try {
        await client.connect();
        await waitForPickUp(client, checkpointId, 30_000);
        const served = await everyDocument(client.db(databaseName));
        this.tally.followerChecks += 1;
        this.tally.followerDocumentsCompared += served.length;
        if (JSON.stringify(served) !== JSON.stringify(expected)) {
          this.fail(round, 'follower', `follower ${index} at checkpoint ${checkpointId} serves ${served.length} documents, the leader ${expected.length}, or their contents differ`);
        }
      } catch (error) {
        this.fail(round, 'follower', `follower ${index} failed its check at checkpoint ${checkpointId}: ${errorText(error)}`);
      } finally {
        await closeClientBounded(client);
      }
    }
  }

  /** In some rounds, SIGKILL a follower part-way through the workload (it holds a checkpoint then). */
  private async maybeKillFollower(halt: Halt): Promise<ShimProcess | undefined> {
    const running = this.followers.filter((follower) => follower.state === 'running');
    if (running.length === 0 || !this.random.chance(1 / 3)) return undefined;
    const victim = running[this.random.below(running.length)]!;
    await sleep(this.random.between(50, 1500));
    if (halt.stopped || victim.state !== 'running') return undefined;
    await victim.kill();
    this.tally.followerKills += 1;
    return victim;
  }

  /** `wt-readpath verify` on a stopped (or killed) follower's home, with the shared log. */
  private async verifyFollowerHome(round: number, follower: ShimProcess, when: string): Promise<void> {
    this.tally.verifyRuns += 1;
    const verify = await runReadPath(['verify', follower.dbpath, '--page-log', join(this.shim.dbpath, 'pagelog')], { timeoutMs: 300_000 });
    if (verify.exitCode !== 0) {
      this.fail(round, 'verify', `wt-readpath verify of a follower's home exited ${verify.exitCode} ${when}:\n${(verify.stdout + verify.stderr).slice(0, 4000)}`);
    }
  }

  private async connect(): Promise<MongoClient> {
    // No retries: a write whose reply was lost in the kill stays unknown, as the model expects.
    const client = new MongoClient(this.shim.uri, { serverSelectionTimeoutMS: 5_000, retryWrites: false, retryReads: false, maxPoolSize: 4 });
    await client.connect();
    return client;
  }

  private async checkDocuments(round: number, db: Db): Promise<void> {
    const observed: ObservedDocument[] = [];
    const foreign: string[] = [];
    for (let collection = 0; collection < collectionCount; collection++) {
      const cursor = db.collection(`c${collection}`).find({}, { projection: { version: 1 }, batchSize: 5000 });
      for await (const document of cursor) {
        if (typeof document._id !== 'number' || typeof document.version !== 'number') foreign.push(JSON.stringify(document));
        else observed.push({ id: document._id, version: document.version, collection });
      }
    }
    // Contents: every document written since the last check, and a sample of the others.
    const compare = new Set(this.model.touchedIds());
    const everyId = this.model.ids();
    for (let sample = 0; sample < 100 && everyId.length > 0; sample++) compare.add(everyId[this.random.below(everyId.length)]!);
    const check = this.model.checkAndSettle(observed);
    const violations = [...check.violations];
    for (const text of foreign) violations.push({ kind: 'phantom', id: -1, expected: 'documents written by the loop', actual: text });
    const versions = new Map(observed.map((document) => [document.id, document]));
    const byCollection = new Map<number, number[]>();
    for (const id of compare) {
      const document = versions.get(id);
      if (document === undefined) continue;
      byCollection.set(document.collection, [...(byCollection.get(document.collection) ?? []), id]);
    }
    for (const [collection, ids] of byCollection) {
      const documents = await db.collection<CrashDocument>(`c${collection}`).find({ _id: { $in: ids } }).toArray();
      for (const document of documents) {
        this.tally.contentsCompared += 1;
        const expected = documentFor(document._id, document.version);
        if (JSON.stringify(document) !== JSON.stringify(expected)) {
          violations.push({ kind: 'content', id: document._id, expected: JSON.stringify(expected).slice(0, 200), actual: JSON.stringify(document).slice(0, 200) });
        }
      }
    }
    this.tally.documentsChecked += check.checked;
    this.tally.unacknowledgedWritesKept += check.unacknowledgedKept;
    this.tally.unacknowledgedWritesDropped += check.unacknowledgedDropped;
    const lost = violations.filter((violation) => violation.kind === 'lost').length;
    this.tally.documentsLost += lost;
    this.tally.otherViolations += violations.length - lost;
    if (violations.length > 0) {
      const shown = violations.slice(0, 20).map(describeViolation).join('\n  ');
      this.fail(round, 'data', `${violations.length} document(s) differ from what the acknowledged checkpoints hold (${lost} lost):\n  ${shown}`);
    }
  }

  /** The checkpoint identity and the key version never go back behind acknowledged ones. */
  private async checkStatus(round: number, admin: Db): Promise<void> {
    const status = await admin.command({ serverStatus: 1 });
    const checkpointId = Number(status.disagg?.lastCheckpoint?.id ?? 0);
    if (checkpointId < this.floors.checkpointId) {
      this.fail(round, 'status', `the last checkpoint is ${checkpointId}, older than checkpoint ${this.floors.checkpointId} acknowledged by fsync`);
    }
    const keyVersion = Number(status.disagg?.keyProvider?.keyVersion ?? 0);
    if (keyVersion < this.floors.keyVersion) {
      this.fail(round, 'status', `the key version is ${keyVersion}, older than version ${this.floors.keyVersion} acknowledged by rotateKey`);
    }
    this.floors.checkpointId = Math.max(this.floors.checkpointId, checkpointId);
    this.floors.keyVersion = Math.max(this.floors.keyVersion, keyVersion);
  }

  /** The repair command is a crash point once the server has it (not CommandNotFound). */
  private async probeRepairCommand(admin: Db): Promise<void> {
    try {
      await admin.command({ repairMetadata: 1, action: 'detect' });
      this.repairCommandAvailable = true;
    } catch (error) {
      this.repairCommandAvailable = (error as { code?: number }).code !== 59;
    }
  }

  /** Runs the writer and the checkpointer, then kills the server at the round's moment. */
  private async workloadThenKill(round: number, moment: KillMoment): Promise<string> {
    await this.setParameterQuietly('checkpointIntervalSecs', this.random.pick([0, 0, 1, 5]));
    const client = await this.connect();
    const halt: Halt = { stopped: false, controller: new AbortController() };
    const budget = this.random.between(20, 300);
    const writer = this.writer(round, client.db(databaseName), halt, budget);
    const checkpointer = this.checkpointer(round, client.db('admin'), halt, moment === 'repairCommand');
    const followerKill = this.maybeKillFollower(halt);
    let detail: string;
    try {
      detail = await this.kill(round, moment, client.db('admin'), halt);
    } finally {
      halt.stopped = true;
      halt.controller.abort();
      await Promise.allSettled([writer, checkpointer]);
      await closeClientBounded(client);
    }
    const killed = await followerKill;
    if (killed !== undefined) {
      await this.verifyFollowerHome(round, killed, 'after it was killed');
      detail += '; a follower was killed too';
    }
    return detail;
  }

  private async setParameterQuietly(name: string, value: number): Promise<void> {
    const client = await this.connect();
    try {
      await client.db('admin').command({ setParameter: 1, [name]: value });
    } finally {
      await closeClientBounded(client);
    }
  }

  /** Waits for the moment, then kills; returns a description of the kill. */
  private async kill(round: number, moment: KillMoment, admin: Db, halt: Halt): Promise<string> {
    const delay = this.random.between(100, 2500);
    await sleep(delay);
    if (this.shim.state !== 'running') {
      this.fail(round, 'exited', `the server exited on its own (exit ${JSON.stringify(this.shim.exit)}); last log lines:\n${this.shim.tail()}`);
      halt.stopped = true;
      return 'nothing: the server had exited';
    }
    switch (moment) {
      case 'checkpoint': {
        // A checkpoint of its own, killed while it runs; acknowledged only if it returns first.
        const mark = this.model.checkpointSent();
        const checkpoint = admin.command({ fsync: 1 }).then(
          () => this.model.checkpointAcknowledged(mark),
          () => undefined,
        );
        const after = this.random.between(0, 40);
        await sleep(after);
        await this.sigkill(halt);
        await checkpoint;
        return `${after} ms into an fsync checkpoint, ${delay} ms into the workload`;
      }
      case 'shutdown': {
        // SIGTERM starts a clean shutdown (its final checkpoint); SIGKILL may land in it.
        halt.stopped = true;
        const mark = this.model.checkpointSent();
        this.shim.signal('SIGTERM');
        const after = this.random.between(0, 150);
        const exit = await Promise.race([this.shim.waitForExit(), sleep(after).then(() => undefined)]);
        if (exit === undefined && this.shim.state === 'running') await this.sigkill(halt);
        else if (exit?.exitCode === 0) this.model.checkpointAcknowledged(mark);
        const finalExit = this.shim.exit;
        return finalExit?.exitCode === 0 ? `never: the clean shutdown finished within ${after} ms` : `${after} ms into a clean shutdown`;
      }
      case 'repairCommand':
      case 'workload':
      default:
        await this.sigkill(halt);
        return `${delay} ms into the workload${moment === 'repairCommand' ? ' with repair commands' : ''}`;
    }
  }

  private async sigkill(halt: Halt): Promise<void> {
    halt.stopped = true;
    if (this.shim.state === 'running') this.shim.signal('SIGKILL');
    await this.shim.waitForExit();
  }

  /** Inserts (up to `budget` documents), updates and deletes, one at a time, until halted. */
  private async writer(round: number, db: Db, halt: Halt, budget: number): Promise<void> {
    let inserted = 0;
    while (!halt.stopped) {
      const canInsert = inserted < budget;
      const operation = this.random.weighted<'insert' | 'update' | 'delete' | 'pause'>([
        [canInsert ? 6 : 0, 'insert'],
        [3, 'update'],
        [1, 'delete'],
        [canInsert ? 0 : 2, 'pause'],
      ]);
      // A third of the writes wait for the journal: once acknowledged, they and every write
      // acknowledged before them must survive any kill, as a completed checkpoint's writes do.
      const writeConcern = this.random.below(3) === 0 ? journaledWriteConcerns[this.random.below(journaledWriteConcerns.length)] : undefined;
      const options = writeConcern === undefined ? {} : { writeConcern };
      const journaled = (): void => {
        if (writeConcern === undefined) return;
        this.model.checkpointAcknowledged(this.model.checkpointSent());
        this.tally.writesJournaled += 1;
      };
      try {
        if (operation === 'insert') {
          const count = this.random.between(1, 20);
          const collection = this.random.below(collectionCount);
          const ids = Array.from({ length: count }, () => this.model.newId());
          for (const id of ids) this.model.writeSent(id, collection, 1);
          await db.collection<CrashDocument>(`c${collection}`).insertMany(ids.map((id) => documentFor(id, 1)), options);
          for (const id of ids) this.model.writeAcknowledged(id, 1);
          journaled();
          inserted += count;
          this.tally.writesAcknowledged += 1;
        } else if (operation === 'update') {
          const id = this.model.pickLive((bound) => this.random.below(bound));
          if (id === undefined) continue;
          const collection = this.model.collectionOf(id);
          const version = this.model.newest(id) + 1;
          this.model.writeSent(id, collection, version);
          const { payload, tag } = documentFor(id, version);
          const result = await db.collection<CrashDocument>(`c${collection}`).updateOne({ _id: id }, { $set: { version, tag, payload } }, options);
          if (result.matchedCount !== 1 && !halt.stopped) throw new Error(`update of _id ${id} matched ${result.matchedCount} documents, not 1`);
          this.model.writeAcknowledged(id, version);
          journaled();
          this.tally.writesAcknowledged += 1;
        } else if (operation === 'delete') {
          const id = this.model.pickLive((bound) => this.random.below(bound));
          if (id === undefined) continue;
          const collection = this.model.collectionOf(id);
          this.model.writeSent(id, collection, deletedState);
          const result = await db.collection<CrashDocument>(`c${collection}`).deleteOne({ _id: id }, options);
          if (result.deletedCount !== 1 && !halt.stopped) throw new Error(`delete of _id ${id} removed ${result.deletedCount} documents, not 1`);
          this.model.writeAcknowledged(id, deletedState);
          journaled();
          this.tally.writesAcknowledged += 1;
        } else {
          await sleep(this.random.between(5, 50), undefined, { signal: halt.controller.signal });
        }
      } catch (error) {
        if (halt.stopped) return;
        this.fail(round, 'operation', `${operation} failed while the server was up: ${errorText(error)}`);
        return;
      }
    }
  }

  /** Checkpoints, key rotations and repair commands at random intervals until halted. */
  private async checkpointer(round: number, admin: Db, halt: Halt, repairs: boolean): Promise<void> {
    const keyProvider = this.storage === 'disagg';
    const createdThisRound: string[] = [];
    while (!halt.stopped) {
      try {
        await sleep(this.random.between(20, 400), undefined, { signal: halt.controller.signal });
      } catch {
        return;
      }
      const action = this.random.weighted<'fsync' | 'rotateWithCheckpoint' | 'rotate' | 'repairDetect' | 'repairCreate' | 'repairModify'>([
        [6, 'fsync'],
        [keyProvider ? 2 : 0, 'rotateWithCheckpoint'],
        [keyProvider ? 1 : 0, 'rotate'],
        [repairs ? 2 : 0, 'repairDetect'],
        [repairs ? 2 : 0, 'repairCreate'],
        [repairs && createdThisRound.length > 0 ? 2 : 0, 'repairModify'],
      ]);
      try {
        if (action === 'fsync' || action === 'rotateWithCheckpoint') {
          const mark = this.model.checkpointSent();
          const reply = action === 'fsync' ? await admin.command({ fsync: 1 }) : await admin.command({ rotateKey: 1, checkpoint: true });
          this.model.checkpointAcknowledged(mark);
          this.tally.checkpointsAcknowledged += 1;
          const checkpointId = Number(action === 'fsync' ? reply.checkpointId : reply.lastCheckpoint?.id);
          if (Number.isFinite(checkpointId)) this.floors.checkpointId = Math.max(this.floors.checkpointId, checkpointId);
          if (action === 'rotateWithCheckpoint') {
            this.tally.keyRotationsAcknowledged += 1;
            this.floors.keyVersion = Math.max(this.floors.keyVersion, Number(reply.keyProvider?.keyVersion ?? 0));
          }
        } else if (action === 'rotate') {
          await admin.command({ rotateKey: 1 });
        } else if (action === 'repairDetect') {
          await admin.command({ repairMetadata: 1, action: 'detect' });
          this.tally.repairCommandsAcknowledged += 1;
        } else if (action === 'repairCreate') {
          // A table created through the repair worker's point-in-time path and its checkpoint.
          // That checkpoint is not counted as acknowledging the documents written around it.
          this.repairTablesCreated += 1;
          const uri = `table:crash_repair_${this.repairTablesCreated}`;
          await admin.command({ repairMetadata: 1, action: 'create', uri, config: 'key_format=u,value_format=u', local: this.random.chance(0.5) });
          createdThisRound.push(uri);
          this.tally.repairCommandsAcknowledged += 1;
        } else {
          // A new file id for a table this run created (so it surely exists), as repair gives
          // the later of two colliding tables. The engine hands out ids above the largest one,
          // so an id drawn far from there is free unless drawn twice: then the refusal is right.
          const uri = createdThisRound[this.random.below(createdThisRound.length)]!;
          const id = this.random.between(1_000_000, 1_000_000_000);
          try {
            await admin.command({ repairMetadata: 1, action: 'modify', uri, set: { id } });
            this.tally.repairCommandsAcknowledged += 1;
          } catch (error) {
            if (halt.stopped || !/is taken/.test(String((error as Error).message))) throw error;
          }
        }
      } catch (error) {
        if (halt.stopped) return;
        this.fail(round, 'operation', `${action} failed while the server was up: ${errorText(error)}`);
        return;
      }
    }
  }

  /** Starts the server and SIGKILLs it before or just after it is ready. */
  private async killDuringStartup(): Promise<string> {
    const starting = this.shim.start().then(
      () => 'ready',
      () => 'not ready',
    );
    // At least a few milliseconds: the harness must have spawned the process to kill it.
    const after = this.random.between(20, 700);
    await sleep(after);
    if (this.shim.state === 'starting' || this.shim.state === 'running') await this.shim.kill();
    const outcome = await starting;
    return `${after} ms into start-up (the server was ${outcome} then)`;
  }

  /** Runs `--repair` or `--magicRestore` on the home and SIGKILLs it part-way. */
  private async killStartupMode(round: number, moment: 'repairMode' | 'magicRestore'): Promise<string> {
    if (moment === 'magicRestore') {
      // Magic restore rolls the home back to its newest checkpoint, and journaled writes may be
      // newer: a start (which replays the journal) and a clean stop (which checkpoints) first,
      // so the restore rolls back no acknowledged write.
      if (!(await this.startAndCheck(round))) return 'nothing: the start before the restore failed';
      try {
        await this.shim.stop();
      } catch (error) {
        this.fail(round, 'stop', errorText(error));
        return 'nothing: the clean stop before the restore failed';
      }
    }
    const after = this.random.between(50, 1500);
    const outcome = await runStartupModeKilled(this.shim.dbpath, moment, this.storage, after);
    if (outcome.completed) this.tally.startupModesCompleted += 1;
    if (outcome.unexpected !== undefined) this.fail(round, 'operation', outcome.unexpected);
    return `${after} ms into ${moment === 'repairMode' ? 'mongod-shim --repair' : 'mongod-shim --magicRestore'} (${outcome.completed ? 'it had already finished' : 'killed mid-way'})`;
  }

  /** `wt-readpath verify` on the stopped (or crashed) home must exit 0. */
  private async verifyStoppedHome(round: number, when: string): Promise<void> {
    this.tally.verifyRuns += 1;
    const verify = await runReadPath(['verify', this.shim.dbpath], { timeoutMs: 300_000 });
    if (verify.exitCode !== 0) {
      this.fail(round, 'verify', `wt-readpath verify exited ${verify.exitCode} ${when}:\n${(verify.stdout + verify.stderr).slice(0, 4000)}`);
    }
  }

  private report(passed: boolean, startedAt: string, durationMs: number, keptDirectory: string | undefined): SuiteReport {
    const tally = this.tally;
    return {
      suite: 'crash',
      passed,
      seed: this.options.seed,
      startedAt,
      durationMs,
      figures: {
        storage: this.storage,
        rounds: tally.roundsRun,
        acknowledgedDocuments: this.model.acknowledgedDocuments,
        documentsLost: tally.documentsLost,
        otherViolations: tally.otherViolations,
        writesAcknowledged: tally.writesAcknowledged,
        writesJournaled: tally.writesJournaled,
        checkpointsAcknowledged: tally.checkpointsAcknowledged,
        keyRotationsAcknowledged: tally.keyRotationsAcknowledged,
        repairCommandsAcknowledged: tally.repairCommandsAcknowledged,
        startupModesCompleted: tally.startupModesCompleted,
        unacknowledgedWritesKept: tally.unacknowledgedWritesKept,
        unacknowledgedWritesDropped: tally.unacknowledgedWritesDropped,
        documentsChecked: tally.documentsChecked,
        contentsCompared: tally.contentsCompared,
        documentsAtEnd: this.model.liveCount,
        killsDuringWorkload: tally.kills.workload,
        killsDuringCheckpoint: tally.kills.checkpoint,
        killsDuringStartup: tally.kills.startup,
        killsDuringShutdown: tally.kills.shutdown,
        killsWithRepairCommands: tally.kills.repairCommand,
        killsDuringRepairMode: tally.kills.repairMode,
        killsDuringMagicRestore: tally.kills.magicRestore,
        repairCommandsAvailable: this.repairCommandAvailable,
        repairModeAvailable: this.availability.repairMode,
        magicRestoreAvailable: this.availability.magicRestore,
        verifyRuns: tally.verifyRuns,
        followers: this.options.followers ?? 0,
        followerChecks: tally.followerChecks,
        followerKills: tally.followerKills,
        followerDocumentsCompared: tally.followerDocumentsCompared,
        averageRestartMs: tally.startsAfterCrash === 0 ? null : Math.round(tally.startMillisecondsTotal / tally.startsAfterCrash),
        averageRoundMs: tally.roundsRun === 0 ? null : Math.round(durationMs / tally.roundsRun),
      },
      details: {
        failures: this.failures,
        reproduce: `npm run crash -- --rounds ${this.options.rounds} --seed ${this.options.seed}${this.storage === 'local' ? ' --storage local' : ''}${(this.options.followers ?? 0) > 0 ? ` --followers ${this.options.followers}` : ''}`,
        keptDirectory: keptDirectory ?? null,
      },
    };
  }
}

/** Every document of the loop's collections, by collection then `_id`. */
async function everyDocument(db: Db): Promise<Document[]> {
  const documents: Document[] = [];
  for (let collection = 0; collection < collectionCount; collection++) {
    documents.push(...await db.collection(`c${collection}`).find({}).sort({ _id: 1 }).toArray());
  }
  return documents;
}

/** Runs the crash loop; never throws for a failed round (see `passed` and `failures`). */
export function runCrashLoop(options: CrashLoopOptions): Promise<CrashLoopResult> {
  return new CrashLoop(options).run();
}

/** The failures as text, for an assertion message or the console. */
export function describeCrashFailures(result: CrashLoopResult): string {
  const lines = result.failures.map((failure) => `round ${failure.round} (${failure.kind}): ${failure.message}`);
  const details = result.report.details as { reproduce: string };
  lines.push(`reproduce with: ${details.reproduce}`);
  if (result.keptDirectory !== undefined) lines.push(`dbpath and logs kept in ${result.keptDirectory}`);
  return lines.join('\n');
}
