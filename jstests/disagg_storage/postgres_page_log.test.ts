import { expect } from 'chai';
import { Timestamp, type Document, type MongoClient, type MongoServerError } from 'mongodb';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { startPostgresServer, type PostgresServer } from '../../engine/testing/postgres_server.js';
import {
  allDocuments, checkpointOn, copyDbpathSlowly, expectStartFailure, disaggStatus, freePort, launchFollower, openBackupCursor, oplogAfter, pageLogOf, parseLogLines, restoreStream,
  runReadPath, runShim, serverError, shimsPerTest, waitForPickUp, waitUntil, type ShimProcess,
} from '../libs/index.js';

/** Documents with any `_id` (the driver's default schema wants an ObjectId). */
type Doc = { _id: number | string; qty?: number; body?: string };

/**
 * The page log in a PostgreSQL database (`--pageLog postgres://...`): one PostgreSQL server for
 * the file, a fresh database per test. Leader and followers are separate server processes,
 * each on a dbpath of its own, sharing the database.
 */
describe('disaggregated storage: the page log in PostgreSQL', function () {
  this.timeout(180_000);
  const shims = shimsPerTest();
  let postgres: PostgresServer;
  let databases = 0;

  before(async function () {
    this.timeout(120_000);
    postgres = await startPostgresServer();
  });

  after(async () => {
    await postgres?.destroy();
  });

  /** A new database on the server, and its URL. */
  async function freshDatabase(): Promise<string> {
    const name = `pagelog_${++databases}`;
    await postgres.createDatabase(name);
    return postgres.url(name);
  }

  /** Fails when the password appears in any text a user sees: messages, log lines, tool output. */
  function expectNoPassword(...texts: string[]): void {
    for (const text of texts) expect(text.includes(postgres.password), `the password leaked into: ${text.slice(0, 2000)}`).to.equal(false);
  }

  /** Everything `shim` logged in all its runs (one log file per start). */
  function wholeLog(shim: ShimProcess): string {
    const directory = shim.directory;
    if (directory === undefined) return shim.tail(10_000);
    return readdirSync(directory).filter((name) => /^mongod-\d+\.log$/.test(name)).map((name) => readFileSync(join(directory, name), 'utf8')).join('');
  }

  /** The error a command rejects with (undefined when it succeeds). */
  function failureOf(promise: Promise<unknown>): Promise<MongoServerError | undefined> {
    return promise.then(() => undefined, (error: unknown) => error as MongoServerError);
  }

  /** The store is out of reach: the engine's code, or a message saying so. */
  function expectStoreUnavailable(error: MongoServerError | undefined): void {
    expect(error, 'the command should have failed').to.not.equal(undefined);
    const engineCode = (error!.errorResponse?.engineError as Document | undefined)?.code as string | undefined;
    expect(`${engineCode ?? ''} ${error!.message}`).to.match(/STORE_UNAVAILABLE|out of reach|cannot be reached/);
    expectNoPassword(error!.message, JSON.stringify(error!.errorResponse ?? {}));
  }

  it('serves two followers exactly the leader\'s data as of each checkpoint, refuses their writes, and fences the old leader at a step-up; wt-readpath reads the log', async () => {
    const url = await freshDatabase();
    const leader = await shims.launch({ replSet: 'rs0', pageLog: url, setParameters: { checkpointIntervalSecs: 0 } });
    expect(pageLogOf(leader)).to.equal(url);
    const leaderClient = await leader.client();
    const orders = leaderClient.db('app').collection<Doc>('orders');
    await orders.insertMany(Array.from({ length: 400 }, (_, i) => ({ _id: i, qty: i % 7 })));
    const first = await checkpointOn(leaderClient);
    const atFirst = await allDocuments(leaderClient, 'app', 'orders');
    const pageLogStatus = (await disaggStatus(leaderClient)).pageLog as Document;
    expect(pageLogStatus).to.include({ store: 'postgres', mappedBytes: null });
    expectNoPassword(JSON.stringify(pageLogStatus));

    const followers = [
      await launchFollower(shims, leader, { setParameters: { disaggPickUpIntervalMs: 100 } }),
      await launchFollower(shims, leader, { setParameters: { disaggPickUpIntervalMs: 100 } }),
    ];
    expect(new Set(followers.map((follower) => follower.dbpath)).size).to.equal(2);
    const clients: MongoClient[] = [];
    for (const follower of followers) clients.push(await follower.client());
    for (const client of clients) {
      const status = await waitForPickUp(client, first);
      expect(status).to.include({ role: 'follower', waitingForCheckpoint: false });
      expect(await allDocuments(client, 'app', 'orders')).to.deep.equal(atFirst);
    }

    // Written, not checkpointed: no follower sees it; then checkpointed: every follower does.
    await orders.updateMany({ qty: 0 }, { $set: { qty: 100 } });
    await orders.deleteMany({ _id: { $gte: 300 } });
    await orders.insertOne({ _id: 'late' });
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const client of clients) expect(await allDocuments(client, 'app', 'orders')).to.deep.equal(atFirst);
    const second = await checkpointOn(leaderClient);
    const atSecond = await allDocuments(leaderClient, 'app', 'orders');
    for (const client of clients) {
      await waitForPickUp(client, second);
      expect(await allDocuments(client, 'app', 'orders')).to.deep.equal(atSecond);
    }

    // A follower refuses writes: NotWritablePrimary, nothing applied.
    const followerOrders = clients[0]!.db('app').collection<Doc>('orders');
    for (const write of [
      () => followerOrders.insertOne({ _id: 'x' }),
      () => followerOrders.updateOne({ _id: 1 }, { $set: { qty: -1 } }),
      () => followerOrders.deleteOne({ _id: 1 }),
    ]) {
      expect((await serverError(write())).code, String(write)).to.equal(10107);
    }
    expect(await allDocuments(clients[0]!, 'app', 'orders')).to.deep.equal(atSecond);

    // Step-up of the first follower: the old leader (still running) is fenced.
    await orders.insertOne({ _id: 'old-leader-1' });
    const up = await clients[0]!.db('admin').command({ replSetStepUp: 1 });
    expect(Number(up.term)).to.equal(2);
    expect(await disaggStatus(clients[0]!)).to.include({ role: 'leader' });
    const refused = await failureOf(leaderClient.db('admin').command({ fsync: 1 }));
    if (refused !== undefined) {
      expect(refused.code).to.equal(10107);
      expect((refused.errorResponse?.engineError as Document | undefined)?.code ?? refused.message).to.match(/FENCED|fenced/);
      expect(refused.message).to.contain('term 1 was fenced by term 2');
    } else {
      // Its lease renewal met the new term first and it stepped down before the fsync.
      expect(leader.logLines().some((line) => line.id === 21402), 'stepped down before the fsync').to.equal(true);
    }
    await waitUntil('the old leader steps down', async () => (await leaderClient.db('admin').command({ hello: 1 })).isWritablePrimary !== true);
    expect((await serverError(orders.insertOne({ _id: 'old-leader-2' }))).code).to.equal(10107);

    await clients[0]!.db('app').collection<Doc>('orders').insertOne({ _id: 'new-leader' });
    const third = await checkpointOn(clients[0]!);
    const expected = [...atSecond, { _id: 'new-leader' }].sort((a, b) => String(a._id).localeCompare(String(b._id)));
    const ids = (documents: Document[]): string[] => documents.map((d) => String(d._id)).sort();
    for (const client of [clients[1]!, leaderClient]) {
      await waitForPickUp(client, third);
      const seen = await allDocuments(client, 'app', 'orders');
      expect(ids(seen)).to.deep.equal(ids(expected));
      expect(seen.some((d) => String(d._id).startsWith('old-leader'))).to.equal(false);
    }
    await followers[1]!.stop();
    await leader.stop();
    await followers[0]!.stop();

    // wt-readpath reads the home with its page log in PostgreSQL: verify, log, stat.
    for (const command of ['verify', 'log', 'stat']) {
      const result = await runReadPath([command, followers[0]!.dbpath, '--page-log', url]);
      expect(result.exitCode, `wt-readpath ${command}: ${result.stdout}${result.stderr}`).to.equal(0);
      expectNoPassword(result.stdout, result.stderr);
    }
    const log = await runReadPath(['log', followers[0]!.dbpath, '--page-log', url, '--json']);
    expect(log.exitCode, log.stderr).to.equal(0);
    const nodes = JSON.parse(log.stdout) as { terms: Document[] };
    expect(nodes.terms.map((term) => term.term)).to.deep.equal([1, 2]);
    for (const shim of [leader, ...followers]) expectNoPassword(wholeLog(shim));
  });

  it('fails a checkpoint while PostgreSQL is down with STORE_UNAVAILABLE, stays up, checkpoints again once it is back, and loses nothing acknowledged across a kill -9', async () => {
    const url = await freshDatabase();
    const leader = await shims.launch({ replSet: 'rs0', pageLog: url, setParameters: { checkpointIntervalSecs: 0 } });
    let client = await leader.client();
    let items = client.db('app').collection<Doc>('items');
    await items.insertMany(Array.from({ length: 300 }, (_, i) => ({ _id: i, body: `first ${i}` })));
    await checkpointOn(client);

    // Writes, then PostgreSQL goes away before the checkpoint.
    await items.insertMany(Array.from({ length: 200 }, (_, i) => ({ _id: 1000 + i, body: `between ${i}` })), { writeConcern: { j: true } });
    await items.updateMany({ _id: { $lt: 50 } }, { $set: { body: 'updated' } }, { writeConcern: { j: true } });
    await postgres.stop();
    try {
      expectStoreUnavailable(await failureOf(client.db('admin').command({ fsync: 1 })));
      // The process is up and serves reads and journaled writes.
      expect(leader.state).to.equal('running');
      expect(await items.countDocuments()).to.equal(500);
      await items.insertOne({ _id: 'while down' }, { writeConcern: { j: true } });
      expectStoreUnavailable(await failureOf(client.db('admin').command({ fsync: 1 })));
    } finally {
      await postgres.start();
    }
    const back = await checkpointOn(client);
    const atBack = await allDocuments(client, 'app', 'items');
    expect(atBack).to.have.length(501);

    // A checkpoint with PostgreSQL stopped while it runs (a larger one): it fails (or, when it
    // finished first, it succeeded). Then the leader is killed before PostgreSQL is back: the
    // restart drops what the interrupted checkpoint stored and replays the journal.
    await items.insertMany(Array.from({ length: 2_000 }, (_, i) => ({ _id: 5000 + i, body: `mid ${i}`.padEnd(500, '.') })), { writeConcern: { j: true } });
    const beforeCrash = await allDocuments(client, 'app', 'items');
    const racing = failureOf(client.db('admin').command({ fsync: 1 }));
    await postgres.stop();
    try {
      const outcome = await racing;
      if (outcome !== undefined) expectStoreUnavailable(outcome);
      expect(leader.state).to.equal('running');
      expect(await items.countDocuments()).to.equal(2_501);
      await leader.kill();
    } finally {
      await postgres.start();
    }
    await leader.start();
    client = await leader.client();
    items = client.db('app').collection<Doc>('items');
    expect(await allDocuments(client, 'app', 'items')).to.deep.equal(beforeCrash);
    const checkpointed = await checkpointOn(client);
    expect(BigInt(checkpointed) > BigInt(back), `${checkpointed} after ${back}`).to.equal(true);
    const atCheckpoint = await allDocuments(client, 'app', 'items');
    // Journaled, never checkpointed.
    await items.insertOne({ _id: 'journaled' }, { writeConcern: { j: true } });
    const acknowledged = await allDocuments(client, 'app', 'items');

    await leader.kill();
    await leader.start();
    client = await leader.client();
    expect(await allDocuments(client, 'app', 'items')).to.deep.equal(acknowledged);
    await leader.stop();
    expect(leader.logLines().filter((line) => line.s === 'F')).to.deep.equal([]);
    expectNoPassword(wholeLog(leader));

    // A follower started afterwards sees every checkpointed write.
    const restarted = await shims.launch({ dbpath: leader.dbpath, replSet: 'rs0', pageLog: url, setParameters: { checkpointIntervalSecs: 0 } });
    const restartedClient = await restarted.client();
    const last = await checkpointOn(restartedClient);
    const follower = await launchFollower(shims, restarted);
    const followerClient = await follower.client();
    await waitForPickUp(followerClient, last);
    const seen = await allDocuments(followerClient, 'app', 'items');
    expect(seen).to.deep.equal(acknowledged);
    expect(seen.length).to.equal(atCheckpoint.length + 1);
    await follower.stop();
    await restarted.stop();
  });

  it('reports an error on a follower whose reads lose PostgreSQL, stays up, and reads again once it is back', async () => {
    const url = await freshDatabase();
    const leader = await shims.launch({ pageLog: url, setParameters: { checkpointIntervalSecs: 0 } });
    const leaderClient = await leader.client();
    const docs = leaderClient.db('app').collection<Doc>('docs');
    await docs.insertMany(Array.from({ length: 4_000 }, (_, i) => ({ _id: i, body: `doc ${i}`.padEnd(400, '.') })));
    const first = await checkpointOn(leaderClient);
    const expected = await allDocuments(leaderClient, 'app', 'docs');
    const follower = await launchFollower(shims, leader, { setParameters: { disaggPickUpIntervalMs: 100 } });
    const client = await follower.client();
    await waitForPickUp(client, first);

    // A find over every document, one small batch read, then PostgreSQL goes away.
    const cursor = client.db('app').collection<Doc>('docs').find({}, { batchSize: 50 }).sort({ _id: 1 });
    const seen: Document[] = [];
    for (let i = 0; i < 50; i++) seen.push(await cursor.next() as Document);
    await postgres.stop();
    let failure: MongoServerError | undefined;
    try {
      try {
        for (let next = await cursor.next(); next !== null; next = await cursor.next()) seen.push(next);
      } catch (error) {
        failure = error as MongoServerError;
      }
      // Either the read failed, or it was served whole from pages already read: never a
      // short result served as if fine.
      if (failure === undefined) {
        expect(seen).to.deep.equal(expected);
      } else {
        expectStoreUnavailable(failure);
        expect(seen.length).to.be.below(expected.length);
      }
      await cursor.close().catch(() => undefined);
      // A fresh read of pages not in the cache: an error, not an empty answer.
      const lookup = await failureOf(client.db('app').collection<Doc>('docs').find({ _id: { $gte: 3_990 } }).toArray().then((found) => {
        // Served from the cache: it must then be exactly the data.
        expect(found).to.deep.equal(expected.slice(3_990));
        throw new Error('served from the cache');
      }));
      if (lookup?.message !== 'served from the cache') expectStoreUnavailable(lookup);
      expect(failure !== undefined || lookup?.message !== 'served from the cache', 'some read met the missing store').to.equal(true);
      // The follower is up and answers.
      expect(follower.state).to.equal('running');
      expect((await client.db('admin').command({ ping: 1 })).ok).to.equal(1);
    } finally {
      await postgres.start();
    }
    await waitUntil('the follower reads again', async () => {
      try {
        return (await allDocuments(client, 'app', 'docs')).length === expected.length;
      } catch {
        return false;
      }
    }, 30_000);
    expect(await allDocuments(client, 'app', 'docs')).to.deep.equal(expected);
    // And it picks up the leader's next checkpoint.
    await docs.insertOne({ _id: 'after' });
    const second = await checkpointOn(leaderClient);
    await waitForPickUp(client, second, 30_000);
    expect(await client.db('app').collection<Doc>('docs').countDocuments()).to.equal(expected.length + 1);
    await follower.stop();
    await leader.stop();
    expectNoPassword(wholeLog(follower));
  });

  it('refuses a $backupCursor on a leader whose page log is in PostgreSQL (the log is not copied with the home) and goes on serving', async () => {
    const url = await freshDatabase();
    const leader = await shims.launch({ replSet: 'rs0', keyProvider: 'example', pageLog: url, setParameters: { enableTestCommands: 1, checkpointIntervalSecs: 1 } });
    const client = await leader.client();
    await client.db('app').collection<Doc>('orders').insertMany(Array.from({ length: 100 }, (_, i) => ({ _id: i, qty: i })));
    await checkpointOn(client);
    // Twice: the first refusal left no backup open behind it.
    for (let attempt = 0; attempt < 2; attempt++) {
      const refused = await failureOf(openBackupCursor(client));
      expect(refused, 'the backup cursor should be refused').to.not.equal(undefined);
      expect(refused!.code).to.equal(2);
      expect(refused!.message).to.contain('not copied with the home');
      expectNoPassword(refused!.message);
      // Nothing of the refused backup stays in the home (a later start would take it for a copy).
      for (const leftover of ['WiredTiger.backup', 'pagelog.backup']) expect(existsSync(join(leader.dbpath, leftover)), leftover).to.equal(false);
    }
    await client.db('app').collection<Doc>('orders').insertOne({ _id: 'after' });
    await checkpointOn(client);
    expect(await client.db('app').collection<Doc>('orders').countDocuments()).to.equal(101);
    await leader.stop();
    expectNoPassword(wholeLog(leader));
  });

  it('magic-restores a copy taken under the fsync lock onto the same PostgreSQL database: the point in time, the cluster parameters cleaned', async () => {
    // The page log is not in the copy: the restore opens the checkpoint the copied home pairs
    // with in the database the source used. The source keeps every checkpoint, so that one is
    // still there once the source went on and stopped.
    const url = await freshDatabase();
    const setParameters = { enableTestCommands: 1, checkpointIntervalSecs: 1 };
    const common = { replSet: 'rs0', keyProvider: 'example', pageLog: url, setParameters } as const;
    const source = await shims.launch({ ...common, args: ['--pageLogRetain', 'all'] });
    const client = await source.client();
    const app = client.db('app');
    const admin = client.db('admin');
    await app.collection('orders').insertMany(Array.from({ length: 300 }, (_, i) => ({ _id: i, item: `item ${i}`, qty: i % 7 })) as never[]);
    await admin.command({ setClusterParameter: { changeStreamOptions: { preAndPostImages: { expireAfterSeconds: 30 } } } });
    await admin.command({ setClusterParameter: { testIntClusterParameter: { intData: 42 } } });

    const locked = await admin.command({ fsync: 1, lock: true });
    const maxCheckpointTs = locked.checkpointTimestamp as Timestamp;
    const backup = await copyDbpathSlowly(source.dbpath, 50);
    await admin.command({ fsyncUnlock: 1 });

    await app.collection('orders').updateMany({ qty: 3 }, { $set: { status: 'shipped' } });
    await app.collection('orders').deleteMany({ _id: { $lt: 20 } } as never);
    await admin.command({ setClusterParameter: { testStrClusterParameter: { strData: 'written after the backup' } } });
    const expected = await allDocuments(client, 'app', 'orders');
    expect(expected).to.have.length(280);
    const upToPointInTime = await oplogAfter(client, maxCheckpointTs);
    const pointInTimeTimestamp = upToPointInTime[upToPointInTime.length - 1]!.ts as Timestamp;
    await app.collection('orders').deleteMany({});
    await checkpointOn(client);
    const entries = await oplogAfter(client, maxCheckpointTs);
    expect(entries.length).to.be.greaterThan(upToPointInTime.length);
    const replicaSetConfig = (await admin.command({ replSetGetConfig: 1 })).config as Document;
    await source.stop();

    const restore = await runShim(['--magicRestore', '--dbpath', backup, '--replSet', 'rs0', '--keyProvider', 'example', '--pageLog', url], {
      input: restoreStream({ nodeType: 'replicaSet', replicaSetConfig, maxCheckpointTs, pointInTimeTimestamp }, entries),
    });
    expect(restore.exitCode, restore.stdout.slice(-3000)).to.equal(0);
    expect(parseLogLines(restore.stdout).some((line) => line.c === 'RESTORE' && line.msg === 'Finished magic restore')).to.equal(true);
    expectNoPassword(restore.stdout, restore.stderr);
    const restored = await shims.launch({ ...common, dbpath: backup });
    const restoredClient = await restored.client();
    expect(await allDocuments(restoredClient, 'app', 'orders')).to.deep.equal(expected);
    const parameters = await restoredClient.db('config').collection('clusterParameters').find({}).sort({ _id: 1 }).toArray();
    expect(parameters.map((p) => p._id)).to.deep.equal(['changeStreamOptions']);
    const status = await restoredClient.db('admin').command({ replSetGetStatus: 1 });
    expect((status.lastStableRecoveryTimestamp as Timestamp).equals(pointInTimeTimestamp)).to.equal(true);
    // A follower of the restored node sees the restored data.
    const last = await checkpointOn(restoredClient);
    const follower = await launchFollower(shims, restored);
    const followerClient = await follower.client();
    await waitForPickUp(followerClient, last);
    expect(await allDocuments(followerClient, 'app', 'orders')).to.deep.equal(expected);
    await follower.stop();
    await restored.stop();
    const verify = await runReadPath(['verify', backup, '--page-log', url]);
    expect(verify.exitCode, verify.stdout + verify.stderr).to.equal(0);
    await rm(dirname(backup), { recursive: true, force: true });
  });

  it('refuses bad page-log locations at start-up with exit code 6, a fatal line with its code, and no password', async () => {
    const url = await freshDatabase();
    const closedPort = await freePort();
    const storeModule = mkdtempSync(join(tmpdir(), 'store-module-'));
    const useless = join(storeModule, 'x.mjs');
    writeFileSync(useless, 'export const nothing = 1;\n');
    try {
      const cases: Array<{ what: string; location: string; code: string; message: string }> = [
        {
          what: 'a closed port', location: `postgres://${postgres.user}:${postgres.password}@127.0.0.1:${closedPort}/pagelog_x`,
          code: 'STORE_UNAVAILABLE', message: 'cannot connect to the page log\'s PostgreSQL store',
        },
        {
          what: 'a wrong password', location: url.replace(`:${postgres.password}@`, ':not-the-password@'),
          code: 'STORE_UNAVAILABLE', message: 'password authentication failed',
        },
        {
          what: 'an unknown scheme', location: `mysql://${postgres.user}:${postgres.password}@127.0.0.1:${postgres.port}/pagelog`,
          code: 'STORE_INVALID', message: 'no page log store takes mysql:// URLs',
        },
        { what: 'a module exporting nothing useful', location: useless, code: 'STORE_INVALID', message: 'does not export openPageLogStore' },
      ];
      for (const { what, location, code, message } of cases) {
        const shim = shims.create({ pageLog: location });
        const fatal = await expectStartFailure(shim, 6);
        expect((fatal.attr as Document).engineErrorCode, `${what}: ${JSON.stringify(fatal)}`).to.equal(code);
        expect(fatal.msg, what).to.contain('Failed to open the storage engine').and.contain(message);
        expectNoPassword(shim.tail(10_000), wholeLog(shim));
        expect(shim.tail(10_000).includes('not-the-password'), what).to.equal(false);
      }

      // A home paired with one database's log, pointed at another home's database.
      const a = await shims.launch({ pageLog: url });
      const aClient = await a.client();
      await aClient.db('app').collection<Doc>('c').insertOne({ _id: 1 });
      await checkpointOn(aClient);
      await a.stop();
      const otherUrl = await freshDatabase();
      const b = await shims.launch({ pageLog: otherUrl });
      const bClient = await b.client();
      await bClient.db('app').collection<Doc>('c').insertOne({ _id: 2 });
      await checkpointOn(bClient);
      await b.stop();
      const moved = shims.create({ dbpath: b.dbpath, pageLog: url });
      const mismatch = await expectStartFailure(moved, 6);
      expect((mismatch.attr as Document).engineErrorCode).to.equal('PAGE_LOG_MISMATCH');
      expectNoPassword(moved.tail(10_000));
      // Both logs are untouched: each home still opens on its own.
      for (const [shim, id] of [[a, 1], [b, 2]] as const) {
        await shim.start();
        const c = await shim.client();
        expect(await allDocuments(c, 'app', 'c')).to.deep.equal([{ _id: id }]);
        await shim.stop();
      }
    } finally {
      rmSync(storeModule, { recursive: true, force: true });
    }
  });
});
