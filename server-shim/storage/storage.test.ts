import { expect } from 'chai';
import { Int32, Timestamp } from 'bson';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandError } from '../errors/index.js';
import { Logger, memorySink } from '../log/index.js';
import { planAccess } from '../query/index.js';
import { openConnection } from '../../engine/index.js';
import { openStorage, oplogNamespace, Storage } from './index.js';

for (const mode of ['local', 'disagg'] as const) {
describe(`storage (${mode}): collections, oplog and restart`, function () {
  let dbpath: string;
  let storage: Storage | undefined;
  const logger = Logger.create({ sink: memorySink() });
  const open = async (): Promise<Storage> => openStorage({ dbpath, storage: mode }, logger);

  beforeEach(async () => {
    dbpath = await mkdtemp(join(tmpdir(), 'storage-test-'));
    storage = await open();
  });

  afterEach(async () => {
    await storage?.close().catch(() => undefined);
    storage = undefined;
    await rm(dbpath, { recursive: true, force: true });
  });

  it('creates a collection, inserts, finds by key and refuses a duplicate _id with 11000', async () => {
    const s = storage!;
    const entry = await s.write(() => s.createCollection({ db: 'test', collection: 'things' }));
    await s.write(() => s.insertDocument(entry, { _id: new Int32(1), name: 'one' }));
    expect(s.findByKey(entry, 1)?.document.name).to.equal('one');
    const failure = await s.write(() => s.insertDocument(entry, { _id: 1.0, name: 'again' })).catch((error: unknown) => error);
    expect(failure).to.be.instanceOf(CommandError);
    expect((failure as CommandError).code).to.equal(11000);
  });

  it('logs each write in the oplog with increasing timestamps', async () => {
    const s = storage!;
    const entry = await s.write(() => s.createCollection({ db: 'test', collection: 'c' }));
    await s.write(() => s.insertDocument(entry, { _id: 1 }));
    await s.write(() => s.insertDocument(entry, { _id: 2 }));
    const oplog = [...s.scan(s.collection(oplogNamespace)!)].map((record) => record.document);
    expect(oplog.map((document) => document.op)).to.deep.equal(['c', 'i', 'i']);
    const timestamps = oplog.map((document) => (document.ts as Timestamp).toBigInt());
    expect([...timestamps].sort((a, b) => (a < b ? -1 : 1))).to.deep.equal(timestamps);
    expect(s.connection.stableTimestamp).to.equal(timestamps[timestamps.length - 1]);
  });

  it('reads _id ranges and point lists in key order across scan chunks', async () => {
    const s = storage!;
    const entry = await s.write(() => s.createCollection({ db: 'test', collection: 'many' }));
    await s.write(() => {
      for (let id = 0; id < 1000; id += 1) s.insertDocument(entry, { _id: id });
    });
    const range = [...s.scan(entry, planAccess({ _id: { $gte: 100, $lt: 700 } }, '_id'))].map((record) => Number(record.document._id));
    expect(range).to.have.length(600);
    expect(range[0]).to.equal(100);
    expect(range[599]).to.equal(699);
    const reversed = [...s.scan(entry, { kind: 'scan' }, true)].map((record) => Number(record.document._id));
    expect(reversed[0]).to.equal(999);
    expect(reversed).to.have.length(1000);
  });

  it('keeps collections and documents across a clean restart', async () => {
    const s = storage!;
    const entry = await s.write(() => s.createCollection({ db: 'app', collection: 'users' }));
    await s.write(() => s.insertDocument(entry, { _id: 'ada', born: 1815 }));
    await s.close();
    storage = await open();
    const reopened = storage.collection('app.users');
    expect(reopened?.uuid.toHexString()).to.equal(entry.uuid.toHexString());
    expect(storage.findByKey(reopened!, 'ada')?.document.born).to.deep.equal(new Int32(1815));
  });

  it('validates a collection with the engine verifier and a scan of every record', async () => {
    const s = storage!;
    const entry = await s.write(() => s.createCollection({ db: 'test', collection: 'checked' }));
    await s.write(() => {
      for (let id = 0; id < 500; id += 1) s.insertDocument(entry, { _id: id, pad: 'x'.repeat(200) });
    });
    const before = await s.validate(entry);
    expect(before).to.deep.include({ records: 500, errors: [], corruptRecords: [] });
    await s.checkpoint();
    const after = await s.validate(entry);
    expect(after.errors).to.deep.equal([]);
    expect(after.records).to.equal(500);
  });

  it('holds writes back during an fsync lock until it is lifted', async () => {
    const s = storage!;
    const entry = await s.write(() => s.createCollection({ db: 'test', collection: 'locked' }));
    s.lockWrites();
    let done = false;
    const pending = s.write(() => s.insertDocument(entry, { _id: 1 })).then(() => (done = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(done).to.equal(false);
    expect(s.unlockWrites()).to.equal(0);
    await pending;
    expect(done).to.equal(true);
  });
});
}

describe('storage: durability waits without a journal', function () {
  it('takes a checkpoint for j/fsync/majority when the engine keeps no journal, never acknowledging on nothing', async () => {
    const dbpath = await mkdtemp(join(tmpdir(), 'storage-nojournal-'));
    const connection = await openConnection(dbpath, { storage: 'local' });
    const storage = new Storage(connection, Logger.create({ sink: memorySink() }));
    try {
      expect(connection.journalStats()).to.equal(undefined);
      const entry = await storage.write(() => storage.createCollection({ db: 'test', collection: 'things' }));
      await storage.write(() => storage.insertDocument(entry, { _id: 1 }));
      const before = connection.lastCheckpoint()?.id;
      await storage.awaitJournalDurable();
      expect(connection.lastCheckpoint()?.id).to.not.equal(before);
    } finally {
      await storage.close();
      await rm(dbpath, { recursive: true, force: true });
    }
  });
});
