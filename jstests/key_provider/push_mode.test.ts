import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Binary, Long, Timestamp, type Db, type MongoClient, type MongoServerError } from 'mongodb';
import { runReadPath, shimsPerTest, type LogLine, type ShimOptions, type ShimProcess } from '../libs/index.js';

/**
 * Key-provider push mode through the server, as WiredTiger's push-mode key-provider tests drive
 * the engine (`conn.get_key_provider().set_key`, then stable and a checkpoint): keys pushed with
 * `setKeyProviderKey` at timestamps, the stable timestamp moved by writes, checkpoints taken with
 * `fsync`, crashes and restarts, then which key the key-provider page holds, as `serverStatus`,
 * the log (the provider's load at every start) and `wt-readpath keys` show it. WiredTiger's
 * leader/follower role switches become restarts here: the queue of pushed keys lives in memory.
 *
 * The stable timestamp follows the writes; a write's timestamp is placed exactly by gossiping a
 * cluster time just below it (`$clusterTime`, as a driver does), far enough ahead of the wall
 * clock that nothing else moves it.
 */

const keyPrefix = 'abcdefghijklmnopqrstuvwxyz';
const pushModeOptions: ShimOptions = {
  replSet: 'rs0', setParameters: { enableTestCommands: 1, checkpointIntervalSecs: 0 }, keyProvider: 'mock', args: ['--pageLogRetain', 'all'],
};

/** Log ids of the key-provider events (server-shim/log/ids.ts). */
const KeyProviderLoaded = 7140260;
const KeyProviderKeyPushed = 7140261;
const KeyProviderKeyRotated = 7140262;
const KeyProviderUpdateFailed = 7140263;
const CheckpointFailed = 22435;

/** The timestamps of one scenario: increments within one second, 1000 s ahead of the wall clock. */
class Timeline {
  readonly seconds = Math.floor(Date.now() / 1000) + 1000;

  at(increment: number): Timestamp {
    return new Timestamp({ t: this.seconds, i: increment });
  }

  /** The engine's form of `at(increment)` (seconds high, increment low), as logs and the page header print it. */
  engine(increment: number): bigint {
    return (BigInt(this.seconds) << 32n) | BigInt(increment);
  }
}

function keyFor(increment: number): Buffer {
  return Buffer.from(`${keyPrefix}${increment}`, 'latin1');
}

async function pushKey(admin: Db, timeline: Timeline, increment: number): Promise<void> {
  await admin.command({ setKeyProviderKey: new Binary(keyFor(increment)), timestamp: timeline.at(increment) });
}

/**
 * One write whose timestamp is exactly `at(increment)`: the stable timestamp moves there. The
 * collection must exist (`launchWithCollection`): creating it would take a timestamp of its own.
 */
async function moveStableTo(client: MongoClient, timeline: Timeline, increment: number): Promise<void> {
  const session = client.startSession();
  try {
    session.advanceClusterTime({ clusterTime: timeline.at(increment - 1), signature: { hash: new Binary(Buffer.alloc(20)), keyId: Long.fromNumber(0) } });
    await client.db('app').collection('c').insertOne({ increment }, { session });
    expect(session.operationTime?.equals(timeline.at(increment)), `the write lands at the gossiped time + 1, not ${String(session.operationTime)} (wanted ${String(timeline.at(increment))})`).to.equal(true);
  } finally {
    await session.endSession();
  }
}

interface KeyProviderState {
  keyVersion: number;
  pageLsn: number;
  pendingKeyTimestamps: Timestamp[];
}

async function keyProviderState(admin: Db): Promise<KeyProviderState> {
  return (await admin.command({ serverStatus: 1 })).disagg.keyProvider as KeyProviderState;
}

interface KeyPageView {
  lsn: number;
  current: boolean;
  header: { timestamp: string };
  key: { module: string; keyVersion: number; origin: string; keyLength: number };
}

/** `wt-readpath keys --json` on the stopped server's dbpath. */
async function keyPages(dbpath: string): Promise<KeyPageView[]> {
  const result = await runReadPath(['keys', '--json', dbpath]);
  expect(result.exitCode, result.stderr).to.equal(0);
  return (JSON.parse(result.stdout) as { pages: KeyPageView[] }).pages;
}

function linesWithId(lines: LogLine[], id: number): LogLine[] {
  return lines.filter((line) => line.id === id);
}

/** Every log the runs of `shim` wrote, as text. */
function allLogText(shim: ShimProcess): string {
  const directory = shim.directory!;
  return readdirSync(directory).filter((name) => name.endsWith('.log')).map((name) => readFileSync(join(directory, name), 'utf8')).join('\n');
}

/** Fails when any pushed key appears in the logs, raw or encoded. */
function expectNoKeyBytes(shim: ShimProcess, increments: number[]): void {
  const text = allLogText(shim);
  expect(text.length).to.be.greaterThan(0);
  for (const increment of increments) {
    const key = keyFor(increment);
    for (const form of [key.toString('latin1'), key.toString('hex'), key.toString('base64'), keyPrefix]) {
      expect(text, `the log holds key bytes (${form})`).not.to.include(form);
    }
  }
}

describe('key provider: push mode through the server', function () {
  this.timeout(120_000);
  const shims = shimsPerTest();

  /** A server with the collection `moveStableTo` writes to, and a first checkpoint that persists the provider's own first key. */
  async function launchWithCollection(options: ShimOptions = pushModeOptions): Promise<ShimProcess> {
    const shim = await shims.launch(options);
    const client = await shim.client();
    await client.db('app').createCollection('c');
    await client.db('admin').command({ fsync: 1 });
    return shim;
  }

  it('persists the newest pushed key at or below stable at each fsync, keeps later keys queued, and wt-readpath and the restart see each key', async () => {
    const timeline = new Timeline();
    const shim = await launchWithCollection();
    let client = await shim.client();
    let admin = client.db('admin');
    const initial = await keyProviderState(admin);
    expect(initial.keyVersion).to.equal(1);

    // Keys at 10, 20 and 50; stable at 30: the key at 20 is persisted, 50 waits.
    for (const increment of [10, 20, 50]) await pushKey(admin, timeline, increment);
    await moveStableTo(client, timeline, 30);
    const first = await admin.command({ fsync: 1 });
    expect(first.checkpointTimestamp.equals(timeline.at(30))).to.equal(true);
    const afterFirst = await keyProviderState(admin);
    expect(afterFirst.keyVersion).to.equal(2);
    expect(afterFirst.pageLsn).to.be.greaterThan(initial.pageLsn);
    expect(afterFirst.pendingKeyTimestamps.map((timestamp) => timestamp.i)).to.deep.equal([50]);

    // Stable below the queued key: nothing new.
    await moveStableTo(client, timeline, 40);
    await admin.command({ fsync: 1 });
    expect(await keyProviderState(admin)).to.deep.include({ keyVersion: 2, pageLsn: afterFirst.pageLsn });

    // Stable reaches it: persisted. Then one more push, as each of WiredTiger's rounds does.
    await moveStableTo(client, timeline, 50);
    await admin.command({ fsync: 1 });
    await pushKey(admin, timeline, 60);
    await moveStableTo(client, timeline, 60);
    await admin.command({ fsync: 1 });
    const last = await keyProviderState(admin);
    expect(last).to.deep.include({ keyVersion: 4, pendingKeyTimestamps: [] });

    const rotations = linesWithId(shim.logLines(), KeyProviderKeyRotated).map((line) => line.attr);
    expect(rotations.slice(-3).map((attr) => attr?.keyTimestamp)).to.deep.equal([20, 50, 60].map((increment) => String(timeline.engine(increment))));
    expect(rotations.slice(-3).every((attr) => attr?.origin === 'pushed')).to.equal(true);
    expect(linesWithId(shim.logLines(), KeyProviderKeyPushed)).to.have.length(4);

    await shim.stop();
    const pages = await keyPages(shim.dbpath);
    const pushed = pages.filter((page) => page.key.origin === 'pushed');
    expect(pushed.map((page) => BigInt(page.header.timestamp))).to.deep.equal([20, 50, 60].map((increment) => timeline.engine(increment)));
    expect(pushed.map((page) => [page.key.keyVersion, page.key.keyLength])).to.deep.equal([[2, 28], [3, 28], [4, 28]]);
    expect(pushed.map((page) => page.lsn)).to.deep.equal([...pushed.map((page) => page.lsn)].sort((a, b) => a - b));
    expect(pushed.at(-1)).to.deep.include({ current: true, lsn: last.pageLsn });

    // The restart hands the provider the last key page: its LSN and the key's timestamp.
    await shim.start();
    client = await shim.client();
    admin = client.db('admin');
    const loaded = linesWithId(shim.logLines(), KeyProviderLoaded);
    expect(loaded).to.have.length(1);
    expect(loaded[0]!.c).to.equal('KEY_PROVIDER');
    expect(loaded[0]!.attr).to.deep.include({ module: 'mock', keyVersion: 4, pageLsn: last.pageLsn, keyTimestamp: String(timeline.engine(60)) });
    expect(await keyProviderState(admin)).to.deep.include({ keyVersion: 4, pageLsn: last.pageLsn, pendingKeyTimestamps: [] });
    await shim.stop();
    expectNoKeyBytes(shim, [10, 20, 50, 60]);
  });

  it('keeps each persisted key across kill -9 and restarts, loses a key no checkpoint persisted, and keeps timestamps increasing', async () => {
    const timeline = new Timeline();
    const shim = await launchWithCollection();
    const loadedPages: number[] = [];
    for (const increment of [10, 20, 30]) {
      const client = await shim.client();
      const admin = client.db('admin');
      await pushKey(admin, timeline, increment);
      await moveStableTo(client, timeline, increment);
      await admin.command({ fsync: 1 });
      const state = await keyProviderState(admin);
      // A key not yet due when the process dies: nothing persisted it, so the restart forgets it.
      await pushKey(admin, timeline, increment + 5);
      await shim.kill();
      await shim.start();
      const loaded = linesWithId(shim.logLines(), KeyProviderLoaded)[0]!;
      expect(loaded.attr).to.deep.include({ pageLsn: state.pageLsn, keyTimestamp: String(timeline.engine(increment)), keyVersion: state.keyVersion });
      loadedPages.push(state.pageLsn);
      const restarted = (await shim.client()).db('admin');
      expect(await keyProviderState(restarted)).to.deep.include({ pageLsn: state.pageLsn, pendingKeyTimestamps: [] });
    }
    await shim.stop();
    const pushed = (await keyPages(shim.dbpath)).filter((page) => page.key.origin === 'pushed');
    expect(pushed.map((page) => BigInt(page.header.timestamp))).to.deep.equal([10, 20, 30].map((increment) => timeline.engine(increment)));
    expect(pushed.map((page) => page.lsn)).to.deep.equal(loadedPages);
    expectNoKeyBytes(shim, [10, 15, 20, 25, 30, 35]);
  });

  it('refuses a key that is not BinData, a timestamp at or below stable or the last key pushed, and a server whose provider has no push mode, each with its code', async () => {
    const timeline = new Timeline();
    const shim = await launchWithCollection();
    const client = await shim.client();
    const admin = client.db('admin');
    await moveStableTo(client, timeline, 10);
    const failure = async (command: Record<string, unknown>): Promise<MongoServerError> =>
      (await admin.command(command).then(() => expect.fail('expected the command to fail'), (error: unknown) => error)) as MongoServerError;

    expect((await failure({ setKeyProviderKey: 'not binary', timestamp: timeline.at(20) })).code).to.equal(14);
    expect((await failure({ setKeyProviderKey: new Binary(keyFor(20)), timestamp: 20 })).code).to.equal(14);
    expect((await failure({ setKeyProviderKey: new Binary(keyFor(20)) })).code).to.equal(40414);
    expect((await failure({ setKeyProviderKey: new Binary(keyFor(20)), timestamp: timeline.at(20), extra: 1 })).code).to.equal(40415);
    expect((await failure({ setKeyProviderKey: new Binary(Buffer.alloc(0)), timestamp: timeline.at(20) })).code).to.equal(2);
    const atStable = await failure({ setKeyProviderKey: new Binary(keyFor(10)), timestamp: timeline.at(10) });
    expect(atStable.code).to.equal(2);
    expect(atStable.errmsg).to.include('stable timestamp');
    await pushKey(admin, timeline, 20);
    const older = await failure({ setKeyProviderKey: new Binary(keyFor(15)), timestamp: timeline.at(15) });
    expect(older.code).to.equal(2);
    expect(older.errmsg).to.include('last key pushed');
    expect((await keyProviderState(admin)).pendingKeyTimestamps.map((timestamp) => timestamp.i)).to.deep.equal([20]);
    expect(JSON.stringify(older)).not.to.include(keyPrefix);

    const noop = await shims.launch({ ...pushModeOptions, keyProvider: 'noop' });
    const noopFailure = await (await noop.client()).db('admin').command({ setKeyProviderKey: new Binary(keyFor(20)), timestamp: timeline.at(20) })
      .then(() => expect.fail('expected the command to fail'), (error: unknown) => error as MongoServerError);
    expect(noopFailure.code).to.equal(20);
    expect(noopFailure.errmsg).to.include('no push mode');

    const gated = await shims.launch({ ...pushModeOptions, setParameters: {} });
    const unknown = await (await gated.client()).db('admin').command({ setKeyProviderKey: new Binary(keyFor(20)), timestamp: timeline.at(20) })
      .then(() => expect.fail('expected the command to fail'), (error: unknown) => error as MongoServerError);
    expect(unknown.code).to.equal(59);
    expectNoKeyBytes(shim, [10, 15, 20]);
  });

  it('logs a failed onKeyUpdate and the checkpoint it fails (fsync, and fsync with lock), keeps the key queued, and persists it at the next fsync', async () => {
    const timeline = new Timeline();
    // onKeyUpdate call 1 adopts the first key at start-up; call 2 is the pushed key's.
    const shim = await launchWithCollection({ ...pushModeOptions, keyProviderConfig: 'fail_on_key_update=2' });
    let client = await shim.client();
    let admin = client.db('admin');
    await pushKey(admin, timeline, 10);
    await moveStableTo(client, timeline, 10);
    const failed = (await admin.command({ fsync: 1 }).then(() => expect.fail('expected fsync to fail'), (error: unknown) => error)) as MongoServerError;
    expect(failed.errorResponse.engineError).to.deep.include({ code: 'KEY_PROVIDER' });
    const failureLines = linesWithId(shim.logLines(), KeyProviderUpdateFailed);
    expect(failureLines).to.have.length(1);
    expect(failureLines[0]!).to.deep.include({ s: 'E', c: 'KEY_PROVIDER' });
    expect(failureLines[0]!.attr).to.deep.include({ module: 'mock', step: 'onKeyUpdate', keyVersion: 1 });
    const checkpointFailures = linesWithId(shim.logLines(), CheckpointFailed);
    expect(checkpointFailures).to.have.length(1);
    expect(checkpointFailures[0]!.attr).to.deep.include({ engineErrorCode: 'KEY_PROVIDER' });
    expect((await admin.command({ serverStatus: 1 })).disagg.lastCheckpointFailure).to.deep.include({ code: 'KEY_PROVIDER' });
    expect((await keyProviderState(admin)).pendingKeyTimestamps.map((timestamp) => timestamp.i)).to.deep.equal([10]);

    await admin.command({ fsync: 1 });
    const persisted = await keyProviderState(admin);
    expect(persisted).to.deep.include({ keyVersion: 2, pendingKeyTimestamps: [] });
    expect((await admin.command({ serverStatus: 1 })).disagg.lastCheckpointFailure).to.equal(null);
    await shim.stop();

    // Restarted with the same configuration, the calls count from 1 again: the second pushed
    // key fails, this time in the checkpoint an fsync lock takes.
    await shim.start();
    client = await shim.client();
    admin = client.db('admin');
    await pushKey(admin, timeline, 20);
    await moveStableTo(client, timeline, 20);
    await admin.command({ fsync: 1 });
    await pushKey(admin, timeline, 30);
    await moveStableTo(client, timeline, 30);
    const lockFailure = (await admin.command({ fsync: 1, lock: true }).then(() => expect.fail('expected the locked fsync to fail'), (error: unknown) => error)) as MongoServerError;
    expect(lockFailure.errorResponse.engineError).to.deep.include({ code: 'KEY_PROVIDER' });
    expect(linesWithId(shim.logLines(), KeyProviderUpdateFailed)).to.have.length(1);
    expect(linesWithId(shim.logLines(), CheckpointFailed).map((line) => line.attr?.engineErrorCode)).to.deep.equal(['KEY_PROVIDER']);
    const locked = await admin.command({ fsync: 1, lock: true });
    expect(locked.checkpointTimestamp.equals(timeline.at(30))).to.equal(true);
    await admin.command({ fsyncUnlock: 1 });
    expect(await keyProviderState(admin)).to.deep.include({ keyVersion: 4, pendingKeyTimestamps: [] });
    await shim.stop();
    const lastPage = (await keyPages(shim.dbpath)).at(-1)!;
    expect(lastPage.current).to.equal(true);
    expect(BigInt(lastPage.header.timestamp)).to.equal(timeline.engine(30));
    expectNoKeyBytes(shim, [10, 20, 30]);
  });
});
