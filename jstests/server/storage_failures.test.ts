import { expect } from 'chai';
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MongoClient } from 'mongodb';
import { shimsPerTest, type LogLine, type ShimProcess } from '../libs/index.js';
import { mountTmpfs } from '../../engine/testing/tmpfs.js';

/**
 * Storage that vanishes, is replaced or fills while the server runs: the failing checkpoint or
 * journal write replies with an error, serverStatus and the log say why, the server stays up
 * serving reads, a write that failed is neither acknowledged nor visible, and nothing the server
 * acknowledged as durable is lost. The disk-full cases run on a real
 * tmpfs the test mounts and unmounts itself (this needs root: without it they fail, naming the
 * reason, and are never skipped).
 */

interface CommandFailure {
  code?: number;
  codeName?: string;
  errmsg?: string;
  engineError?: { code?: string };
}

async function commandFailure(work: () => Promise<unknown>): Promise<CommandFailure> {
  try {
    await work();
  } catch (error) {
    return asFailure(error);
  }
  return expect.fail('expected the command to fail');
}

async function rejection(work: () => Promise<unknown>): Promise<string> {
  try {
    await work();
  } catch (error) {
    return (error as Error).message;
  }
  return expect.fail('expected a rejection');
}

function linesWith(shim: ShimProcess, msg: string): LogLine[] {
  return shim.logLines().filter((line) => line.msg === msg);
}

async function count(client: MongoClient): Promise<number> {
  return client.db('app').collection('c').countDocuments({});
}

async function insertRound(client: MongoClient, first: number, size = 20_000, docs = 50): Promise<void> {
  await client.db('app').collection<{ _id: number; pad: string }>('c').insertMany(Array.from({ length: docs }, (_, i) => ({ _id: first + i, pad: 'x'.repeat(size) })));
}

/** A command's failure as the client sees it (the reply's fields, also when the driver wraps it). */
function asFailure(error: unknown): CommandFailure {
  const failure = error as CommandFailure & { errorResponse?: CommandFailure };
  return { ...failure, ...(failure.errorResponse ?? {}) };
}

interface WriteFailure extends CommandFailure {
  engineError?: { code?: string; file?: string; offset?: number };
}

interface Fill {
  /** The first insert that failed: its write error, or the command's error when it was refused whole. */
  failure: WriteFailure;
  /** Documents acknowledged with `j: true` (ids 0 to acknowledged - 1): each is durable. */
  acknowledged: number;
  /** The fsyncs (checkpoints) that failed on the way. */
  fsyncFailures: CommandFailure[];
}

/**
 * Inserts rounds of 50 documents of 20 KB (one ordered insert command with `j: true`, so an
 * acknowledged document is in the synced journal), with an fsync after each when
 * `fsyncEachRound`, until an insert fails. With the journal on, a full disk is usually met
 * first by the journal write of a commit; a failed fsync does not end the fill (in local mode
 * writes go on after one). The raw command is used because the driver's bulk errors drop
 * `engineError`.
 */
async function fillUntilInsertFails(client: MongoClient, fsyncEachRound: boolean): Promise<Fill> {
  let acknowledged = await count(client);
  const fsyncFailures: CommandFailure[] = [];
  for (let round = 0; round < 60; round++) {
    const documents = Array.from({ length: 50 }, (_, i) => ({ _id: acknowledged + i, pad: 'x'.repeat(20_000) }));
    let reply: { n: number; writeErrors?: WriteFailure[] };
    try {
      reply = await client.db('app').command({ insert: 'c', documents, ordered: true, writeConcern: { j: true } }) as typeof reply;
    } catch (error) {
      return { failure: asFailure(error), acknowledged, fsyncFailures };
    }
    acknowledged += reply.n;
    if (reply.writeErrors !== undefined && reply.writeErrors.length > 0) return { failure: reply.writeErrors[0]!, acknowledged, fsyncFailures };
    if (!fsyncEachRound) continue;
    try {
      await client.db('admin').command({ fsync: 1 });
    } catch (error) {
      fsyncFailures.push(asFailure(error));
    }
  }
  return expect.fail('the file system never filled up');
}

/** True when the documents with ids 0 to acknowledged - 1 are all there, and nothing else with a non-negative id. */
async function expectAcknowledged(client: MongoClient, acknowledged: number, why: string): Promise<void> {
  const collection = client.db('app').collection<{ _id: number }>('c');
  expect(await collection.countDocuments({ _id: { $gte: 0 } }), why).to.equal(acknowledged);
  expect(await collection.countDocuments({ _id: { $gte: 0, $lt: acknowledged } }), why).to.equal(acknowledged);
  expect(await collection.findOne({ _id: acknowledged }), 'the insert that failed is not there').to.equal(null);
}

describe('mongod-shim: storage that vanishes, is replaced or fills while running', function () {
  this.timeout(180_000);
  const shims = shimsPerTest();

  it('fails a test whose server logs an unhandled promise rejection (the harness check)', async () => {
    const shim = await shims.launch({ setParameters: { enableTestCommands: 1 } });
    const client = await shim.client();
    await client.db('admin').command({ injectFault: 'unhandledRejection' }).catch(() => undefined);
    const exit = await shim.waitForExit();
    expect(exit.exitCode).to.equal(100);
    const reported = shim.takeUncaughtErrors();
    expect(reported).to.have.length(1);
    expect(reported[0]).to.contain('Unhandled promise rejection').and.to.contain('injected unhandled rejection');
  });

  it('refuses to checkpoint into a page log deleted while running: fsync fails, serverStatus and the log say why, writes are refused, reads go on, shutdown exits 6, and the restart refuses the home', async () => {
    const shim = await shims.launch({ storage: 'disagg', replSet: 'rs0' });
    const client = await shim.client();
    await insertRound(client, 0, 100);
    await client.db('admin').command({ fsync: 1 });
    rmSync(join(shim.dbpath, 'pagelog'), { recursive: true });

    const failure = await commandFailure(() => client.db('admin').command({ fsync: 1 }));
    expect(failure.code).to.equal(96);
    expect(failure.engineError?.code).to.equal('STORAGE_REPLACED');
    expect(failure.errmsg).to.contain('pagelog').and.to.contain('no longer exists');
    const status = await client.db('admin').command({ serverStatus: 1 });
    expect(status.disagg.storageFailure.code).to.equal('STORAGE_REPLACED');
    expect(status.disagg.storageFailure.message).to.contain('pagelog');
    expect(status.disagg.pageLog.mappedBytes, 'the data file is gone from its path: no size to report').to.equal(null);
    expect(linesWith(shim, 'Storage failed: writes are refused until the server restarts')).to.have.length(1);
    expect(linesWith(shim, 'Checkpoint failed')[0]!.attr!.engineErrorCode).to.equal('STORAGE_REPLACED');

    const refused = await commandFailure(() => client.db('app').collection('c').insertOne({ _id: 'after' as never }));
    expect(refused.errmsg).to.contain('writes are refused until the server restarts');
    expect(await count(client), 'reads are still served').to.equal(50);

    expect(await rejection(() => shim.stop())).to.match(/exit code 6/);
    const fatal = shim.logLines().find((line) => line.s === 'F')!;
    expect(fatal.msg).to.contain('the final checkpoint failed').and.to.contain('pagelog');
    expect(await rejection(() => shim.start())).to.match(/exited during start-up with code 6/);
    expect(shim.logLines().find((line) => line.s === 'F')!.msg).to.contain('pagelog');
  });

  it('refuses to checkpoint into a home directory replaced while running (local): the new directory gets nothing, the moved one keeps the data', async () => {
    const shim = await shims.launch({ storage: 'local', replSet: 'rs0' });
    const client = await shim.client();
    await insertRound(client, 0, 100);
    await client.db('admin').command({ fsync: 1 });
    const moved = `${shim.dbpath}.moved`;
    renameSync(shim.dbpath, moved);
    mkdirSync(shim.dbpath);

    const failure = await commandFailure(() => client.db('admin').command({ fsync: 1 }));
    expect(failure.engineError?.code).to.equal('STORAGE_REPLACED');
    expect(failure.errmsg).to.contain('device and inode changed');
    expect((await client.db('admin').command({ serverStatus: 1 })).disagg.storageFailure.code).to.equal('STORAGE_REPLACED');
    expect(await rejection(() => shim.stop())).to.match(/exit code 6/);

    // The empty directory stayed empty (no new database beside nothing); the data moved with the home.
    expect(readdirSync(shim.dbpath).filter((name) => name !== 'mongod.lock')).to.deep.equal([]);
    rmSync(shim.dbpath, { recursive: true });
    renameSync(moved, shim.dbpath);
    await shim.start();
    expect(await count(await shim.client())).to.equal(50);
  });

  it('on a full disk (a real 30 MB tmpfs, local): the journal write of an insert fails with OutOfDiskSpace 14031 and applies nothing, reads go on, and once space is freed writes and checkpoints succeed; after kill -9 every acknowledged write is there and the failed one is not', async () => {
    const tmpfs = mountTmpfs(30);
    const dbpath = join(tmpfs.path, 'db');
    mkdirSync(dbpath);
    // No periodic checkpoint: only the test's fsyncs checkpoint, so what fails first is known.
    const shim = shims.create({ storage: 'local', replSet: 'rs0', dbpath, setParameters: { checkpointIntervalSecs: 0 } });
    try {
      await shim.start();
      const client = await shim.client();
      writeFileSync(join(tmpfs.path, 'filler'), Buffer.alloc(18 * 1024 * 1024, 1));
      const { failure, acknowledged, fsyncFailures } = await fillUntilInsertFails(client, true);
      expect(failure.code, failure.errmsg).to.equal(14031);
      expect(failure.codeName).to.equal('OutOfDiskSpace');
      expect(failure.engineError?.code).to.equal('NO_SPACE');
      expect(failure.engineError?.file, 'the journal file').to.match(/^WiredTigerLog\.\d{10}$/);
      expect(failure.errmsg).to.contain('cannot write to the journal').and.to.contain('no space left');
      for (const fsyncFailure of fsyncFailures) expect(fsyncFailure.engineError?.code, fsyncFailure.errmsg).to.equal('NO_SPACE');
      expect(acknowledged).to.be.above(50);
      await expectAcknowledged(client, acknowledged, 'reads are served, without the failed insert');

      // Still full (less than one record is left, and a checkpoint writes megabytes): the fsync
      // fails with 14031, and the journal still refuses a large insert for lack of space.
      const fsyncWhileFull = await commandFailure(() => client.db('admin').command({ fsync: 1 }));
      expect(fsyncWhileFull.code, fsyncWhileFull.errmsg).to.equal(14031);
      expect(fsyncWhileFull.engineError?.code).to.equal('NO_SPACE');
      expect((await client.db('admin').command({ serverStatus: 1 })).disagg.lastCheckpointFailure.code).to.equal('NO_SPACE');
      expect(linesWith(shim, 'Checkpoint failed').at(-1)!.attr!.engineErrorCode).to.equal('NO_SPACE');
      const large = await client.db('app').command({ insert: 'c', documents: [{ _id: -3, pad: 'y'.repeat(4 * 1024 * 1024) }], writeConcern: { j: true } }) as { n: number; writeErrors?: WriteFailure[] };
      expect(large.n).to.equal(0);
      expect(large.writeErrors?.[0]?.code).to.equal(14031);
      expect(large.writeErrors?.[0]?.engineError?.file).to.match(/^WiredTigerLog\.\d{10}$/);
      const status = await client.db('admin').command({ serverStatus: 1 });
      expect(status.disagg.storageFailure, 'a full disk alone does not stop writes in local mode').to.equal(null);
      expect(shim.state, 'the server stayed up').to.equal('running');

      rmSync(join(tmpfs.path, 'filler'));
      await client.db('app').collection('c').insertOne({ _id: -1 as never, after: 'space was freed' }, { writeConcern: { j: true } });
      await client.db('admin').command({ fsync: 1 });
      expect((await client.db('admin').command({ serverStatus: 1 })).disagg.lastCheckpointFailure).to.equal(null);
      await client.db('app').collection('c').insertOne({ _id: -2 as never, after: 'the checkpoint' }, { writeConcern: { j: true } });
      await shim.kill();
      await shim.start();
      const restarted = await shim.client();
      await expectAcknowledged(restarted, acknowledged, 'every acknowledged write survives kill -9');
      expect(await restarted.db('app').collection<{ _id: number }>('c').countDocuments({ _id: { $lt: 0 } }), 'the writes after the space was freed').to.equal(2);
      await shim.stop();
    } finally {
      if (shim.state === 'running' || shim.state === 'starting') await shim.kill();
      tmpfs.unmount();
    }
  });

  it('on a full disk (a real 30 MB tmpfs, disaggregated): the journal write of an insert fails with 14031 and applies nothing, reads go on, the failed page-log commit refuses writes until a restart, and the restart after kill -9 serves the last durable checkpoint plus every acknowledged write, without the failed one', async () => {
    const tmpfs = mountTmpfs(30);
    const dbpath = join(tmpfs.path, 'db');
    mkdirSync(dbpath);
    // No periodic checkpoint: only the test's fsyncs checkpoint, so what fails first is known.
    const shim = shims.create({ storage: 'disagg', replSet: 'rs0', dbpath, setParameters: { checkpointIntervalSecs: 0 } });
    try {
      await shim.start();
      const client = await shim.client();
      await insertRound(client, 0);
      await client.db('admin').command({ fsync: 1 });
      const checkpointed = await count(client);
      // Most of the space: once it is freed, the restart's checkpoint of what the journal
      // holds (the oplog, and the collection in the page log) must fit beside the journal.
      writeFileSync(join(tmpfs.path, 'filler'), Buffer.alloc(23 * 1024 * 1024, 1));
      // No fsync while filling: the shared collection stays in memory and only the journal
      // (the oplog, a local table) grows, so the first failure is the journal's.
      const { failure, acknowledged, fsyncFailures } = await fillUntilInsertFails(client, false);
      expect(fsyncFailures).to.deep.equal([]);
      expect(failure.code, failure.errmsg).to.equal(14031);
      expect(failure.codeName).to.equal('OutOfDiskSpace');
      expect(failure.engineError?.code).to.equal('NO_SPACE');
      expect(failure.engineError?.file, 'the journal file').to.match(/^WiredTigerLog\.\d{10}$/);
      expect(failure.errmsg).to.contain('cannot write to the journal').and.to.contain('no space left');
      expect(acknowledged).to.be.above(checkpointed);
      await expectAcknowledged(client, acknowledged, 'reads are served, without the failed insert');
      expect((await client.db('admin').command({ serverStatus: 1 })).disagg.storageFailure, 'a failed journal write alone refuses nothing').to.equal(null);

      // The checkpoint of what the journal holds cannot fit: the page-log commit fails, and the
      // page log refuses every later write until it is reopened.
      const fsyncFailure = await commandFailure(() => client.db('admin').command({ fsync: 1 }));
      expect(fsyncFailure.code, fsyncFailure.errmsg).to.equal(14031);
      expect(fsyncFailure.engineError?.code).to.equal('NO_SPACE');
      const status = await client.db('admin').command({ serverStatus: 1 });
      expect(status.disagg.storageFailure.code).to.equal('NO_SPACE');
      expect(linesWith(shim, 'Storage failed: writes are refused until the server restarts')).to.have.length(1);
      rmSync(join(tmpfs.path, 'filler'));
      const refused = await commandFailure(() => client.db('app').collection('c').insertOne({ _id: -1 as never }));
      expect(refused.code).to.equal(14031);
      expect(refused.errmsg).to.contain('writes are refused until the server restarts');
      await expectAcknowledged(client, acknowledged, 'reads are still served');
      expect(shim.state, 'the server stayed up').to.equal('running');

      await shim.kill();
      await shim.start();
      const restarted = await shim.client();
      // The page log's last checkpoint holds `checkpointed` documents; replication recovery
      // applies the journaled oplog entries on top of it.
      await expectAcknowledged(restarted, acknowledged, 'the last durable checkpoint plus every acknowledged write');
      await restarted.db('app').collection('c').insertOne({ _id: -2 as never, after: 'restart' }, { writeConcern: { j: true } });
      await restarted.db('admin').command({ fsync: 1 });
      await shim.stop();
      await shim.start();
      const again = await shim.client();
      await expectAcknowledged(again, acknowledged, 'after a clean restart');
      expect(await again.db('app').collection('c').findOne({ _id: -2 as never })).to.not.equal(null);
      await shim.stop();
    } finally {
      if (shim.state === 'running' || shim.state === 'starting') await shim.kill();
      tmpfs.unmount();
    }
  });
});
