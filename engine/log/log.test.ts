import { appendFileSync, copyFileSync, cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { execa } from 'execa';
import type { EngineLogEvent, StorageMode } from '../api.js';
import { EngineError, ErrorCode } from '../errors.js';
import { openConnection, pitWrite, type Connection } from '../index.js';
import { encodeCommitBody, LOG_ALIGN, logFileName, sealLogRecord } from '../format/index.js';
import { STORAGE_MODES, testHomes } from '../testing/homes.js';
import { detect } from '../repair/index.js';
import { ConnectionImpl } from '../connection/index.js';
import { collectReport, verifyHome } from '../verify/index.js';
import { inspectLog, listLogFiles } from './index.js';
import { mountTmpfs } from '../testing/tmpfs.js';

const here = dirname(fileURLToPath(import.meta.url));
const childScript = join(here, 'journal_child.js');

interface ChildRun {
  acked: number;
  checkpoints: number[];
}

/** Runs the journal child until it has acknowledged `ackTarget` keys (or checkpointed), then kills it with SIGKILL. */
async function runAndKill(home: string, storage: StorageMode, options: { fileMax?: number; syncEvery?: number; checkpointEvery?: number; ackTarget: number; start?: number }): Promise<ChildRun> {
  const child = execa(process.execPath, [
    childScript, home, storage, String(options.fileMax ?? 100 * 1024 * 1024), String(options.syncEvery ?? 10), String(options.checkpointEvery ?? 0),
    String(options.start ?? 0),
  ], { reject: false, stdin: 'ignore' });
  const run: ChildRun = { acked: -1, checkpoints: [] };
  let pending = '';
  await new Promise<void>((resolve) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const message = JSON.parse(pending.slice(0, newline)) as { acked?: number; checkpoint?: number };
        pending = pending.slice(newline + 1);
        if (message.acked !== undefined) run.acked = message.acked;
        if (message.checkpoint !== undefined) run.checkpoints.push(message.checkpoint);
        if (run.acked >= options.ackTarget) {
          child.kill('SIGKILL');
          resolve();
        }
      }
    });
    void child.then(() => resolve());
  });
  const result = await child;
  expect(result.signal, `child ended without the kill: ${result.stderr}`).to.equal('SIGKILL');
  return run;
}

/** The keys of `table:local` (and their values) after reopening. */
async function readLocal(homes: ReturnType<typeof testHomes>, home: string, storage: StorageMode, events?: EngineLogEvent[]): Promise<Map<number, string>> {
  const connection = await homes.open(home, { storage, journal: true, logger: (event) => events?.push(event) });
  const out = new Map<number, string>();
  for (const [key, value] of connection.openSession().openCursor('table:local').entries()) out.set(Number(key as bigint), value as string);
  if (storage === 'disagg' && connection.hasTable('table:shared')) {
    let shared = 0;
    for (const record of connection.openSession().openCursor('table:shared').entries()) {
      void record;
      shared++;
    }
    expect(shared, 'shared rows are not journaled: only what a checkpoint holds').to.be.at.most(out.size);
  }
  await connection.close();
  return out;
}

function expectPrefix(keys: Map<number, string>, acked: number): void {
  for (let i = 0; i <= acked; i++) expect(keys.get(i), `acknowledged key ${i}`).to.equal(`value-${i}`);
  const max = Math.max(-1, ...keys.keys());
  for (let i = 0; i <= max; i++) expect(keys.has(i), `no hole at ${i} below ${max}`).to.equal(true);
}

function logFiles(home: string): string[] {
  return readdirSync(home).filter((name) => name.startsWith('WiredTigerLog.')).sort();
}

function snapshot(home: string): Map<string, string> {
  return new Map(logFiles(home).map((name) => [name, readFileSync(join(home, name)).toString('hex')]));
}

describe('journal: crash recovery with real processes', function () {
  this.timeout(120_000);
  const homes = testHomes('journal-test-');

  for (const storage of STORAGE_MODES) {
    it(`${storage}: every commit acknowledged after a journal sync survives SIGKILL between checkpoints`, async () => {
      const home = await homes.directory();
      const run = await runAndKill(home, storage, { ackTarget: 400, syncEvery: 7 });
      const events: EngineLogEvent[] = [];
      const keys = await readLocal(homes, home, storage, events);
      expectPrefix(keys, run.acked);
      const replay = events.find((e) => e.msg === 'Replayed the journal');
      expect(replay?.attr?.['replayed'], 'the keys came from the journal, not a checkpoint').to.be.at.least(run.acked + 1);
    });

    it(`${storage}: rotation, removal after checkpoints, and no record applied twice across repeated crashes`, async () => {
      const home = await homes.directory();
      const first = await runAndKill(home, storage, { ackTarget: 1500, syncEvery: 5, fileMax: 100 * 1024, checkpointEvery: 400 });
      expect(first.checkpoints.length).to.be.at.least(3);
      const events: EngineLogEvent[] = [];
      let keys = await readLocal(homes, home, storage, events);
      expectPrefix(keys, first.acked);
      const replay = events.find((e) => e.msg === 'Replayed the journal')!;
      const lastCheckpoint = first.checkpoints[first.checkpoints.length - 1]!;
      // Records the checkpoint holds are skipped; only commits after it replay (at most those
      // between the checkpoint's start and the kill).
      expect(replay.attr!['skipped']).to.be.greaterThan(0);
      expect(replay.attr!['replayed']).to.be.at.most(keys.size - lastCheckpoint);
      // The first files are gone: the checkpoints removed them.
      expect(listLogFiles(home)[0]).to.be.greaterThan(1);
      // Continue from where the data ends, crash again, reopen.
      const second = await runAndKill(home, storage, { ackTarget: keys.size + 300, start: keys.size, syncEvery: 5, fileMax: 100 * 1024, checkpointEvery: 250 });
      keys = await readLocal(homes, home, storage);
      expectPrefix(keys, second.acked);
    });
  }

  it('a torn last record is cut off: recovery stops there and keeps everything acknowledged', async () => {
    const home = await homes.directory();
    const run = await runAndKill(home, 'local', { ackTarget: 100, syncEvery: 1 });
    const last = logFiles(home).at(-1)!;
    const path = join(home, last);
    const sizeBefore = statSync(path).size;
    // Half of a record: a valid header start and then nothing (a write the kill interrupted).
    const torn = sealLogRecord(encodeCommitBody(999n, [{ kind: 'put', fileId: 3, key: Buffer.from('x'), value: Buffer.alloc(300, 7) }]));
    appendFileSync(path, torn.subarray(0, 200));
    const events: EngineLogEvent[] = [];
    const keys = await readLocal(homes, home, 'local', events);
    expectPrefix(keys, run.acked);
    expect(events.some((e) => e.msg === 'Cut off a torn record at the end of the journal')).to.equal(true);
    expect(statSync(path).size).to.equal(sizeBefore);
    // And the home keeps working after it.
    expectPrefix(await readLocal(homes, home, 'local'), run.acked);
  });

  it('a bad checksum in the middle of a file is a fatal LOG_CORRUPT naming file and offset; nothing is replayed or changed', async () => {
    const home = await homes.directory();
    await runAndKill(home, 'local', { ackTarget: 200, syncEvery: 1 });
    const name = logFiles(home).at(-1)!;
    const path = join(home, name);
    const bytes = readFileSync(path);
    // Damage a record in the middle (valid records follow it).
    const inspection = inspectLog(home);
    const offsets: number[] = [];
    inspectLog(home, { onRecord: (file, record) => { if (logFileName(file) === name) offsets.push(record.offset); } });
    expect(inspection.problems).to.deep.equal([]);
    const victim = offsets[Math.floor(offsets.length / 2)]!;
    bytes[victim + 20]! ^= 0xff;
    writeFileSync(path, bytes);
    const before = snapshot(home);
    const error = await homes.open(home, { storage: 'local', journal: true }).then(() => undefined, (e: unknown) => e);
    expect(error).to.be.instanceOf(EngineError);
    expect((error as EngineError).code).to.equal(ErrorCode.LogCorrupt);
    expect((error as EngineError).location).to.include({ file: name, offset: victim });
    expect(snapshot(home)).to.deep.equal(before);
  });

  it('a file truncated before its end (not the last one) is LOG_CORRUPT; a file of another home is LOG_MISMATCH', async () => {
    const home = await homes.directory();
    await runAndKill(home, 'local', { ackTarget: 2400, syncEvery: 20, fileMax: 100 * 1024 });
    const files = logFiles(home);
    expect(files.length).to.be.at.least(3);
    const middle = join(home, files[1]!);
    const original = readFileSync(middle);
    truncateSync(middle, original.length - LOG_ALIGN * 3);
    const before = snapshot(home);
    let error = await homes.open(home, { storage: 'local', journal: true }).then(() => undefined, (e: unknown) => e);
    expect((error as EngineError).code).to.equal(ErrorCode.LogCorrupt);
    expect((error as EngineError).location.file).to.equal(files[1]);
    expect(snapshot(home)).to.deep.equal(before);
    writeFileSync(middle, original);

    const other = await homes.directory();
    await runAndKill(other, 'local', { ackTarget: 20, syncEvery: 5 });
    const next = logFileName(listLogFiles(home).at(-1)! + 1);
    copyFileSync(join(other, logFiles(other)[0]!), join(home, next));
    error = await homes.open(home, { storage: 'local', journal: true }).then(() => undefined, (e: unknown) => e);
    expect((error as EngineError).code).to.equal(ErrorCode.LogMismatch);
    expect((error as EngineError).location.file).to.equal(next);
  });
});

/** The home as a crash would leave it now: its files copied while the connection stays open. */
function crashImage(home: string, copy: string): void {
  cpSync(home, copy, { recursive: true });
}

describe('journal: group commit and the replay rule', function () {
  this.timeout(60_000);
  const homes = testHomes('journal-unit-');

  async function localHome(): Promise<{ home: string; connection: Connection }> {
    const home = await homes.directory();
    const connection = await homes.open(home, { storage: 'local', journal: true, journalCommitIntervalMs: 0 });
    connection.createTable('table:t', 'key_format=q,value_format=S', { shared: false });
    return { home, connection };
  }

  async function reopenedValues(image: string): Promise<Map<bigint, string>> {
    const connection = await openConnection(image, { storage: 'local', journal: true });
    try {
      const out = new Map<bigint, string>();
      for (const [key, value] of connection.openSession().openCursor('table:t').entries()) out.set(key as bigint, value as string);
      return out;
    } finally {
      await connection.close();
    }
  }

  it('concurrent waiters share fsyncs (group commit)', async () => {
    const { connection } = await localHome();
    const cursor = connection.openSession().openCursor('table:t');
    const waits: Promise<void>[] = [];
    for (let i = 0n; i < 64n; i++) {
      cursor.put(i, `v${i}`);
      waits.push(connection.syncJournal());
    }
    await Promise.all(waits);
    const stats = (connection as unknown as { journalStats(): { syncs: number; waiters: number } }).journalStats();
    expect(stats.syncs).to.be.at.least(1).and.below(8);
    expect(stats.waiters).to.be.at.least(64);
  });

  it('a commit timestamped above the stable timestamp survives a checkpoint that leaves it out', async () => {
    const { home, connection } = await localHome();
    connection.setTimestamps({ stable: 5n });
    const session = connection.openSession();
    const cursor = session.openCursor('table:t');
    cursor.put(1n, 'before');
    session.beginTransaction();
    cursor.put(2n, 'at-ts-10');
    session.commitTransaction({ commitTimestamp: 10n });
    await connection.checkpoint();
    cursor.put(3n, 'after');
    await connection.syncJournal();
    const image = await homes.directory();
    crashImage(home, image);
    const values = await reopenedValues(image);
    expect([...values.entries()]).to.deep.equal([[1n, 'before'], [2n, 'at-ts-10'], [3n, 'after']]);
  });

  it('records the checkpoint holds are never applied again (a point-in-time write over a journaled key stays)', async () => {
    const { home, connection } = await localHome();
    const cursor = connection.openSession().openCursor('table:t');
    cursor.put(1n, 'journaled');
    await connection.syncJournal();
    // Not journaled: the point-in-time path writes the trees and checkpoints.
    await pitWrite(connection, { timestamp: 20n, mutations: [{ kind: 'put', uri: 'table:t', key: 1n, value: 'point-in-time' }] });
    cursor.put(2n, 'later');
    await connection.syncJournal();
    const image = await homes.directory();
    crashImage(home, image);
    expect([...(await reopenedValues(image)).entries()]).to.deep.equal([[1n, 'point-in-time'], [2n, 'later']]);
  });

  it('a restore that moves the timestamps back keeps the journal from bringing back what it removed', async () => {
    const { home, connection } = await localHome();
    const session = connection.openSession();
    const cursor = session.openCursor('table:t');
    for (let i = 1n; i <= 5n; i++) {
      session.beginTransaction();
      cursor.put(i, `v${i}`);
      session.commitTransaction({ commitTimestamp: i * 10n });
    }
    await connection.syncJournal();
    // As magic restore does: back to timestamp 20, without the records written after it.
    await pitWrite(connection, {
      timestamp: 20n, resetTimestamps: { stable: 20n, oldest: 20n },
      mutations: [{ kind: 'removeRange', uri: 'table:t', range: { gt: 2n } }],
    });
    const image = await homes.directory();
    crashImage(home, image);
    expect([...(await reopenedValues(image)).keys()]).to.deep.equal([1n, 2n]);
  });
});

describe('journal: local schema changes', function () {
  this.timeout(60_000);
  const homes = testHomes('journal-schema-');

  it('tables created and dropped after the checkpoint come back as they were, with their records', async () => {
    const home = await homes.directory();
    const connection = await homes.open(home, { storage: 'local', journal: true, journalCommitIntervalMs: 0 });
    connection.createTable('table:old', 'key_format=q,value_format=S', { shared: false });
    connection.openSession().openCursor('table:old').put(1n, 'old');
    await connection.checkpoint();
    connection.createTable('table:created', 'key_format=S,value_format=S', { shared: false });
    const cursor = connection.openSession().openCursor('table:created');
    cursor.put('a', 'first');
    cursor.put('b', 'second');
    connection.dropTable('table:old');
    await connection.syncJournal();
    const image = await homes.directory();
    cpSync(home, image, { recursive: true });
    const reopened = await openConnection(image, { storage: 'local', journal: true });
    try {
      expect(reopened.hasTable('table:old')).to.equal(false);
      expect([...reopened.openSession().openCursor('table:created').entries()]).to.deep.equal([['a', 'first'], ['b', 'second']]);
    } finally {
      await reopened.close();
    }
    // The dropped table's file goes with the first checkpoint after recovery (the close's).
    expect(readdirSync(image)).to.not.include('old.wt');
  });
});

describe('journal: read-only views of a crash image', function () {
  this.timeout(60_000);
  const homes = testHomes('journal-readonly-');

  it('verify and a read-only detect do not call the file of a journaled create an orphan; a file nothing names still is', async () => {
    const home = await homes.directory();
    const connection = await homes.open(home, { storage: 'local', journal: true, journalCommitIntervalMs: 0 });
    await connection.checkpoint();
    connection.createTable('table:journaled', 'key_format=S,value_format=S', { shared: false });
    connection.openSession().openCursor('table:journaled').put('k', 'v');
    await connection.syncJournal();
    const image = await homes.directory();
    cpSync(home, image, { recursive: true });
    writeFileSync(join(image, 'planted.wt'), readFileSync(join(image, 'journaled.wt')));
    const report = await collectReport(verifyHome(image));
    const unreferenced = report.findings.filter((f) => f.code === 'FILE_UNREFERENCED').map((f) => f.location.file);
    expect(unreferenced).to.deep.equal(['planted.wt']);
    const readOnly = await ConnectionImpl.open(image, { storage: 'local', readOnly: true });
    try {
      expect(detect(readOnly).filter((f) => f.kind === 'orphanFile')).to.deep.equal([{ kind: 'orphanFile', file: 'planted.wt' }]);
    } finally {
      await readOnly.close();
    }
  });
});

describe('journal: files removed out of band', function () {
  this.timeout(60_000);
  const homes = testHomes('journal-gone-');

  it('new records still sort after the checkpoint LSN when every journal file was deleted', async () => {
    const home = await homes.directory();
    const connection = await homes.open(home, { storage: 'local', journal: true, journalCommitIntervalMs: 0 });
    connection.createTable('table:t', 'key_format=q,value_format=S', { shared: false });
    const cursor = connection.openSession().openCursor('table:t');
    for (let i = 0n; i < 50n; i++) cursor.put(i, 'x'.repeat(100));
    await connection.checkpoint();
    await connection.close();
    for (const name of logFiles(home)) rmSync(join(home, name));
    const reopened = await homes.open(home, { storage: 'local', journal: true, journalCommitIntervalMs: 0 });
    reopened.openSession().openCursor('table:t').put(100n, 'after');
    await reopened.syncJournal();
    const image = await homes.directory();
    cpSync(home, image, { recursive: true });
    const recovered = await openConnection(image, { storage: 'local', journal: true });
    try {
      expect(recovered.openSession().openCursor('table:t').get(100n)).to.equal('after');
    } finally {
      await recovered.close();
    }
  });
});

describe('journal: a refused open changes nothing (disaggregated home)', function () {
  this.timeout(120_000);
  const homes = testHomes('journal-refused-');

  it('a corrupt journal is refused before the page log is opened for writing', async () => {
    const home = await homes.directory();
    await runAndKill(home, 'disagg', { ackTarget: 200, syncEvery: 1, checkpointEvery: 150 });
    const name = logFiles(home).at(-1)!;
    const offsets: number[] = [];
    inspectLog(home, { onRecord: (file, record) => { if (logFileName(file) === name) offsets.push(record.offset); } });
    const path = join(home, name);
    const bytes = readFileSync(path);
    bytes[offsets[Math.floor(offsets.length / 2)]! + 20]! ^= 0xff;
    writeFileSync(path, bytes);
    const everything = (): Map<string, string> => new Map(readdirSync(home, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => [join(entry.parentPath, entry.name), readFileSync(join(entry.parentPath, entry.name)).toString('base64')]));
    const before = everything();
    const error = await homes.open(home, { storage: 'disagg', journal: true }).then(() => undefined, (e: unknown) => e);
    expect((error as EngineError).code).to.equal(ErrorCode.LogCorrupt);
    expect(everything()).to.deep.equal(before);
  });
});

describe('journal: a full disk (a real 8 MB tmpfs)', function () {
  this.timeout(60_000);
  const homes = testHomes('journal-full-');

  for (const fileMax of [100 * 1024 * 1024, 100 * 1024]) {
    const where = fileMax === 100 * 1024 ? 'with 100 KB files (the failure may come at a rotation)' : 'within one file';
    it(`${where}: a failed append is NO_SPACE naming the file, applies nothing, leaves no partial record, and the journal continues once space is freed`, async () => {
      const tmpfs = mountTmpfs(8);
      const home = join(tmpfs.path, 'db');
      let connection: Connection | undefined;
      try {
        mkdirSync(home);
        connection = await openConnection(home, { storage: 'local', journal: true, journalCommitIntervalMs: 0, journalFileMax: fileMax });
        connection.createTable('table:t', 'key_format=q,value_format=S', { shared: false });
        const session = connection.openSession();
        const cursor = session.openCursor('table:t');
        let ts = 0n;
        const commit = (key: bigint, value: string): void => {
          session.beginTransaction();
          cursor.put(key, value);
          session.commitTransaction({ commitTimestamp: ++ts });
          connection!.setTimestamps({ stable: ts });
        };
        for (let i = 0n; i < 10n; i++) commit(i, `checkpointed-${i}`);
        await connection.checkpoint();
        // More than half the space: once freed, a checkpoint of everything the journal holds fits.
        writeFileSync(join(tmpfs.path, 'filler'), Buffer.alloc(5 * 1024 * 1024, 1));

        // Fill with 64 KB commits, each synced (acknowledged), until one fails.
        const big = (key: bigint): string => `${key}:`.padEnd(64 * 1024, 'x');
        const acknowledged: bigint[] = [];
        let failure: unknown;
        for (let key = 100n; key < 200n && failure === undefined; key++) {
          try {
            commit(key, big(key));
          } catch (error) {
            failure = error;
            ts--;
            break;
          }
          await connection.syncJournal();
          acknowledged.push(key);
        }
        expect(failure, 'the file system never filled up').to.be.instanceOf(EngineError);
        const error = failure as EngineError;
        expect(error.code).to.equal(ErrorCode.NoSpace);
        expect(error.message).to.contain('journal').and.to.contain('no space left on the device');
        expect(error.location.file).to.match(/^WiredTigerLog\.\d{10}$/);
        expect(acknowledged.length).to.be.above(3);
        const failedKey = acknowledged.at(-1)! + 1n;
        expect(cursor.get(failedKey), 'the failed commit applied nothing').to.equal(undefined);
        // Within one file the failure is the record's write (with its offset); with small
        // files it may be the creation of the next file (no offset: nothing was appended).
        if (fileMax > 100 * 1024) expect(error.location.offset, 'the offset of the failed record').to.be.a('number');
        if (error.location.offset !== undefined) {
          // The record being written was cut off: the file ends where the failed record began.
          expect(statSync(join(home, error.location.file!)).size).to.equal(error.location.offset);
        }
        const inspection = inspectLog(home, {});
        expect(inspection.problems, 'no corrupt record').to.deep.equal([]);
        expect(inspection.tornTail, 'no partial record left behind').to.equal(undefined);

        // Still full: the next commit fails the same way (it is retried, not refused for good).
        expect(() => commit(failedKey + 1n, big(failedKey + 1n))).to.throw(EngineError).with.property('code', ErrorCode.NoSpace);
        ts--;
        expect(cursor.get(failedKey + 1n)).to.equal(undefined);

        rmSync(join(tmpfs.path, 'filler'));
        commit(1000n, 'after the space was freed');
        await connection.syncJournal();
        await connection.checkpoint();
        commit(1001n, 'journaled after the checkpoint');
        await connection.syncJournal();

        // A crash now (a copy of the files as they are) keeps every acknowledged commit, once.
        const image = await homes.directory();
        cpSync(home, image, { recursive: true });
        const reopened = await homes.open(image, { storage: 'local', journal: true });
        const values = new Map<bigint, string>();
        for (const [key, value] of reopened.openSession().openCursor('table:t').entries()) values.set(key as bigint, value as string);
        const expected = new Map<bigint, string>([
          ...Array.from({ length: 10 }, (_, i): [bigint, string] => [BigInt(i), `checkpointed-${i}`]),
          ...acknowledged.map((key): [bigint, string] => [key, big(key)]),
          [1000n, 'after the space was freed'], [1001n, 'journaled after the checkpoint'],
        ]);
        expect([...values.keys()]).to.deep.equal([...expected.keys()]);
        for (const [key, value] of expected) expect(values.get(key), `key ${key}`).to.equal(value);
      } finally {
        await connection?.close().catch(() => undefined);
        tmpfs.unmount();
      }
    });
  }
});
