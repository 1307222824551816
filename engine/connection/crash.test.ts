import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { execa } from 'execa';
import type { StorageMode } from '../api.js';
import { openConnection } from '../index.js';
import { digestState, readState, type WorkloadMessage } from '../testing/crash_model.js';
import { STORAGE_MODES, testHomes } from '../testing/homes.js';
import { seededRandom, testSeed } from '../testing/random.js';
import { collectReport, verifyHome } from '../verify/index.js';

/**
 * Crash safety, end to end: a real child process runs a random workload on a home and is
 * killed with SIGKILL at random moments, during checkpoints too; after every kill the home must
 * reopen with exactly the state of the last checkpoint the child saw complete (or of one it had
 * begun, whose completion the kill hid). `CRASH_ROUNDS` sets the rounds per mode (default 5),
 * `TEST_SEED` replays a run.
 */
const here = dirname(fileURLToPath(import.meta.url));
const workloadScript = join(here, '..', 'testing', 'crash_workload.js');
const ROUNDS = Number(process.env['CRASH_ROUNDS'] ?? 5);
/** Longest run after the child is ready before it is killed. */
const MAX_KILL_DELAY_MS = 1_200;

interface Round {
  ready?: { digest: string; records: number };
  /** Digests of checkpoints by number: begun, and whether completed. */
  checkpoints: Map<number, { digest: string; records: number; completed: boolean }>;
  failed?: string;
}

/** Runs the workload and kills it `delayMs` after its ready line (or after spawn when `early`). */
async function runAndKill(home: string, storage: StorageMode, seed: number, delayMs: number, early: boolean): Promise<Round> {
  const child = execa(process.execPath, [workloadScript, home, storage, String(seed)], { reject: false, stdin: 'ignore' });
  const round: Round = { checkpoints: new Map() };
  let pending = '';
  let timer: NodeJS.Timeout | undefined;
  if (early) timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
  child.stdout!.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      const message = JSON.parse(line) as WorkloadMessage;
      if ('ready' in message) {
        round.ready = { digest: message.digest, records: message.records };
        if (!early) timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
      } else if ('begin' in message) {
        round.checkpoints.set(message.begin, { digest: message.digest, records: message.records, completed: false });
      } else if ('completed' in message) {
        round.checkpoints.get(message.completed)!.completed = true;
      } else if ('failed' in message) {
        round.failed = message.failed;
      }
    }
  });
  const result = await child;
  clearTimeout(timer);
  if (round.failed) expect.fail(`the workload failed: ${round.failed}`);
  expect(result.signal, `the workload should die by SIGKILL (exit ${result.exitCode}); stderr:\n${String(result.stderr)}`).to.equal('SIGKILL');
  return round;
}

for (const storage of STORAGE_MODES) {
  describe(`crash safety (${storage})`, function () {
    this.timeout(30_000 + ROUNDS * 10_000);
    const homes = testHomes('engine-crash-');

    it(`reopens with the data of the last completed checkpoint after ${ROUNDS} kills at random moments`, async () => {
      const seed = testSeed();
      const random = seededRandom(seed);
      const home = await homes.directory();
      // What the home holds now, as the last verified reopen found it.
      let current = { digest: digestState(readStateOfEmpty()).digest, records: 0 };
      let checkpointsCompleted = 0;
      for (let r = 0; r < ROUNDS; r++) {
        const early = r > 0 && random.next() < 0.2;
        const delay = early ? random.below(400) : random.below(MAX_KILL_DELAY_MS);
        const context = `${storage}, seed ${seed} (TEST_SEED=${seed}), round ${r}, kill ${early ? 'after spawn' : 'after ready'} at ${delay} ms`;
        const round = await runAndKill(home, storage, seed + r, delay, early);
        if (round.ready) {
          // The child's own recovery must have found what the previous verification found.
          if (r > 0) expect(round.ready.digest, `${context}: state the workload recovered`).to.equal(current.digest);
          current = round.ready;
        }
        // Acceptable: the last completed checkpoint, or one begun after it (killed before it
        // could report completion). Before any completed checkpoint: the state at start.
        const acceptable = [current.digest];
        const numbers = [...round.checkpoints.keys()].sort((a, b) => a - b);
        const lastCompleted = numbers.filter((n) => round.checkpoints.get(n)!.completed).pop();
        if (lastCompleted !== undefined) acceptable.splice(0, 1, round.checkpoints.get(lastCompleted)!.digest);
        const inFlight = numbers.find((n) => !round.checkpoints.get(n)!.completed && (lastCompleted === undefined || n > lastCompleted));
        if (inFlight !== undefined) acceptable.push(round.checkpoints.get(inFlight)!.digest);
        checkpointsCompleted += numbers.filter((n) => round.checkpoints.get(n)!.completed).length;

        const connection = await openConnection(home, { storage, readOnly: true });
        let found;
        try {
          found = digestState(readState(connection));
        } finally {
          await connection.close();
        }
        expect(acceptable, `${context}: reopened state (${found.records} records) is neither the last completed checkpoint nor the one in flight`).to.include(found.digest);
        current = found;
        const report = await collectReport(verifyHome(home));
        // A SIGKILL can stop a block's write() between pages (Linux checks for fatal signals
        // there), leaving a torn block in space no durable checkpoint uses: verify warns of it.
        // Any error is damage.
        const findings = report.findings.filter((f) => f.severity === 'error');
        expect(findings, `${context}: verification findings`).to.deep.equal([]);
      }
      expect(checkpointsCompleted, `seed ${seed}: no checkpoint completed in any round`).to.be.greaterThan(0);
    });
  });
}

function readStateOfEmpty(): ReturnType<typeof readState> {
  return { 'table:crash_a': new Map(), 'table:crash_b': new Map() };
}
