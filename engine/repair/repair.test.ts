import { expect } from 'chai';
import { dir } from 'tmp-promise';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConnectionImpl } from '../connection/index.js';
import { EngineError } from '../errors.js';
import { createTable, detect, injectIdCollision, modifyTable, repairAll } from './index.js';
import type { EngineLogEvent } from '../api.js';

async function homeWithTwoTables(storage: 'local' | 'disagg'): Promise<{ home: string; cleanup: () => Promise<void> }> {
  const tmp = await dir({ unsafeCleanup: true });
  const connection = await ConnectionImpl.open(tmp.path, { storage });
  for (const name of ['first', 'second']) {
    connection.createTable(`table:${name}`, 'key_format=S,value_format=S');
    const cursor = connection.openSession().openCursor(`table:${name}`);
    for (let i = 0; i < 3000; i++) cursor.put(`${name}${String(i).padStart(5, '0')}`, `${name} value ${i}`.padEnd(80, '.'));
  }
  await connection.checkpoint();
  await connection.close();
  return { home: tmp.path, cleanup: tmp.cleanup };
}

/** Every file under `directory` with the hash of its bytes (LMDB's lock file aside). */
function snapshotFiles(directory: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(join(directory, prefix))) {
    const path = join(directory, prefix, name);
    if (statSync(path).isDirectory()) Object.assign(out, snapshotFiles(directory, join(prefix, name)));
    else if (name !== 'lock.mdb') out[join(prefix, name)] = createHash('sha256').update(readFileSync(path)).digest('hex');
  }
  return out;
}

function contents(connection: ConnectionImpl, uri: string): string[] {
  return [...connection.openSession().openCursor(uri).entries()].map(([k, v]) => `${k}=${v}`);
}

function expectCode(error: unknown, code: string): void {
  expect(error).to.be.instanceOf(EngineError);
  expect((error as EngineError).code).to.equal(code);
}

for (const storage of ['local', 'disagg'] as const) {
  describe(`repair worker (${storage})`, function () {
    this.timeout(60_000);

    it('detects an injected id collision and moves the later table to the suggested id; both read back in full after reopen', async () => {
      const { home, cleanup } = await homeWithTwoTables(storage);
      let connection = await ConnectionImpl.open(home, { storage });
      const expectedFirst = contents(connection, 'table:first');
      const expectedSecond = contents(connection, 'table:second');
      const firstId = connection.getTable('table:first').id;
      const injected = await injectIdCollision(connection, 'table:first', 'table:second');
      expect(injected.checkpoint?.id).to.be.a('string');
      await connection.close();

      connection = await ConnectionImpl.open(home, { storage });
      const findings = detect(connection);
      expect(findings).to.have.length(1);
      const collision = findings[0]!;
      expect(collision).to.include({ kind: 'idCollision', id: firstId });
      if (collision.kind !== 'idCollision') throw new Error('unreachable');
      expect(collision.uris).to.have.members(['table:first', 'table:second']);
      expect(contents(connection, 'table:second')).to.deep.equal(expectedSecond);

      const dry = await modifyTable(connection, { uri: 'file:second.wt', set: { id: collision.suggestedId }, dryRun: true });
      expect(dry.dryRun).to.equal(true);
      expect(dry.checkpoint).to.equal(undefined);
      expect(dry.changes[0]!.after).to.contain(`id=${collision.suggestedId},`);
      expect(connection.getTable('table:second').id).to.equal(firstId);

      const result = await modifyTable(connection, { uri: 'file:second.wt', set: { id: collision.suggestedId } });
      expect(result.checkpoint?.id).to.equal(connection.lastCheckpoint()?.id);
      await connection.close();

      connection = await ConnectionImpl.open(home, { storage });
      expect(detect(connection)).to.deep.equal([]);
      expect(connection.getTable('table:second').id).to.equal(collision.suggestedId);
      expect(contents(connection, 'table:first')).to.deep.equal(expectedFirst);
      expect(contents(connection, 'table:second')).to.deep.equal(expectedSecond);
      await connection.close();
      await cleanup();
    });

    it('refuses a reserved id, a taken id and an unknown table, changing nothing', async () => {
      const { home, cleanup } = await homeWithTwoTables(storage);
      const connection = await ConnectionImpl.open(home, { storage });
      const before = connection.lastCheckpoint()?.id;
      const taken = connection.getTable('table:first').id;
      for (const [request, code] of [
        [{ uri: 'table:second', set: { id: 10 } }, 'RESERVED_ID'],
        [{ uri: 'table:second', set: { id: 26 } }, 'RESERVED_ID'],
        [{ uri: 'table:second', set: { id: 2 } }, 'RESERVED_ID'],
        [{ uri: 'table:second', set: { id: taken } }, 'ID_COLLISION'],
        [{ uri: 'table:missing', set: { id: 99 } }, 'NOT_FOUND'],
      ] as const) {
        let caught: unknown;
        try {
          await modifyTable(connection, request);
        } catch (error) {
          caught = error;
        }
        expectCode(caught, code);
      }
      expect(connection.lastCheckpoint()?.id).to.equal(before);
      await connection.close();
      await cleanup();
    });

    it('creates a table through the PIT path, with a dry run first', async () => {
      const { home, cleanup } = await homeWithTwoTables(storage);
      let connection = await ConnectionImpl.open(home, { storage });
      const dry = await createTable(connection, { uri: 'table:spot', config: 'key_format=S,value_format=u', local: true, dryRun: true });
      expect(dry.changes.map((c) => c.key)).to.deep.equal(['table:spot', 'colgroup:spot', 'file:spot.wt']);
      expect(connection.hasTable('table:spot')).to.equal(false);
      const created = await createTable(connection, { uri: 'table:spot', config: 'key_format=S,value_format=u', local: true });
      expect(created.checkpoint?.id).to.equal(connection.lastCheckpoint()?.id);
      await connection.close();
      connection = await ConnectionImpl.open(home, { storage });
      expect(connection.getTable('table:spot')).to.include({ shared: false, keyFormat: 'S', valueFormat: 'u' });
      let caught: unknown;
      try {
        await createTable(connection, { uri: 'table:spot', config: 'key_format=S', local: true });
      } catch (error) {
        caught = error;
      }
      expectCode(caught, 'ALREADY_EXISTS');
      await connection.close();
      await cleanup();
    });

    it('repairAll gives the later-created table of a collision a new id and logs under REPAIR, and removes orphan files, logging each', async () => {
      const { home, cleanup } = await homeWithTwoTables(storage);
      let connection = await ConnectionImpl.open(home, { storage });
      await injectIdCollision(connection, 'table:first', 'table:second');
      const firstId = connection.getTable('table:first').id;
      await connection.close();
      writeFileSync(join(home, 'stray.wt'), Buffer.alloc(4096));
      const events: EngineLogEvent[] = [];
      connection = await ConnectionImpl.open(home, { storage, logger: (e) => events.push(e) });
      const run = await repairAll(connection, (e) => events.push(e));
      expect(run.findings.map((f) => f.kind).sort()).to.deep.equal(['idCollision', 'orphanFile']);
      expect(run.actions).to.have.length(1);
      expect(run.actions[0]!.uri).to.equal('table:second');
      expect(connection.getTable('table:first').id).to.equal(firstId);
      expect(events.filter((e) => e.component === 'REPAIR').length).to.be.greaterThan(2);
      expect(run.removedFiles).to.deep.equal(['stray.wt']);
      expect(existsSync(join(home, 'stray.wt'))).to.equal(false);
      expect(events.some((e) => e.msg === 'Removed an orphan file' && e.attr?.file === 'stray.wt')).to.equal(true);
      expect(detect(connection)).to.deep.equal([]);
      await connection.close();
      await cleanup();
    });

    it('repairAll with dryRun logs every finding and the action it would take, and changes no file', async () => {
      const { home, cleanup } = await homeWithTwoTables(storage);
      let connection = await ConnectionImpl.open(home, { storage });
      await injectIdCollision(connection, 'table:first', 'table:second');
      await connection.close();
      writeFileSync(join(home, 'stray.wt'), Buffer.alloc(4096, 7));
      const before = snapshotFiles(home);
      const events: EngineLogEvent[] = [];
      connection = await ConnectionImpl.open(home, { storage, readOnly: true });
      const run = await repairAll(connection, (e) => events.push(e), { dryRun: true });
      await connection.close();
      expect(run.dryRun).to.equal(true);
      expect(run.checkpoint).to.equal(undefined);
      expect(run.findings.map((f) => f.kind).sort()).to.deep.equal(['idCollision', 'orphanFile']);
      expect(run.actions.map((a) => a.uri)).to.deep.equal(['table:second']);
      expect(run.removedFiles).to.deep.equal(['stray.wt']);
      const messages = events.map((e) => e.msg);
      expect(messages.filter((m) => m === 'Repair finding')).to.have.length(2);
      expect(messages).to.include.members(['Would give a colliding table a new file id', 'Would remove an orphan file']);
      expect(snapshotFiles(home)).to.deep.equal(before);
      await cleanup();
    });
  });
}
