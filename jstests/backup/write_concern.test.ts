import { expect } from 'chai';
import { MongoBulkWriteError, MongoServerError, MongoWriteConcernError, type Document, type MongoClient } from 'mongodb';
import { shimsPerSuite, shimsPerTest } from '../libs/index.js';

/** Runs a command and returns its reply whatever it says (the driver would throw on ok: 0). */
async function raw(client: MongoClient, db: string, command: Document): Promise<Document> {
  try {
    return await client.db(db).command(command);
  } catch (error) {
    if (error instanceof MongoServerError) return error.errorResponse as Document;
    throw error;
  }
}

/**
 * Write concerns on a one-member replica set, as mongod answers them: unsatisfiable ones are
 * reported as writeConcernError on a write that is applied, malformed ones are refused before
 * anything is written, durable ones survive a kill -9, and wtimeout and maxTimeMS bound the
 * wait for durability.
 */
describe('write concerns through the driver', function () {
  this.timeout(120_000);

  describe('on a one-member replica set', function () {
    const shims = shimsPerSuite();
    let client: MongoClient;

    before(async () => {
      const shim = await shims.launch({ replSet: 'rs0', setParameters: { enableTestCommands: 1 } });
      client = await shim.client();
    });

    it('applies a write with w above the member count and reports UnsatisfiableWriteConcern (100)', async () => {
      const orders = client.db('wc').collection<{ _id: unknown; [key: string]: unknown }>('orders');
      let failure: unknown;
      try {
        await orders.insertOne({ _id: 'w5', x: 1 }, { writeConcern: { w: 5 } });
      } catch (error) {
        failure = error;
      }
      expect(failure).to.be.instanceOf(MongoWriteConcernError);
      const error = failure as MongoWriteConcernError;
      expect(error.code).to.equal(100);
      expect(error.codeName).to.equal('UnsatisfiableWriteConcern');
      expect(error.errmsg).to.equal('Not enough data-bearing nodes');
      expect(error.errInfo?.writeConcern).to.include({ w: 5, provenance: 'clientSupplied' });
      expect(error.result).to.include({ ok: 1, n: 1 });
      expect(await orders.findOne({ _id: 'w5' } as never)).to.deep.equal({ _id: 'w5', x: 1 });
    });

    it('applies every document of an insertMany with an unknown tag and reports UnknownReplWriteConcern (79)', async () => {
      const orders = client.db('wc').collection<{ _id: unknown; [key: string]: unknown }>('tagged');
      let failure: unknown;
      try {
        await orders.insertMany([{ _id: 1 }, { _id: 2 }, { _id: 3 }], { writeConcern: { w: 'eastCoast' as never } });
      } catch (error) {
        failure = error;
      }
      expect(failure).to.be.instanceOf(MongoBulkWriteError);
      const error = failure as MongoBulkWriteError;
      expect(error.code).to.equal(79);
      expect(error.result.insertedCount).to.equal(3);
      const concernError = error.result.getWriteConcernError();
      expect(concernError?.code).to.equal(79);
      expect(concernError?.errmsg).to.equal("No write concern mode named 'eastCoast' found in replica set configuration");
      expect(await orders.countDocuments()).to.equal(3);
    });

    it('reports writeConcernError on createIndexes, create and drop too, in an ok reply', async () => {
      const db = 'wcCommands';
      for (const command of [
        { create: 'made', writeConcern: { w: 3 } },
        { createIndexes: 'made', indexes: [{ key: { _id: 1 }, name: '_id_' }], writeConcern: { w: 3 } },
        { drop: 'made', writeConcern: { w: 3 } },
      ]) {
        const reply = await raw(client, db, command);
        expect(reply.ok, JSON.stringify(reply)).to.equal(1);
        expect(reply.writeConcernError).to.include({ code: 100, codeName: 'UnsatisfiableWriteConcern' });
      }
      expect(await client.db(db).listCollections().toArray()).to.deep.equal([]);
    });

    it('refuses malformed write concerns before writing anything', async () => {
      const cases: Array<[Document, number, string]> = [
        [{ w: -1 }, 9, 'w has to be a non-negative number and not greater than 50'],
        [{ w: 51 }, 9, 'w has to be a non-negative number and not greater than 50'],
        [{ w: true }, 9, 'w has to be a number or a string'],
        [{ j: true, fsync: true }, 9, 'fsync and j options cannot be used together'],
        [{ j: 'yes' }, 14, "BSON field 'writeConcern.j' is the wrong type"],
        [{ wtimeout: 'soon' }, 14, "BSON field 'writeConcern.wtimeout' is the wrong type"],
      ];
      for (const [writeConcern, code, message] of cases) {
        const reply = await raw(client, 'wcRefused', { insert: 'c', documents: [{ _id: JSON.stringify(writeConcern) }], writeConcern });
        expect(reply.ok, JSON.stringify(writeConcern)).to.equal(0);
        expect(reply.code, JSON.stringify(writeConcern)).to.equal(code);
        expect(reply.errmsg).to.contain(message);
      }
      const notDocument = await raw(client, 'wcRefused', { insert: 'c', documents: [{ _id: 'string' }], writeConcern: 'majority' });
      expect(notDocument).to.include({ ok: 0, code: 14 });
      expect(await client.db('wcRefused').collection('c').countDocuments()).to.equal(0);
    });

    it('refuses writeConcern on a command that does not write (InvalidOptions, 72)', async () => {
      const reply = await raw(client, 'wc', { find: 'orders', filter: {}, writeConcern: { w: 1 } });
      expect(reply).to.include({ ok: 0, code: 72, codeName: 'InvalidOptions', errmsg: 'Command does not support writeConcern' });
    });

    it('refuses a maxTimeMS that is not a non-negative 32-bit integer (BadValue, 2)', async () => {
      for (const maxTimeMS of [-1, 1.5, 'soon', 2 ** 31]) {
        const reply = await raw(client, 'wc', { insert: 'maxTime', documents: [{ maxTimeMS: String(maxTimeMS) }], maxTimeMS });
        expect(reply, String(maxTimeMS)).to.include({ ok: 0, code: 2 });
      }
      expect(await client.db('wc').collection('maxTime').countDocuments()).to.equal(0);
      expect(await raw(client, 'wc', { insert: 'maxTime', documents: [{}], maxTimeMS: 0 })).to.include({ ok: 1, n: 1 });
    });

    it('accepts w: 1, w: majority, j and fsync with no writeConcernError', async () => {
      for (const writeConcern of [{ w: 1 }, { w: 'majority' }, { j: true }, { fsync: true }, { w: 1, j: false }, {}]) {
        const reply = await raw(client, 'wc', { insert: 'fine', documents: [{ wc: writeConcern }], writeConcern });
        expect(reply, JSON.stringify(writeConcern)).to.include({ ok: 1, n: 1 });
        expect(reply).to.not.have.property('writeConcernError');
      }
    });

    it('honours wtimeout (64) and maxTimeMS (50) while the journal sync cannot complete: the write stays applied', async () => {
      const admin = client.db('admin');
      expect(await admin.command({ injectFault: 'pauseJournalFlusher' })).to.include({ paused: true });
      try {
        const started = Date.now();
        const timedOut = await raw(client, 'wcPaused', { insert: 'c', documents: [{ _id: 'wtimeout' }], writeConcern: { j: true, wtimeout: 300 } });
        expect(Date.now() - started).to.be.within(250, 5000);
        expect(timedOut).to.include({ ok: 1, n: 1 });
        expect(timedOut.writeConcernError).to.include({ code: 64, codeName: 'WriteConcernFailed', errmsg: 'waiting for replication timed out' });
        expect(timedOut.writeConcernError.errInfo).to.include({ wtimeout: true });
        const expiredAt = Date.now();
        const expired = await raw(client, 'wcPaused', { insert: 'c', documents: [{ _id: 'maxTimeMS' }], writeConcern: { w: 'majority' }, maxTimeMS: 300 });
        expect(Date.now() - expiredAt).to.be.within(250, 5000);
        expect(expired).to.include({ ok: 1, n: 1 });
        expect(expired.writeConcernError).to.include({ code: 50, codeName: 'MaxTimeMSExpired' });
        // A write command that fails before writing still waits for its write concern.
        const failed = await raw(client, 'wcPaused', { insert: 'c', documents: [], writeConcern: { fsync: true, wtimeout: 200 } });
        expect(failed).to.include({ ok: 0, code: 16 });
        expect(failed.writeConcernError).to.include({ code: 64 });
      } finally {
        await admin.command({ injectFault: 'pauseJournalFlusher', off: true });
      }
      expect(await client.db('wcPaused').collection('c').countDocuments(), 'both writes stayed applied').to.equal(2);
      const resumed = await raw(client, 'wcPaused', { insert: 'c', documents: [{ _id: 'resumed' }], writeConcern: { j: true, wtimeout: 300 } });
      expect(resumed).to.include({ ok: 1, n: 1 });
      expect(resumed).to.not.have.property('writeConcernError');
    });

    it('under an fsync lock: a write waits at the lock, bounded by maxTimeMS (50) and not by wtimeout, and writes nothing; what was written before is durable', async () => {
      const admin = client.db('admin');
      await admin.command({ fsync: 1, lock: true });
      try {
        // As mongod: the write blocks at the lock; wtimeout bounds only the wait for the write
        // concern after the write, so maxTimeMS decides and nothing is written.
        const started = Date.now();
        const blocked = await raw(client, 'wcLocked', { insert: 'c', documents: [{ _id: 'blocked' }], writeConcern: { j: true, wtimeout: 100 }, maxTimeMS: 600 });
        expect(Date.now() - started, 'wtimeout does not cut the wait at the lock short').to.be.within(550, 5000);
        expect(blocked).to.include({ ok: 0, code: 50, codeName: 'MaxTimeMSExpired' });
        expect(blocked.writeConcernError, 'the deadline, not wtimeout, ended the wait').to.include({ code: 50, codeName: 'MaxTimeMSExpired' });
        // A write concern over what was written before the lock is satisfied under it: the
        // lock's checkpoint made it durable, and a journal sync changes no file's bytes.
        const before = Date.now();
        const nothingToWrite = await raw(client, 'wcLocked', { insert: 'c', documents: [], writeConcern: { j: true, wtimeout: 2000 } });
        expect(Date.now() - before).to.be.below(1500);
        expect(nothingToWrite).to.include({ ok: 0, code: 16 });
        expect(nothingToWrite).to.not.have.property('writeConcernError');
      } finally {
        await admin.command({ fsyncUnlock: 1 });
      }
      expect(await client.db('wcLocked').collection('c').countDocuments()).to.equal(0);
    });
  });

  describe('across a kill -9', function () {
    const shims = shimsPerTest();

    for (const [name, writeConcern] of [['j: true', { j: true }], ['fsync: true', { fsync: true }], ["w: 'majority'", { w: 'majority' }]] as const) {
      it(`keeps every write acknowledged with ${name} from concurrent clients`, async () => {
        // No periodic checkpoint: only the write concern can make the writes durable.
        const shim = await shims.launch({ replSet: 'rs0', setParameters: { checkpointIntervalSecs: 0 } });
        const clients = await Promise.all([shim.client(), shim.client(), shim.client()]);
        const acknowledged: number[] = [];
        await Promise.all(
          clients.map(async (each, clientIndex) => {
            for (let i = 0; i < 10; i += 1) {
              const id = clientIndex * 100 + i;
              await each.db('durable').collection<{ _id: unknown; [key: string]: unknown }>('c').insertOne({ _id: id }, { writeConcern });
              acknowledged.push(id);
            }
          }),
        );
        await shim.kill();
        await shim.start();
        const after = await shim.client();
        const ids = (await after.db('durable').collection<{ _id: unknown; [key: string]: unknown }>('c').find({}).toArray()).map((d) => d._id as number);
        expect(ids).to.include.members(acknowledged);
        expect(acknowledged).to.have.length(30);
      });
    }
  });

  describe('on a server that is not a replica set member', function () {
    const shims = shimsPerSuite();

    it('refuses w above 1 and modes other than majority up front (BadValue, 2)', async () => {
      const shim = await shims.launch({});
      const client = await shim.client();
      const many = await raw(client, 'solo', { insert: 'c', documents: [{ _id: 1 }], writeConcern: { w: 2 } });
      expect(many).to.include({ ok: 0, code: 2, errmsg: "cannot use 'w' > 1 when a host is not replicated" });
      const tagged = await raw(client, 'solo', { insert: 'c', documents: [{ _id: 1 }], writeConcern: { w: 'dc' } });
      expect(tagged).to.include({ ok: 0, code: 2 });
      expect(await client.db('solo').collection('c').countDocuments()).to.equal(0);
      const majority = await raw(client, 'solo', { insert: 'c', documents: [{ _id: 1 }], writeConcern: { w: 'majority' } });
      expect(majority).to.include({ ok: 1, n: 1 });
    });
  });
});
