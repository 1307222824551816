import { expect } from 'chai';
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MongoClient, WriteConcernSettings } from 'mongodb';
import { runReadPath, shimsPerTest, type ShimProcess } from '../libs/index.js';

/**
 * Durability with real processes: concurrent clients write with `j: true`, `w: 'majority'` and
 * `fsync: true` between checkpoints (the periodic checkpoint is an hour away), the server is
 * killed with SIGKILL while writes are in flight, and after the restart every acknowledged
 * write is there with its oplog entry. Then the torn-tail and corrupt-journal cases.
 */
const CLIENTS = 6;
const WRITE_CONCERNS: WriteConcernSettings[] = [{ journal: true }, { w: 'majority' }, { fsync: true } as WriteConcernSettings];

interface Acknowledged {
  id: string;
  version: number;
}

/** Runs `CLIENTS` writers, each on its own connection, until `stop()`; returns what was acknowledged. */
function startWriters(shim: ShimProcess): { stop: () => void; done: Promise<Acknowledged[]>; count: () => number } {
  let running = true;
  const acknowledged: Acknowledged[] = [];
  const writers = Array.from({ length: CLIENTS }, async (_, client) => {
    let mongo: MongoClient | undefined;
    try {
      mongo = await shim.client({ retryWrites: false, serverSelectionTimeoutMS: 2_000 });
      const collection = mongo.db('durable').collection<{ _id: string; client: number; n: number; version: number; pad: string }>('c');
      for (let n = 0; running; n++) {
        const writeConcern = WRITE_CONCERNS[(client + n) % WRITE_CONCERNS.length]!;
        const id = `c${client}-${n}`;
        await collection.insertOne({ _id: id, client, n, version: 1, pad: 'x'.repeat(100 + (n % 50)) }, { writeConcern });
        acknowledged.push({ id, version: 1 });
        if (n % 5 === 4) {
          // An acknowledged update too: the restart must show the new version.
          const target = `c${client}-${n - 2}`;
          await collection.updateOne({ _id: target }, { $set: { version: 2 } }, { writeConcern });
          acknowledged.find((a) => a.id === target)!.version = 2;
        }
        // w:1 writes in between: the journal flush makes them durable soon, but nothing is promised.
        await collection.insertOne({ _id: `w1-${client}-${n}`, client, n, version: 0, pad: '' });
      }
    } catch {
      // The kill ends the writers: a write without a reply was never acknowledged.
    } finally {
      await mongo?.close(true).catch(() => undefined);
    }
  });
  return {
    stop: () => (running = false),
    done: Promise.all(writers).then(() => acknowledged),
    count: () => acknowledged.length,
  };
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function checkAcknowledged(shim: ShimProcess, acknowledged: Acknowledged[]): Promise<void> {
  const mongo = await shim.client();
  const documents = new Map((await mongo.db('durable').collection<{ _id: string; version: number }>('c').find().toArray()).map((d) => [d._id, d]));
  const oplog = await mongo.db('local').collection('oplog.rs').find({ ns: 'durable.c', op: 'i' }).toArray();
  const logged = new Set(oplog.map((entry) => String((entry['o'] as { _id: unknown })._id)));
  for (const { id, version } of acknowledged) {
    expect(documents.get(id), `acknowledged document ${id}`).to.not.equal(undefined);
    // An update applied just before the kill may be durable without its reply having arrived.
    expect(documents.get(id)!.version, `acknowledged version of ${id}`).to.be.at.least(version);
    expect(logged.has(id), `oplog entry of ${id}`).to.equal(true);
  }
}

function journalFiles(dbpath: string): string[] {
  return readdirSync(dbpath).filter((name) => name.startsWith('WiredTigerLog.')).sort();
}

describe('durability: journaled writes survive kill -9', function () {
  this.timeout(180_000);
  const shims = shimsPerTest();

  for (const storage of ['disagg', 'local'] as const) {
    it(`${storage}: j:true, majority and fsync:true writes from ${CLIENTS} concurrent clients, killed between checkpoints`, async () => {
      const shim = await shims.launch({ storage, replSet: 'rs0', setParameters: { checkpointIntervalSecs: 3600 } });
      const writers = startWriters(shim);
      await waitUntil(() => writers.count() >= 300, 60_000);
      const exit = await shim.kill();
      writers.stop();
      const acknowledged = await writers.done;
      expect(exit.signal).to.equal('SIGKILL');
      expect(acknowledged.length).to.be.at.least(300);
      await shim.start();
      await checkAcknowledged(shim, acknowledged);
      const recovered = shim.logLines().find((line) => line.msg === 'Replayed the journal');
      expect(recovered, 'the writes came back through the journal').to.not.equal(undefined);
      if (storage === 'disagg') {
        expect(shim.logLines().some((line) => line.msg === 'Applied oplog entries during replication recovery')).to.equal(true);
      }
      // Restart again: recovery does not apply anything twice, and a clean stop checkpoints.
      await shim.stop();
      await shim.start();
      await checkAcknowledged(shim, acknowledged);
      await shim.stop();
      const verify = await runReadPath(['verify', shim.dbpath]);
      expect(verify.exitCode, verify.stdout + verify.stderr).to.equal(0);
    });
  }

  it('a journal write cut by the kill (torn tail): the server recovers up to it and loses nothing acknowledged', async () => {
    const shim = await shims.launch({ storage: 'disagg', replSet: 'rs0', setParameters: { checkpointIntervalSecs: 3600 } });
    const writers = startWriters(shim);
    await waitUntil(() => writers.count() >= 100, 60_000);
    await shim.kill();
    writers.stop();
    const acknowledged = await writers.done;
    // The kill cut a record in two: its first 200 bytes reached the file, the rest did not.
    const last = join(shim.dbpath, journalFiles(shim.dbpath).at(-1)!);
    const bytes = readFileSync(last);
    const header = Buffer.alloc(512, 0x5a);
    header.writeUInt32LE(1024, 0);
    appendFileSync(last, header.subarray(0, 200));
    await shim.start();
    const cut = shim.logLines().find((line) => line.msg === 'Cut off a torn record at the end of the journal');
    // Cut exactly where the torn record began (replication recovery's checkpoint may then remove the file).
    expect(cut?.attr?.['offset']).to.equal(bytes.length);
    await checkAcknowledged(shim, acknowledged);
  });

  it('a corrupt record in the middle of a journal file: exit 6 naming the file and offset, nothing changed; verify exits 2', async () => {
    const shim = await shims.launch({ storage: 'local', replSet: 'rs0', setParameters: { checkpointIntervalSecs: 3600 } });
    const writers = startWriters(shim);
    await waitUntil(() => writers.count() >= 100, 60_000);
    await shim.kill();
    writers.stop();
    await writers.done;
    const name = journalFiles(shim.dbpath).at(-1)!;
    const path = join(shim.dbpath, name);
    const bytes = readFileSync(path);
    const offset = Math.floor(bytes.length / 2 / 128) * 128;
    bytes[offset + 40]! ^= 0xff;
    writeFileSync(path, bytes);
    const before = journalFiles(shim.dbpath).map((file) => readFileSync(join(shim.dbpath, file)).toString('hex'));
    const error = await shim.start().then(() => undefined, (e: unknown) => e);
    expect(error, 'the server must refuse to start').to.be.instanceOf(Error);
    expect(shim.exit?.exitCode).to.equal(6);
    const fatal = shim.logLines().find((line) => line.s === 'F');
    expect(JSON.stringify(fatal)).to.contain(name).and.to.contain('LOG_CORRUPT');
    expect(journalFiles(shim.dbpath).map((file) => readFileSync(join(shim.dbpath, file)).toString('hex'))).to.deep.equal(before);
    const verify = await runReadPath(['verify', shim.dbpath]);
    expect(verify.exitCode, verify.stdout + verify.stderr).to.equal(2);
    expect(verify.stdout + verify.stderr).to.contain(name);
    const printed = await runReadPath(['log', '--journal', shim.dbpath]);
    expect(printed.exitCode, 'log --journal reports the bad record').to.equal(2);
    expect(printed.stdout).to.contain('"type":"commit"').and.to.contain('row_put');
    expect(printed.stdout + printed.stderr).to.contain(`${name} is corrupt at offset`);
  });
});
