import { expect } from 'chai';
import { MongoServerError, Timestamp, type Db } from 'mongodb';
import { shimsPerSuite, shimsPerTest, type ShimProcess } from '../libs/index.js';

describe('mongod-shim: administration commands', function () {
  const shims = shimsPerSuite();
  let shim: ShimProcess;
  let admin: Db;

  before(async () => {
    shim = await shims.launch({ replSet: 'rs0' });
    admin = (await shim.client()).db('admin');
  });

  it('takes a checkpoint on fsync and returns its identity and timestamp', async () => {
    await admin.client.db('app').collection('c').insertOne({ x: 1 });
    const reply = await admin.command({ fsync: 1 });
    expect(reply.ok).to.equal(1);
    expect(reply.checkpointTimestamp).to.be.instanceOf(Timestamp);
    expect(reply.checkpointTimestamp.isZero()).to.equal(false);
    expect(reply.checkpointId).to.be.a('string').and.match(/^\d+$/);
    const status = await admin.command({ serverStatus: 1 });
    expect(status.disagg.lastCheckpoint.id).to.equal(reply.checkpointId);
  });

  it('holds writes during an fsync lock until fsyncUnlock', async () => {
    const locked = await admin.command({ fsync: 1, lock: true });
    let unlocked = false;
    try {
      expect(Number(locked.lockCount)).to.equal(1);
      expect(locked.checkpointId).to.be.a('string');
      let written = false;
      const write = admin.client
        .db('app')
        .collection('locked')
        .insertOne({ during: 'lock' })
        .then(() => (written = true));
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(written, 'the write waits while locked').to.equal(false);
      expect(await admin.client.db('app').collection('c').countDocuments(), 'reads go on').to.equal(1);
      const reply = await admin.command({ fsyncUnlock: 1 });
      unlocked = true;
      expect(Number(reply.lockCount)).to.equal(0);
      await write;
      expect(written).to.equal(true);
    } finally {
      if (!unlocked) await admin.command({ fsyncUnlock: 1 }).catch(() => undefined);
    }
    const notLocked = await admin.command({ fsyncUnlock: 1 }).catch((caught: unknown) => caught);
    expect((notLocked as MongoServerError).code).to.equal(20);
  });

  it('reports process, connections and the disagg section in serverStatus', async () => {
    const status = await admin.command({ serverStatus: 1 });
    expect(status).to.include({ process: 'mongod-shim', ok: 1 });
    expect(status.version).to.be.a('string');
    expect(status.uptime).to.be.a('number');
    expect(status.connections.current).to.be.at.least(1);
    expect(status.disagg).to.have.keys(
      'mode', 'lastCheckpoint', 'keyProvider', 'stableTimestamp', 'pageLog', 'storageFailure', 'lastCheckpointFailure',
      // The node's part in the page log (several nodes may share it).
      'role', 'nodeId', 'term', 'checkpoint', 'waitingForCheckpoint', 'keyVersion', 'lag', 'heldCheckpoints', 'fencedBy', 'adoptedCheckpoint', 'leases',
    );
    expect(status.disagg).to.include({ role: 'leader', waitingForCheckpoint: false, fencedBy: null });
    expect(status.disagg.leases.map((lease: { role: string; live: boolean }) => [lease.role, lease.live])).to.deep.equal([['leader', true]]);
    expect(status.disagg.storageFailure).to.equal(null);
    expect(status.disagg.lastCheckpointFailure).to.equal(null);
    expect(status.disagg.lastCheckpoint).to.have.property('metadataLsn');
  });

  it('counts each command once in opcounters.command, count and aggregate included', async () => {
    const app = admin.client.db('app');
    const before = (await admin.command({ serverStatus: 1 })).opcounters.command;
    await app.command({ count: 'c' });
    await app.collection('c').aggregate([{ $match: {} }]).toArray();
    const after = (await admin.command({ serverStatus: 1 })).opcounters.command;
    // count, aggregate, and the second serverStatus itself.
    expect(Number(after) - Number(before)).to.equal(3);
  });

  it('reports buildInfo with the version array', async () => {
    const info = await admin.command({ buildInfo: 1 });
    expect(info.versionArray).to.be.an('array').with.length(4);
    expect(info.version).to.match(/^8\.0\.0/);
  });

  it('answers as the primary of a single-member replica set', async () => {
    const hello = await admin.command({ hello: 1 });
    expect(hello).to.include({ setName: 'rs0', isWritablePrimary: true, secondary: false });
    expect(hello.hosts).to.deep.equal([hello.me]);
    expect(hello.primary).to.equal(hello.me);
    const config = await admin.command({ replSetGetConfig: 1 });
    expect(config.config._id).to.equal('rs0');
    expect(config.config.members).to.have.length(1);
    await admin.command({ fsync: 1 });
    const status = await admin.command({ replSetGetStatus: 1 });
    expect(status).to.include({ set: 'rs0', myState: 1 });
    expect(status.lastStableRecoveryTimestamp).to.be.instanceOf(Timestamp);
    expect(status.lastStableRecoveryTimestamp.isZero()).to.equal(false);
    expect(status.optimes.appliedOpTime.ts).to.be.instanceOf(Timestamp);
  });

  it('logs every user write in local.oplog.rs with increasing timestamps', async () => {
    const app = admin.client.db('app');
    await app.collection('logged').insertOne({ _id: 'x' as never, v: 1 });
    await app.collection('logged').updateOne({ _id: 'x' as never }, { $set: { v: 2 } });
    await app.collection('logged').deleteOne({ _id: 'x' as never });
    const entries = await admin.client.db('local').collection('oplog.rs').find({ ns: 'app.logged' }).toArray();
    expect(entries.map((entry) => entry.op)).to.deep.equal(['i', 'u', 'd']);
    expect(entries[1]!.o).to.deep.equal({ _id: 'x', v: 2 });
    expect(entries[1]!.o2).to.deep.equal({ _id: 'x' });
    const timestamps = entries.map((entry) => (entry.ts as Timestamp).toBigInt());
    expect(timestamps[0]! < timestamps[1]! && timestamps[1]! < timestamps[2]!).to.equal(true);
  });

  it('sets and reads cluster parameters in config.clusterParameters', async () => {
    await admin.command({ setClusterParameter: { changeStreamOptions: { preAndPostImages: { expireAfterSeconds: 30 } } } });
    const reply = await admin.command({ getClusterParameter: 'changeStreamOptions' });
    expect(reply.clusterParameters[0]).to.deep.include({ _id: 'changeStreamOptions', preAndPostImages: { expireAfterSeconds: 30 } });
    expect(reply.clusterParameters[0].clusterParameterTime).to.be.instanceOf(Timestamp);
    const stored = await admin.client.db('config').collection('clusterParameters').findOne({ _id: 'changeStreamOptions' as never });
    expect(stored).to.not.equal(null);
    const unknown = await admin.command({ setClusterParameter: { noSuchParameter: { a: 1 } } }).catch((caught: unknown) => caught);
    expect((unknown as MongoServerError).code).to.equal(4);
  });

  it('reads and sets server parameters', async () => {
    const reply = await admin.command({ getParameter: 1, checkpointIntervalSecs: 1 });
    expect(reply.checkpointIntervalSecs).to.equal(60);
    const set = await admin.command({ setParameter: 1, checkpointIntervalSecs: 30 });
    expect(set.was).to.equal(60);
    const refused = await admin.command({ setParameter: 1, enableTestCommands: 1 }).catch((caught: unknown) => caught);
    expect(refused).to.be.instanceOf(MongoServerError);
  });

  it('refuses the test-only rotateKey without enableTestCommands, as an unknown command', async () => {
    const error = await admin.command({ rotateKey: 1 }).catch((caught: unknown) => caught);
    expect((error as MongoServerError).code).to.equal(59);
  });

  it('validates a collection by reading every record', async () => {
    const reply = await admin.client.db('app').command({ validate: 'c' });
    expect(reply).to.include({ valid: true, nrecords: 1, ns: 'app.c' });
    const missing = await admin.client.db('app').command({ validate: 'nothing' }).catch((caught: unknown) => caught);
    expect((missing as MongoServerError).code).to.equal(26);
  });

  it('returns recent structured log lines from getLog', async () => {
    const reply = await admin.command({ getLog: 'global' });
    const lines = (reply.log as string[]).map((line) => JSON.parse(line) as { msg: string });
    expect(lines.some((line) => line.msg === 'Waiting for connections')).to.equal(true);
  });

  it('reports the command line in getCmdLineOpts', async () => {
    const reply = await admin.command({ getCmdLineOpts: 1 });
    expect(reply.argv[0]).to.equal('mongod-shim');
    expect(reply.parsed.replication).to.deep.equal({ replSet: 'rs0' });
    expect(reply.parsed.storage.dbPath).to.equal(shim.dbpath);
  });

  it('refuses admin-only commands on other databases with Unauthorized (13)', async () => {
    const error = await admin.client.db('app').command({ fsync: 1 }).catch((caught: unknown) => caught);
    expect((error as MongoServerError).code).to.equal(13);
  });
});

describe('mongod-shim: test-only commands', function () {
  const shims = shimsPerTest();

  it('rotates the key-provider key with rotateKey when test commands are enabled', async () => {
    const shim = await shims.launch({ setParameters: { enableTestCommands: 1 }, keyProvider: 'example' });
    const admin = (await shim.client()).db('admin');
    const before = (await admin.command({ serverStatus: 1 })).disagg.keyProvider;
    const reply = await admin.command({ rotateKey: 1, checkpoint: true });
    expect(reply.rotationRequested).to.equal(true);
    expect(before, 'the example key provider reports its state').to.not.equal(null);
    expect(reply.keyProvider.keyVersion).to.be.greaterThan(before.keyVersion);
    expect(reply.keyProvider.pageLsn).to.be.a('number');
    expect(reply.lastCheckpoint.keyProviderPageLsn).to.equal(reply.keyProvider.pageLsn);
  });
});
