import { expect } from 'chai';
import { execa } from 'execa';
import { dir } from 'tmp-promise';
import { join } from 'node:path';
import { ConnectionImpl } from '../connection/index.js';
import { EngineError } from '../errors.js';
import { pitWrite } from './index.js';

const modes = ['local', 'disagg'] as const;

async function freshHome(storage: 'local' | 'disagg'): Promise<{ home: string; cleanup: () => Promise<void> }> {
  const tmp = await dir({ unsafeCleanup: true });
  const connection = await ConnectionImpl.open(tmp.path, { storage });
  connection.createTable('table:t', 'key_format=S,value_format=S');
  const cursor = connection.openSession().openCursor('table:t');
  for (let i = 0; i < 100; i++) cursor.put(`before${i}`, 'x');
  await connection.checkpoint();
  await connection.close();
  return { home: tmp.path, cleanup: tmp.cleanup };
}

function count(connection: ConnectionImpl, uri: string): number {
  let n = 0;
  for (const _ of connection.openSession().openCursor(uri).entries()) n++;
  return n;
}

for (const storage of modes) {
  describe(`PIT write path (${storage})`, function () {
    this.timeout(60_000);

    it('applies a batch as of its timestamp and returns the checkpoint that made it durable', async () => {
      const { home, cleanup } = await freshHome(storage);
      let connection = await ConnectionImpl.open(home, { storage });
      const result = await pitWrite(connection, {
        timestamp: 7n,
        mutations: [
          { kind: 'createTable', uri: 'table:fresh', config: 'key_format=q,value_format=u', shared: storage === 'disagg' },
          { kind: 'put', uri: 'table:fresh', key: 1n, value: Buffer.from('one') },
          { kind: 'put', uri: 'table:t', key: 'added', value: 'y' },
          { kind: 'remove', uri: 'table:t', key: 'before0' },
          { kind: 'removeRange', uri: 'table:t', range: { gte: 'before5', lt: 'before6' } },
        ],
      });
      expect(result.applied).to.equal(5);
      expect(result.checkpoint.timestamp).to.equal(7n);
      expect(connection.lastCheckpoint()?.id).to.equal(result.checkpoint.id);
      await connection.close();
      connection = await ConnectionImpl.open(home, { storage });
      expect(connection.openSession().openCursor('table:fresh').get(1n)).to.deep.equal(Buffer.from('one'));
      // 100 - before0 - before5 and before50..before59 + added
      expect(count(connection, 'table:t')).to.equal(100 - 1 - 11 + 1);
      expect(connection.stableTimestamp).to.equal(7n);
      await connection.close();
      await cleanup();
    });

    it('applies nothing when one mutation of the batch is invalid', async () => {
      const { home, cleanup } = await freshHome(storage);
      const connection = await ConnectionImpl.open(home, { storage });
      const before = connection.lastCheckpoint()?.id;
      let caught: unknown;
      try {
        await pitWrite(connection, {
          timestamp: 1n,
          mutations: [
            { kind: 'put', uri: 'table:t', key: 'good', value: 'y' },
            { kind: 'put', uri: 'table:t', key: 'bad', value: Buffer.from('not a string') },
          ],
        });
      } catch (error) {
        caught = error;
      }
      expect(caught).to.be.instanceOf(EngineError);
      expect((caught as EngineError).code).to.equal('TYPE_MISMATCH');
      expect(connection.openSession().openCursor('table:t').get('good')).to.equal(undefined);
      expect(connection.lastCheckpoint()?.id).to.equal(before);
      await connection.close();
      await cleanup();
    });

    it('makes user writes wait while it holds the lock, and waits for open transactions to commit', async () => {
      const { home, cleanup } = await freshHome(storage);
      const connection = await ConnectionImpl.open(home, { storage });
      const session = connection.openSession();
      session.beginTransaction();
      session.openCursor('table:t').put('in-flight', 'z');
      const events: string[] = [];
      let applied!: () => void;
      const appliedSignal = new Promise<void>((r) => (applied = r));
      let proceed!: () => void;
      const proceedSignal = new Promise<void>((r) => (proceed = r));
      const pit = pitWrite(connection, {
        timestamp: 3n,
        mutations: [{ kind: 'put', uri: 'table:t', key: 'pit', value: 'p' }],
        beforeCheckpoint: async () => {
          events.push('pit applied');
          applied();
          await proceedSignal;
        },
      });
      await new Promise((r) => setTimeout(r, 30));
      events.push('commit');
      session.commitTransaction();
      await appliedSignal;
      expect(() => connection.openSession().openCursor('table:t').put('blocked', 'b')).to.throw(EngineError).with.property('code', 'BUSY');
      const writer = connection.whenWritable().then(() => events.push('writer resumed'));
      proceed();
      await pit;
      await writer;
      expect(events).to.deep.equal(['commit', 'pit applied', 'writer resumed']);
      const cursor = connection.openSession().openCursor('table:t');
      expect(cursor.get('in-flight')).to.equal('z');
      expect(cursor.get('pit')).to.equal('p');
      await connection.close();
      await cleanup();
    });

    for (const moment of ['after applying, before the checkpoint', 'during the checkpoint'] as const) {
      it(`leaves the previous checkpoint when killed ${moment}`, async () => {
        const { home, cleanup } = await freshHome(storage);
        const child = execa('node', [join('dist', 'engine', 'pit', 'pit_crash_child.js'), home, storage, moment.startsWith('after') ? 'pause' : 'go'], { reject: false });
        await new Promise<void>((resolve) => {
          child.stdout!.on('data', (chunk: Buffer) => {
            if (chunk.toString().includes('applied')) {
              // During the checkpoint: give it a moment to start writing, but not to finish.
              setTimeout(() => { child.kill('SIGKILL'); resolve(); }, moment.startsWith('after') ? 0 : 5);
            }
          });
        });
        const outcome = await child;
        const connection = await ConnectionImpl.open(home, { storage });
        const n = count(connection, 'table:t');
        if (outcome.stdout.includes('done')) {
          expect(n).to.equal(20100);
        } else if (n !== 100) {
          // The checkpoint completed just before the kill: then all of it is there.
          expect(n).to.equal(20100);
          expect(connection.hasTable('table:created')).to.equal(true);
        } else {
          expect(connection.hasTable('table:created')).to.equal(false);
        }
        await connection.close();
        await cleanup();
      });
    }
  });
}
