import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { execa } from 'execa';
import { CRASH_TABLE_ID, readImage, seededRandom, type CheckpointManifest } from './crash_workload.js';
import { openPageLog } from './index.js';
import { storesUnderTest } from './stores_under_test.js';

const here = fileURLToPath(import.meta.url);
/** The writer next to this file: TypeScript under tsx, or the compiled JavaScript under dist/. */
const writerScript = join(dirname(here), `crash_writer${extname(here)}`);
const writerArguments = extname(here) === '.ts' ? ['--import', 'tsx', writerScript] : [writerScript];

const ROUNDS = 5;
/** Longest wait after the writer is ready before it is killed. */
const MAX_KILL_DELAY_MS = 1500;

interface RoundResult {
  /** Largest completion LSN the writer reported as resolved before it was killed. */
  acknowledged: number;
}

/** Starts the writer, kills it with SIGKILL at a random moment, and reports what it acknowledged. */
async function runAndKill(path: string, seed: number, killDelayMs: number): Promise<RoundResult> {
  const writer = execa(process.execPath, [...writerArguments, path, String(seed)], {
    cwd: dirname(here),
    reject: false,
    stdin: 'ignore',
  });
  let acknowledged = 0;
  let pending = '';
  let killTimer: NodeJS.Timeout | undefined;
  writer.stdout!.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      const message = JSON.parse(line) as { ready?: boolean; completed?: number };
      if (message.completed !== undefined) acknowledged = Math.max(acknowledged, message.completed);
      if (message.ready === true) killTimer = setTimeout(() => writer.kill('SIGKILL'), killDelayMs);
    }
  });
  const result = await writer;
  clearTimeout(killTimer);
  expect(result.signal, `the writer should die by SIGKILL; stderr:\n${String(result.stderr)}`).to.equal('SIGKILL');
  return { acknowledged };
}

for (const store of storesUnderTest()) describe(`page log crash safety on ${store.name}`, function () {
  this.timeout(180_000);

  before(async () => store.setUp());
  after(async () => store.tearDown());

  it('keeps the newest completion record and every page it vouches for when the writer is killed at random moments', async () => {
    const path = await store.freshLocation();
    const seed = Date.now() >>> 0;
    const random = seededRandom(seed);
    const context = `seed ${seed}`;
    let checkpointsSeen = 0;

    for (let round = 0; round < ROUNDS; round += 1) {
      const { acknowledged } = await runAndKill(path, seed + round, Math.floor(random() * MAX_KILL_DELAY_MS));

      const log = await openPageLog(path);
      try {
        await log.abandonCheckpoint();
        const newest = log.getCompleteCheckpoint();
        if (newest === undefined) {
          expect(acknowledged, `${context}: an acknowledged checkpoint was lost`).to.equal(0);
          expect(log.getLastLsn(), context).to.equal(0);
          continue;
        }
        checkpointsSeen += 1;
        expect(newest.lsn, `${context}: an acknowledged checkpoint was lost`).to.be.at.least(acknowledged);
        expect(log.getLastLsn(), `${context}: records remain after the newest completion`).to.equal(newest.lsn);
        expect([...log.records({ from: newest.lsn + 1 })], context).to.deep.equal([]);

        const manifest = JSON.parse(newest.metadata) as CheckpointManifest;
        const pages = log.openHandle(CRASH_TABLE_ID);
        for (const [key, writes] of Object.entries(manifest.pages)) {
          const pageId = Number(key);
          const records = pages.get(pageId, newest.lsn);
          expect(records.map((record) => readImage(pageId, record.image)), `${context}: page ${pageId}`).to.deep.equal(writes);
          expect(pages.get(pageId), `${context}: page ${pageId} at the latest LSN`).to.deep.equal(records);
        }
        for (const pageId of manifest.discarded) expect(pages.get(pageId), `${context}: discarded page ${pageId}`).to.deep.equal([]);
        const expectedPages = Object.keys(manifest.pages).map(Number).sort((left, right) => left - right);
        expect(pages.listPages(), context).to.deep.equal(expectedPages);
      } finally {
        await log.close();
      }
    }
    // Most runs reach several checkpoints; a run where none completes would check nothing.
    expect(checkpointsSeen, `${context}: no round completed a checkpoint`).to.be.greaterThan(0);
  });
});
