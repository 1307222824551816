import { MongoClient } from 'mongodb';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { formatTurtle, parseTurtle, turtleValue } from '../../engine/format/index.js';
import type { SuiteReport } from '../libs/report.js';
import { runReadPath, type ToolResult } from '../libs/run_tool.js';
import { seededRandomFrom, type SeededRandom } from '../libs/seeded_random.js';
import { ShimProcess } from '../libs/shim_process.js';
import { buildSampleHome, sampleDocuments, type SampleHome } from './sample_homes.js';
import type { StorageMode } from './structures.js';

/**
 * The damage campaign: copies of the healthy sample homes (both storage modes) damaged at random
 * but replayably (every copy has its own seed): bit flips, zeroed ranges, truncations and
 * garbage over any file of the home, and edits of the turtle file's text. On each copy every
 * `wt-readpath` subcommand runs, then a server starts on its own copy. A copy fails on a death
 * by a signal, a stack trace, a run over 30 s, `verify` exiting 0 while a dump differs from the
 * pristine home's, or a server that starts and serves data other than the pristine home's
 * without an error.
 */

/** Longest a tool run, a server start-up or the reads may take before they count as a hang. */
export const HANG_MS = 30_000;

export type DamageKind = 'flip' | 'zero' | 'truncate' | 'garbage' | 'turtle-edit';

export interface Damage {
  kind: DamageKind;
  /** The damaged file, relative to the home. */
  file: string;
  description: string;
}

export interface ToolRun {
  command: string;
  exitCode: number;
  signal?: string;
  durationMs: number;
}

export type ServerResult =
  | { kind: 'refused'; exitCode: number | undefined; signal: string | undefined; fatal: string | undefined }
  | { kind: 'started'; reads: 'correct' | 'failed' | 'different'; detail: string; stayedUp: boolean }
  | { kind: 'hung'; detail: string };

export interface CopyOutcome {
  index: number;
  seed: number;
  storage: StorageMode;
  damage: Damage;
  tools: ToolRun[];
  verifyExitCode: number;
  /** Tables whose dump differs from the pristine home's (or fails). */
  dumpsDiffering: string[];
  server: ServerResult;
  /** Each way the copy fails the campaign's rules; empty when it passed. */
  problems: string[];
  durationMs: number;
}

/** A pristine home and what the tools say about it. */
interface Pristine {
  home: SampleHome;
  /** Every file, relative to the home. */
  files: string[];
  /** The tables `list` names, and their pristine dumps. */
  dumps: Map<string, string>;
  /** A page-log page to decode (`page --table-id --page-id --lsn`), in disaggregated mode. */
  pageLogPage?: string[];
}

function filesUnder(directory: string): string[] {
  const found: string[] = [];
  const walk = (current: string): void => {
    for (const name of readdirSync(current).sort()) {
      const path = join(current, name);
      if (statSync(path).isDirectory()) walk(path);
      else found.push(relative(directory, path));
    }
  };
  walk(directory);
  return found;
}

async function describePristine(home: SampleHome): Promise<Pristine> {
  const list = await runReadPath(['list', home.dbpath], { timeoutMs: HANG_MS });
  if (list.exitCode !== 0) throw new Error(`the pristine ${home.storage} home does not list: ${list.stderr}`);
  const tables = list.stdout.split('\n').filter((line) => line.startsWith('table:'));
  const dumps = new Map<string, string>();
  for (const table of tables) {
    const dump = await runReadPath(['dump', home.dbpath, table], { timeoutMs: HANG_MS });
    if (dump.exitCode !== 0) throw new Error(`the pristine ${home.storage} home does not dump ${table}: ${dump.stderr}`);
    dumps.set(table, dump.stdout);
  }
  const pristine: Pristine = { home, files: filesUnder(home.dbpath), dumps };
  if (home.storage === 'disagg') {
    const log = await runReadPath(['log', home.dbpath], { timeoutMs: HANG_MS });
    const pages = [...log.stdout.matchAll(/^LSN (\d+): page\s+table (\d+) page (\d+)/gm)];
    const page = pages.reverse().find((match) => match[2] !== '2') ?? pages[0];
    if (page !== undefined) pristine.pageLogPage = ['--table-id', page[2]!, '--page-id', page[3]!, '--lsn', page[1]!];
  }
  return pristine;
}

// ---- Damage -------------------------------------------------------------------------------

function describeRange(offset: number, length: number): string {
  return `bytes ${offset}-${offset + length - 1}`;
}

async function damageBytes(path: string, kind: Exclude<DamageKind, 'turtle-edit'>, random: SeededRandom): Promise<string> {
  const bytes = await readFile(path);
  const size = bytes.length;
  if (size === 0 && kind !== 'garbage') return damageBytes(path, 'garbage', random);
  switch (kind) {
    case 'flip': {
      const flips = random.between(1, 8);
      const where: string[] = [];
      for (let i = 0; i < flips; i++) {
        const offset = random.below(size);
        const bit = random.below(8);
        bytes[offset]! ^= 1 << bit;
        where.push(`${offset}.${bit}`);
      }
      await writeFile(path, bytes);
      return `flipped ${flips} bit(s) at byte.bit ${where.join(', ')} of ${size} bytes`;
    }
    case 'zero': {
      const offset = random.below(size);
      const length = Math.min(size - offset, random.chance(0.2) ? random.between(4097, 65536) : random.between(1, 4096));
      bytes.fill(0, offset, offset + length);
      await writeFile(path, bytes);
      return `zeroed ${describeRange(offset, length)} of ${size}`;
    }
    case 'truncate': {
      const length = random.below(size);
      await truncate(path, length);
      return `truncated from ${size} to ${length} bytes`;
    }
    case 'garbage': {
      if (size === 0 || random.chance(0.4)) {
        const length = random.between(1, Math.max(4096, size));
        await writeFile(path, random.bytes(length));
        return `replaced ${size} bytes by ${length} random bytes`;
      }
      const offset = random.below(size);
      const length = Math.min(size - offset, random.between(1, 8192));
      random.bytes(length).copy(bytes, offset);
      await writeFile(path, bytes);
      return `overwrote ${describeRange(offset, length)} of ${size} with random bytes`;
    }
  }
}

/** Text edits of a turtle file; `valid` ones keep its checksum right, as a buggy tool would. */
const turtleEdits: ReadonlyArray<{ name: string; edit: (text: string) => string }> = [
  { name: 'metadata checkpoint key renamed (checksum stale)', edit: (text) => text.replace(',checkpoint=(', ',checkpoiNT=(') },
  { name: 'metadata checkpoint key renamed, checksum recomputed', edit: (text) => formatTurtle(metadataEntry(text).replace(',checkpoint=(', ',checkpoiNT=(')) },
  { name: 'metadata checkpoint removed, no checksum pair (as WiredTiger would write it)', edit: (text) => withoutChecksum(text.replace(/,checkpoint=\(.*?\)\),/, ',')) },
  { name: 'root address changed, checksum recomputed', edit: (text) => formatTurtle(metadataEntry(text).replace(/addr="([0-9a-f]{6})/, (_match, hex: string) => `addr="${hex.split('').reverse().join('')}`)) },
  { name: 'checkpoint order and write generation changed, checksum recomputed', edit: (text) => formatTurtle(metadataEntry(text).replace(/order=(\d+)/, 'order=1').replace(/write_gen=(\d+)/, 'write_gen=1')) },
  { name: 'id=0 changed to id=7', edit: (text) => text.replace(',id=0,', ',id=7,') },
  { name: 'metadata pair removed', edit: (text) => text.replace(/file:WiredTiger\.wt\n[^\n]*\n/, '') },
  { name: 'first two pairs swapped', edit: (text) => { const lines = text.split('\n'); return [lines[2], lines[3], lines[0], lines[1], ...lines.slice(4)].join('\n'); } },
  { name: 'version pair repeated', edit: (text) => text + 'WiredTiger version\nmajor=12,minor=0,patch=0\n' },
  { name: 'unknown pair added', edit: (text) => text + 'Unknown key\nvalue\n' },
  { name: 'checksum pair removed', edit: (text) => withoutChecksum(text) },
  { name: 'line endings changed to CRLF', edit: (text) => text.replace(/\n/g, '\r\n') },
];

function metadataEntry(text: string): string {
  return turtleValue(parseTurtle(text), 'file:WiredTiger.wt')!;
}

function withoutChecksum(text: string): string {
  return text.replace(/Turtle checksum\n[^\n]*\n/, '');
}

async function editTurtle(home: string, random: SeededRandom): Promise<string> {
  const path = join(home, 'WiredTiger.turtle');
  const edit = turtleEdits[random.below(turtleEdits.length)]!;
  await writeFile(path, edit.edit(await readFile(path, 'utf8')));
  const backup = join(home, 'WiredTiger.turtle.backup');
  if (existsSync(backup) && random.chance(0.5)) {
    await rm(backup);
    return `${edit.name}; backup removed`;
  }
  return edit.name;
}

/** Damages the copy at `home` as `seed` says. */
export async function applyDamage(home: string, files: readonly string[], seed: number): Promise<Damage> {
  const random = seededRandomFrom(seed);
  const kind = random.weighted<DamageKind>([[3, 'flip'], [2, 'zero'], [2, 'truncate'], [2, 'garbage'], [2, 'turtle-edit']]);
  if (kind === 'turtle-edit') return { kind, file: 'WiredTiger.turtle', description: await editTurtle(home, random) };
  const file = files[random.below(files.length)]!;
  return { kind, file, description: await damageBytes(join(home, file), kind, random) };
}

// ---- Checks -------------------------------------------------------------------------------

const STACK_LINE = /^\s+at .+(:\d+:\d+\)?|\(native\)|\(<anonymous>\))$/m;

function hasStackTrace(text: string): boolean {
  return STACK_LINE.test(text) || text.includes('"stack":');
}

async function runTool(command: string[], tools: ToolRun[], problems: string[]): Promise<ToolResult> {
  const started = Date.now();
  const result = await runReadPath(command, { timeoutMs: HANG_MS });
  const durationMs = Date.now() - started;
  const label = `wt-readpath ${command.filter((arg) => !arg.startsWith('/')).join(' ')}`;
  tools.push({ command: label, exitCode: result.exitCode, ...(result.signal ? { signal: result.signal } : {}), durationMs });
  if (result.signal !== undefined && durationMs >= HANG_MS) problems.push(`${label} hung for over ${HANG_MS / 1000} s`);
  else if (result.signal !== undefined) problems.push(`${label} died by ${result.signal}`);
  else if (![0, 1, 2].includes(result.exitCode)) problems.push(`${label} exited ${result.exitCode}`);
  if (hasStackTrace(result.stdout + result.stderr)) problems.push(`${label} printed a stack trace: ${(result.stderr || result.stdout).slice(0, 400)}`);
  return result;
}

interface ExpectedData {
  documents: string;
  other: string;
  collections: string;
}

function expectedData(): ExpectedData {
  return {
    documents: JSON.stringify(sampleDocuments()),
    other: JSON.stringify([{ _id: 'written after the rotation' }]),
    collections: JSON.stringify(['c', 'other']),
  };
}

async function withTimeout<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work, new Promise<never>((_resolve, reject) => (timer = setTimeout(() => reject(new HangError(what)), HANG_MS)))]);
  } finally {
    clearTimeout(timer);
  }
}

class HangError extends Error {}

async function readServed(uri: string, expected: ExpectedData): Promise<{ reads: 'correct' | 'failed' | 'different'; detail: string }> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 10_000, retryReads: false, retryWrites: false });
  try {
    await client.connect();
    const documents = JSON.stringify(await client.db('app').collection('c').find({}).sort({ _id: 1 }).toArray());
    const other = JSON.stringify(await client.db('app').collection('other').find({}).toArray());
    const collections = JSON.stringify((await client.db('app').listCollections().toArray()).map((entry) => entry.name).sort());
    if (documents !== expected.documents) return { reads: 'different', detail: `app.c differs from the pristine home (${documents.length} bytes of JSON, expected ${expected.documents.length})` };
    if (other !== expected.other) return { reads: 'different', detail: `app.other differs from the pristine home: ${other.slice(0, 200)}` };
    if (collections !== expected.collections) return { reads: 'different', detail: `listCollections returned ${collections}` };
    return { reads: 'correct', detail: 'every read matched the pristine home' };
  } catch (error) {
    const code = (error as { code?: number }).code;
    return { reads: 'failed', detail: `${(error as Error).name}${code === undefined ? '' : ` (code ${code})`}: ${(error as Error).message.slice(0, 300)}` };
  } finally {
    await client.close(true).catch(() => undefined);
  }
}

async function runServerOn(home: SampleHome, dbpath: string, problems: string[]): Promise<ServerResult> {
  const shim = new ShimProcess({ ...home.shimOptions, dbpath, startTimeoutMs: HANG_MS });
  try {
    try {
      await shim.start();
    } catch (error) {
      const exit = shim.exit;
      const fatal = shim.logLines().find((line) => line.s === 'F');
      if (exit === undefined) {
        problems.push(`the server was not ready within ${HANG_MS / 1000} s`);
        return { kind: 'hung', detail: (error as Error).message.slice(0, 300) };
      }
      if (exit.signal !== undefined) problems.push(`the server died by ${exit.signal} at start-up`);
      else if (exit.exitCode !== 6) problems.push(`the server exited ${exit.exitCode} at start-up, not 6`);
      if (fatal === undefined && exit.signal === undefined) problems.push('the server exited at start-up without a fatal log line');
      if (shim.uncaughtErrors().length > 0 || hasStackTrace(shim.tail(200))) problems.push(`the server logged a stack trace: ${shim.tail(3).slice(0, 400)}`);
      return { kind: 'refused', exitCode: exit.exitCode, signal: exit.signal, fatal: fatal?.msg.slice(0, 400) };
    }
    let served: { reads: 'correct' | 'failed' | 'different'; detail: string };
    try {
      served = await withTimeout(readServed(shim.uri, expectedData()), 'reads');
    } catch (error) {
      if (!(error instanceof HangError)) throw error;
      problems.push(`the server's reads hung for over ${HANG_MS / 1000} s`);
      return { kind: 'hung', detail: 'reads' };
    }
    const stayedUp = shim.state === 'running';
    if (served.reads === 'different') problems.push(`the server started and served data different from the pristine home without an error: ${served.detail}`);
    if (!stayedUp) problems.push(`the server exited while serving reads (exit ${shim.exit?.exitCode}${shim.exit?.signal ? `, ${shim.exit.signal}` : ''})`);
    if (shim.uncaughtErrors().length > 0 || hasStackTrace(shim.tail(200))) problems.push(`the server logged a stack trace: ${shim.uncaughtErrors()[0]?.slice(0, 400) ?? ''}`);
    return { kind: 'started', ...served, stayedUp };
  } finally {
    await shim.cleanup();
  }
}

/** Damages one copy of `pristine` and runs every check on it. */
export async function runDamageCopy(pristine: Pristine, index: number, seed: number, workDirectory: string): Promise<CopyOutcome> {
  const started = Date.now();
  const toolCopy = join(workDirectory, `copy-${index}-tools`);
  const serverCopy = join(workDirectory, `copy-${index}-server`);
  await cp(pristine.home.dbpath, toolCopy, { recursive: true });
  const damage = await applyDamage(toolCopy, pristine.files, seed);
  await cp(toolCopy, serverCopy, { recursive: true });
  const tools: ToolRun[] = [];
  const problems: string[] = [];

  const verify = await runTool(['verify', toolCopy], tools, problems);
  const dumpsDiffering: string[] = [];
  for (const [table, pristineDump] of pristine.dumps) {
    const dump = await runTool(['dump', toolCopy, table], tools, problems);
    if (dump.exitCode !== 0 || dump.stdout !== pristineDump) dumpsDiffering.push(table);
  }
  if (verify.exitCode === 0 && dumpsDiffering.length > 0) {
    problems.push(`wt-readpath verify exited 0 while the dump of ${dumpsDiffering.join(', ')} differs from the pristine home's`);
  }
  const wtFile = damage.file.endsWith('.wt') && existsSync(join(toolCopy, damage.file)) ? damage.file : 'WiredTiger.wt';
  for (const command of [
    ['list', '-v', toolCopy], ['list', '-c', toolCopy], ['stat', toolCopy], ['turtle', toolCopy], ['keys', toolCopy], ['log', toolCopy],
    ['header', join(toolCopy, wtFile), '--count', '4'], ['page', toolCopy, '--file', wtFile, '--offset', '4096', '--size', '4096'],
    ...(pristine.pageLogPage ? [['page', toolCopy, ...pristine.pageLogPage]] : []),
  ]) {
    await runTool(command, tools, problems);
  }
  const server = await runServerOn(pristine.home, serverCopy, problems);
  // One truth: the tool never calls clean a home the server refuses as it opens it.
  if (verify.exitCode === 0 && server.kind === 'refused') {
    problems.push(`wt-readpath verify exited 0 on a home the server refused (exit ${server.exitCode}${server.fatal ? `: ${server.fatal}` : ''})`);
  }
  if (damage.file === 'pagelog/data.mdb' && problems.some((problem) => / died by SIG/.test(problem))) {
    problems.push('(pagelog/data.mdb damaged: LMDB maps the file unchecked until the page log checks its meta pages at open)');
  }
  await rm(toolCopy, { recursive: true, force: true });
  await rm(serverCopy, { recursive: true, force: true });
  return { index, seed, storage: pristine.home.storage, damage, tools, verifyExitCode: verify.exitCode, dumpsDiffering, server, problems, durationMs: Date.now() - started };
}

// ---- The campaign -------------------------------------------------------------------------

export interface CampaignOptions {
  /** The campaign's seed; copy N uses seed + N. */
  seed: number;
  /** Damaged copies (alternating storage modes). */
  copies: number;
  /** Only these copy indexes (to replay one). */
  only?: number[];
  /** Copies run at once (default 2). */
  concurrency?: number;
  progress?: (outcome: CopyOutcome) => void;
}

/** Runs the campaign; never throws for a failed copy (see each outcome's problems). */
export async function runDamageCampaign(options: CampaignOptions): Promise<{ outcomes: CopyOutcome[]; report: SuiteReport }> {
  const started = Date.now();
  const workDirectory = await mkdtemp(join(tmpdir(), 'jstest-damage-'));
  const pristine = new Map<StorageMode, Promise<Pristine>>();
  const pristineOf = (storage: StorageMode): Promise<Pristine> => {
    let found = pristine.get(storage);
    if (found === undefined) {
      found = buildSampleHome(storage).then(describePristine);
      pristine.set(storage, found);
    }
    return found;
  };
  const indexes = options.only ?? Array.from({ length: options.copies }, (_, index) => index);
  const outcomes: CopyOutcome[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < indexes.length) {
      const index = indexes[next++]!;
      const storage: StorageMode = index % 2 === 0 ? 'local' : 'disagg';
      const outcome = await runDamageCopy(await pristineOf(storage), index, (options.seed + index) >>> 0, workDirectory);
      outcomes.push(outcome);
      options.progress?.(outcome);
    }
  };
  try {
    await Promise.all(Array.from({ length: options.concurrency ?? 2 }, worker));
  } finally {
    for (const home of pristine.values()) await (await home.catch(() => undefined))?.home.cleanup();
    await rm(workDirectory, { recursive: true, force: true });
  }
  outcomes.sort((a, b) => a.index - b.index);
  return { outcomes, report: damageReport(outcomes, options.seed, new Date(started).toISOString(), Date.now() - started) };
}

/** One line per copy, for progress output and failure messages. */
export function describeCopy(outcome: CopyOutcome): string {
  const server = outcome.server.kind === 'refused'
    ? `server refused (exit ${outcome.server.exitCode ?? outcome.server.signal})`
    : outcome.server.kind === 'started' ? `server started, reads ${outcome.server.reads}` : 'server hung';
  return `copy ${outcome.index} (seed ${outcome.seed}, ${outcome.storage}): ${outcome.damage.kind} ${outcome.damage.file}: ${outcome.damage.description}; verify exit ${outcome.verifyExitCode}; ${server}${outcome.problems.length > 0 ? `\n    FAILED: ${outcome.problems.join('\n    FAILED: ')}` : ''}`;
}

export function damageReport(outcomes: CopyOutcome[], seed: number, startedAt: string, durationMs: number): SuiteReport {
  const failed = outcomes.filter((outcome) => outcome.problems.length > 0);
  const count = (test: (outcome: CopyOutcome) => boolean): number => outcomes.filter(test).length;
  const anyProblem = (pattern: RegExp) => (outcome: CopyOutcome): boolean => outcome.problems.some((problem) => pattern.test(problem));
  return {
    suite: 'damage',
    passed: failed.length === 0,
    seed,
    startedAt,
    durationMs,
    figures: {
      copies: outcomes.length,
      copiesPassed: outcomes.length - failed.length,
      copiesFailed: failed.length,
      toolRuns: outcomes.reduce((sum, outcome) => sum + outcome.tools.length, 0),
      deathsBySignal: count(anyProblem(/died by SIG/)),
      deathsBySignalOnPageLogData: count((outcome) => outcome.damage.file === 'pagelog/data.mdb' && anyProblem(/died by SIG/)(outcome)),
      stackTraces: count(anyProblem(/stack trace/)),
      hangs: count(anyProblem(/hung|not ready within/)),
      verifyCleanWhileDumpDiffers: count(anyProblem(/verify exited 0 while/)),
      serverServedDifferentData: count(anyProblem(/served data different/)),
      verifyExit2: count((outcome) => outcome.verifyExitCode === 2),
      serverRefused: count((outcome) => outcome.server.kind === 'refused'),
      serverStartedReadsFailed: count((outcome) => outcome.server.kind === 'started' && outcome.server.reads === 'failed'),
      serverStartedReadsCorrect: count((outcome) => outcome.server.kind === 'started' && outcome.server.reads === 'correct'),
      averageCopyMs: outcomes.length === 0 ? null : Math.round(outcomes.reduce((sum, outcome) => sum + outcome.durationMs, 0) / outcomes.length),
    },
    details: {
      replay: `npm run damage -- --seed ${seed} --only N`,
      failures: failed.map((outcome) => ({ index: outcome.index, seed: outcome.seed, storage: outcome.storage, damage: outcome.damage, problems: outcome.problems, server: outcome.server })),
      copies: outcomes.map((outcome) => ({ index: outcome.index, damage: `${outcome.damage.kind} ${outcome.damage.file}`, verify: outcome.verifyExitCode, server: outcome.server.kind, passed: outcome.problems.length === 0 })),
    },
  };
}
