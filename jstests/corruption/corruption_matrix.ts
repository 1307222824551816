import { MongoClient } from 'mongodb';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeClientBounded } from '../libs/driver_clients.js';
import { runReadPath, ShimProcess, type LogLine } from '../libs/index.js';
import type { SuiteReport } from '../libs/report.js';
import { seededRandomFrom } from '../libs/seeded_random.js';
import { mutations, type Mutation } from './mutations.js';
import { buildSampleHome, sampleDocuments, type SampleHome } from './sample_homes.js';
import { allStructures, sampleTable, type Located, type StorageMode, type Structure } from './structures.js';

/**
 * The corruption matrix: every (structure, mutation) pair that means something, applied to a
 * copy of a pristine home. For each, `wt-readpath verify` must exit 2 naming the place, and the
 * server must either refuse to start (exit 6, a fatal log line naming the place) or, when it
 * starts, fail the reads that reach the damage: it never returns wrong documents.
 */

export interface CorruptionCase {
  /** `storage: structure / mutation`, unique. */
  name: string;
  structure: Structure;
  mutation: Mutation;
}

/** The cases, from the structure table and the mutation list (the same order every run). */
export function corruptionCases(): CorruptionCase[] {
  const cases: CorruptionCase[] = [];
  for (const structure of allStructures) {
    for (const mutation of mutations) {
      const applies = structure.shape === 'whole-file' ? mutation.appliesTo({ kind: 'whole-file', file: '' }) : mutation.appliesTo({ kind: 'file', file: '', offset: 0, length: 1 });
      if (applies) cases.push({ name: `${structure.storage}: ${structure.name} / ${mutation.name}`, structure, mutation });
    }
  }
  return cases;
}

/** What the server did with a damaged home. */
export type ServerOutcome =
  | { kind: 'refused'; exitCode: number | undefined; fatal: LogLine | undefined; named: boolean }
  | { kind: 'started'; reads: 'failed' | 'correct' | 'wrong'; detail: string; named: boolean; stayedUp: boolean };

export interface CaseOutcome {
  name: string;
  structure: string;
  mutation: string;
  storage: StorageMode;
  /** Where the damage is. */
  place: string;
  /** What the mutation did. */
  damage: string;
  verify: { exitCode: number; named: boolean; excerpt: string };
  server: ServerOutcome;
  /** Each way the case falls short; empty when it passed. */
  problems: string[];
  durationMs: number;
}

/** The first lines of a text, for reports. */
function excerpt(text: string, lines = 8): string {
  return text.trim().split('\n').slice(0, lines).join('\n').slice(0, 1500);
}

/** Reads what the sample home serves: `app.c` in order, the oplog, the collection list. */
async function readEverything(uri: string): Promise<{ reads: 'failed' | 'correct' | 'wrong'; detail: string }> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 10_000, retryReads: false, retryWrites: false });
  try {
    await client.connect();
    const [db, collection] = sampleTable.split('.') as [string, string];
    const documents = await client.db(db).collection(collection).find({}).sort({ _id: 1 }).toArray();
    const expected = sampleDocuments();
    if (JSON.stringify(documents) !== JSON.stringify(expected)) {
      const firstDifference = expected.findIndex((document, index) => JSON.stringify(document) !== JSON.stringify(documents[index]));
      return { reads: 'wrong', detail: `${sampleTable} returned ${documents.length} documents, expected ${expected.length}; first difference at position ${firstDifference}: ${JSON.stringify(documents[firstDifference])?.slice(0, 200)}` };
    }
    const oplog = await client.db('local').collection('oplog.rs').find({}).toArray();
    const inserted = new Set(oplog.filter((entry) => entry.ns === sampleTable && entry.op === 'i').map((entry) => entry.o?._id));
    if (inserted.size !== expected.length) return { reads: 'wrong', detail: `the oplog holds ${inserted.size} inserts into ${sampleTable}, expected ${expected.length}` };
    const names = (await client.db(db).listCollections().toArray()).map((entry) => entry.name).sort();
    if (JSON.stringify(names) !== JSON.stringify(['c', 'other'])) return { reads: 'wrong', detail: `listCollections returned ${JSON.stringify(names)}` };
    return { reads: 'correct', detail: `${documents.length} documents, ${oplog.length} oplog entries, collections ${names.join(', ')}` };
  } catch (error) {
    const code = (error as { code?: number }).code;
    return { reads: 'failed', detail: `${(error as Error).name}${code === undefined ? '' : ` (code ${code})`}: ${(error as Error).message}` };
  } finally {
    await closeClientBounded(client);
  }
}

async function runServer(home: SampleHome, dbpath: string, located: Located): Promise<ServerOutcome> {
  const shim = new ShimProcess({ ...home.shimOptions, dbpath, startTimeoutMs: 60_000 });
  try {
    try {
      await shim.start();
    } catch {
      const fatal = shim.logLines().find((line) => line.s === 'F');
      return { kind: 'refused', exitCode: shim.exit?.exitCode, fatal, named: fatal !== undefined && located.named(JSON.stringify(fatal)) };
    }
    const { reads, detail } = await readEverything(shim.uri);
    const stayedUp = shim.state === 'running';
    return { kind: 'started', reads, detail, named: located.named(detail), stayedUp };
  } finally {
    // SIGKILL, so that nothing the server did after its reads changes the outcome.
    await shim.cleanup();
  }
}

function judge(structure: Structure, outcome: Pick<CaseOutcome, 'verify' | 'server'>): string[] {
  const problems: string[] = [];
  if (outcome.verify.exitCode !== 2) problems.push(`wt-readpath verify exited ${outcome.verify.exitCode}, not 2`);
  else if (!outcome.verify.named) problems.push('wt-readpath verify did not name the damaged place');
  const server = outcome.server;
  if (server.kind === 'refused') {
    if (server.exitCode !== 6) problems.push(`the server exited ${server.exitCode} at start-up, not 6`);
    if (server.fatal === undefined) problems.push('the server logged no fatal line');
    else if (!server.named) problems.push(`the fatal line does not name the damaged place: ${JSON.stringify(server.fatal).slice(0, 600)}`);
  } else if (server.reads === 'wrong') {
    problems.push(`the server started and returned wrong data: ${server.detail}`);
  } else if (server.reads === 'correct' && structure.readWhenServing) {
    problems.push(`the server started and served every read without noticing the damage (${server.detail})`);
  }
  if (server.kind === 'started' && server.reads === 'failed' && !server.named) problems.push(`the read error does not name the damaged place: ${server.detail}`);
  if (server.kind === 'started' && !server.stayedUp) problems.push('the server exited after failing a read instead of reporting the error and staying up');
  return problems;
}

/** Runs one case on a fresh copy of `home`; `seed` fixes the flipped byte. */
export async function runCorruptionCase(corruptionCase: CorruptionCase, home: SampleHome, workDirectory: string, seed: number): Promise<CaseOutcome> {
  const started = Date.now();
  const safeName = corruptionCase.name.replace(/[^a-z0-9]+/gi, '-');
  const verifyCopy = join(workDirectory, `${safeName}-verify`);
  const serverCopy = join(workDirectory, `${safeName}-server`);
  await cp(home.dbpath, verifyCopy, { recursive: true });
  const located = await corruptionCase.structure.locate(verifyCopy);
  const damage = await corruptionCase.mutation.apply(verifyCopy, located.region, seededRandomFrom(seed));
  // The server gets an identical damaged copy: it may write (abandon, checkpoint) where verify must not.
  await cp(verifyCopy, serverCopy, { recursive: true });
  const [verifyResult, server] = await Promise.all([runReadPath(['verify', verifyCopy], { timeoutMs: 120_000 }), runServer(home, serverCopy, located)]);
  const verifyText = verifyResult.stdout + verifyResult.stderr;
  const verify = { exitCode: verifyResult.exitCode, named: located.named(verifyText), excerpt: excerpt(verifyText) };
  const outcome = { verify, server };
  return {
    name: corruptionCase.name,
    structure: corruptionCase.structure.name,
    mutation: corruptionCase.mutation.name,
    storage: corruptionCase.structure.storage,
    place: located.place,
    damage,
    ...outcome,
    problems: judge(corruptionCase.structure, outcome),
    durationMs: Date.now() - started,
  };
}

/**
 * Runs cases with at most `concurrency` at once; each result promise is available at once (in
 * case order), so a test can await its own.
 */
export class CorruptionRun {
  private readonly homes = new Map<StorageMode, Promise<SampleHome>>();
  private workDirectory: Promise<string> | undefined;
  private readonly waiting: (() => void)[] = [];
  private running = 0;
  private readonly results = new Map<string, Promise<CaseOutcome>>();

  constructor(
    readonly seed: number,
    private readonly concurrency = 2,
  ) {}

  private home(storage: StorageMode): Promise<SampleHome> {
    let home = this.homes.get(storage);
    if (home === undefined) {
      home = buildSampleHome(storage);
      this.homes.set(storage, home);
    }
    return home;
  }

  private async slot<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running += 1;
    try {
      return await work();
    } finally {
      this.running -= 1;
      this.waiting.shift()?.();
    }
  }

  /** Starts every case (bounded by the concurrency); returns the outcome promises by name. */
  start(cases: CorruptionCase[]): Map<string, Promise<CaseOutcome>> {
    this.workDirectory ??= mkdtemp(join(tmpdir(), 'jstest-corruption-'));
    cases.forEach((corruptionCase, index) => {
      const result = this.slot(async () => runCorruptionCase(corruptionCase, await this.home(corruptionCase.structure.storage), await this.workDirectory!, this.seed + index));
      // Awaited by the caller; this keeps an unawaited failure from being reported twice.
      result.catch(() => undefined);
      this.results.set(corruptionCase.name, result);
    });
    return this.results;
  }

  /** Deletes the homes and copies, or keeps them (and returns where) when asked. */
  async cleanup(keep: boolean): Promise<string[]> {
    const kept: string[] = [];
    for (const home of this.homes.values()) {
      const settled = await home.catch(() => undefined);
      const directory = await settled?.cleanup({ keep });
      if (directory !== undefined) kept.push(directory);
    }
    if (this.workDirectory !== undefined) {
      const directory = await this.workDirectory;
      if (keep) kept.push(directory);
      else await rm(directory, { recursive: true, force: true });
    }
    return kept;
  }
}

/** The report of a finished matrix. */
export function corruptionReport(outcomes: CaseOutcome[], seed: number, startedAt: string, durationMs: number, kept: string[]): SuiteReport {
  const failed = outcomes.filter((outcome) => outcome.problems.length > 0);
  const count = (test: (outcome: CaseOutcome) => boolean): number => outcomes.filter(test).length;
  return {
    suite: 'corruption',
    passed: failed.length === 0,
    seed,
    startedAt,
    durationMs,
    figures: {
      cases: outcomes.length,
      casesPassed: outcomes.length - failed.length,
      casesFailed: failed.length,
      refusedAtStartup: count((outcome) => outcome.server.kind === 'refused' && outcome.server.exitCode === 6),
      refusedNamingThePlace: count((outcome) => outcome.server.kind === 'refused' && outcome.server.named),
      startedAndReadsFailed: count((outcome) => outcome.server.kind === 'started' && outcome.server.reads === 'failed'),
      readErrorsNamingThePlace: count((outcome) => outcome.server.kind === 'started' && outcome.server.reads === 'failed' && outcome.server.named),
      startedAndReadsUntouched: count((outcome) => outcome.server.kind === 'started' && outcome.server.reads === 'correct'),
      wrongDataReturned: count((outcome) => outcome.server.kind === 'started' && outcome.server.reads === 'wrong'),
      verifyExit2: count((outcome) => outcome.verify.exitCode === 2),
      verifyNamingThePlace: count((outcome) => outcome.verify.exitCode === 2 && outcome.verify.named),
      averageCaseMs: outcomes.length === 0 ? null : Math.round(outcomes.reduce((sum, outcome) => sum + outcome.durationMs, 0) / outcomes.length),
    },
    details: {
      failures: failed.map((outcome) => ({ name: outcome.name, place: outcome.place, damage: outcome.damage, problems: outcome.problems, verify: outcome.verify, server: outcome.server })),
      cases: outcomes.map((outcome) => ({
        name: outcome.name,
        passed: outcome.problems.length === 0,
        server: outcome.server.kind === 'refused' ? `refused (exit ${outcome.server.exitCode})` : `started, reads ${outcome.server.reads}`,
        verify: outcome.verify.exitCode,
      })),
      kept,
    },
  };
}

/** The whole matrix outside mocha (for the bench); never throws for a failed case. */
export async function runCorruptionMatrix(options: { seed: number; concurrency?: number }): Promise<{ outcomes: CaseOutcome[]; report: SuiteReport }> {
  const started = Date.now();
  const run = new CorruptionRun(options.seed, options.concurrency);
  const results = run.start(corruptionCases());
  const outcomes: CaseOutcome[] = [];
  let error: unknown;
  for (const [name, result] of results) {
    try {
      outcomes.push(await result);
    } catch (caught) {
      error ??= caught;
      outcomes.push({
        name, structure: name, mutation: '', storage: 'local', place: '', damage: '',
        verify: { exitCode: -1, named: false, excerpt: '' },
        server: { kind: 'refused', exitCode: undefined, fatal: undefined, named: false },
        problems: [`the case could not run: ${(caught as Error).message}`], durationMs: 0,
      });
    }
  }
  const failed = outcomes.some((outcome) => outcome.problems.length > 0);
  const kept = await run.cleanup(failed || error !== undefined);
  return { outcomes, report: corruptionReport(outcomes, options.seed, new Date(started).toISOString(), Date.now() - started, kept) };
}
