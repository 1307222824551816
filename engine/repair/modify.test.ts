import { expect } from 'chai';
import { execa } from 'execa';
import { join } from 'node:path';
import { dir } from 'tmp-promise';
import { ConnectionImpl } from '../connection/index.js';
import { EngineError } from '../errors.js';
import { getConfigValue } from '../format/index.js';
import { collectReport, verifyHome } from '../verify/index.js';
import { detect, injectIdCollision, modifyTable } from './index.js';
import { engineFailure } from '../testing/failures.js';

async function openWithTable(storage: 'local' | 'disagg', records: number): Promise<{ connection: ConnectionImpl; home: string; cleanup: () => Promise<void> }> {
  const tmp = await dir({ unsafeCleanup: true });
  const connection = await ConnectionImpl.open(tmp.path, { storage, pageLogRetain: 1 });
  connection.createTable('table:orders', 'key_format=S,value_format=S');
  connection.createTable('table:other', 'key_format=S,value_format=S');
  const cursor = connection.openSession().openCursor('table:orders');
  for (let i = 0; i < records; i++) cursor.put(`order${String(i).padStart(7, '0')}`, `value ${i}`.padEnd(100, '.'));
  await connection.checkpoint();
  return { connection, home: tmp.path, cleanup: tmp.cleanup };
}

function entry(connection: ConnectionImpl, key: string): string | undefined {
  return connection.metadataEntries().find((e) => e.key === key)?.value;
}

for (const storage of ['local', 'disagg'] as const) {
  describe(`spot-fixes of metadata values (${storage})`, function () {
    this.timeout(60_000);

    it('sets and unsets app_metadata of the table and file entries; the change survives reopen', async () => {
      const { connection, home, cleanup } = await openWithTable(storage, 10);
      const result = await modifyTable(connection, { uri: 'table:orders', set: { app_metadata: 'formatVersion=2,owner=shop' } });
      expect(result.checkpoint?.id).to.equal(connection.lastCheckpoint()?.id);
      expect(result.changes.map((c) => c.key)).to.deep.equal(['table:orders']);
      await modifyTable(connection, { uri: 'file:orders.wt', unset: ['app_metadata'] });
      await connection.close();
      const reopened = await ConnectionImpl.open(home, { storage });
      expect(getConfigValue(entry(reopened, 'table:orders')!, 'app_metadata')).to.equal('formatVersion=2,owner=shop');
      expect(getConfigValue(entry(reopened, 'file:orders.wt')!, 'app_metadata')).to.equal(undefined);
      await reopened.close();
      await cleanup();
    });

    it('a dry run returns the exact entries before and after and changes nothing', async () => {
      const { connection, cleanup } = await openWithTable(storage, 10);
      const before = entry(connection, 'file:orders.wt');
      const checkpoint = connection.lastCheckpoint()?.id;
      const dry = await modifyTable(connection, { uri: 'table:orders', set: { id: 500, leaf_page_max: '64KB' }, dryRun: true });
      expect(dry.dryRun).to.equal(true);
      expect(dry.changes).to.have.length(1);
      expect(dry.changes[0]!.before).to.equal(before);
      expect(dry.changes[0]!.after).to.equal(before!.replace(/(^|,)id=\d+/, '$1id=500').replace('leaf_page_max=32KB', 'leaf_page_max=64KB'));
      expect(entry(connection, 'file:orders.wt')).to.equal(before);
      expect(connection.lastCheckpoint()?.id).to.equal(checkpoint);
      await connection.close();
      await cleanup();
    });

    it('refuses unknown keys with the list of known ones, checkpoint-managed and create-time keys, and unsetting a key the engine reads', async () => {
      const { connection, cleanup } = await openWithTable(storage, 10);
      const before = entry(connection, 'file:orders.wt');
      const unknown = await engineFailure(() => modifyTable(connection, { uri: 'file:orders.wt', set: { no_such_key: 1 } }));
      expect(unknown.code).to.equal('CONFIG_UNKNOWN_KEY');
      expect(unknown.message).to.contain('known keys: ').and.contain('app_metadata').and.contain('leaf_page_max');
      expect((await engineFailure(() => modifyTable(connection, { uri: 'file:orders.wt', set: { checkpoint: '()' } }))).message).to.contain('every checkpoint writes it');
      expect((await engineFailure(() => modifyTable(connection, { uri: 'table:orders', set: { allocation_size: '8KB' } }))).message).to.contain('fixed when the table is created');
      expect((await engineFailure(() => modifyTable(connection, { uri: 'colgroup:orders', set: { source: '"file:other.wt"' } }))).code).to.equal('INVALID_ARGUMENT');
      expect((await engineFailure(() => modifyTable(connection, { uri: 'file:orders.wt', unset: ['key_format'] }))).message).to.contain('cannot be unset');
      expect((await engineFailure(() => modifyTable(connection, { uri: 'table:orders', set: { leaf_page_max: '1000' } }))).message).to.contain('multiple of allocation_size');
      expect((await engineFailure(() => modifyTable(connection, { uri: 'table:nope', set: { app_metadata: 'x' } }))).code).to.equal('NOT_FOUND');
      expect(entry(connection, 'file:orders.wt')).to.equal(before);
      await connection.close();
      await cleanup();
    });

    it('changes the key format only while the table is empty, in both the file and table entries', async () => {
      const { connection, home, cleanup } = await openWithTable(storage, 10);
      const refused = await engineFailure(() => modifyTable(connection, { uri: 'table:orders', set: { key_format: 'Q' } }));
      expect(refused.message).to.contain('only while the table is empty');
      await modifyTable(connection, { uri: 'file:other.wt', set: { key_format: 'Q' } });
      expect(getConfigValue(entry(connection, 'table:other')!, 'key_format')).to.equal('Q');
      expect(getConfigValue(entry(connection, 'file:other.wt')!, 'key_format')).to.equal('Q');
      connection.openSession().openCursor('table:other').put(42n, 'forty-two');
      await connection.close();
      const reopened = await ConnectionImpl.open(home, { storage });
      expect([...reopened.openSession().openCursor('table:other').entries()]).to.deep.equal([[42n, 'forty-two']]);
      await reopened.close();
      await cleanup();
    });
  });
}

describe('a page move by id (disagg)', function () {
  this.timeout(120_000);

  it('yields to other clients: writes to other tables and reads of the moved one go on; its writers wait', async () => {
    const { connection, cleanup } = await openWithTable('disagg', 60_000);
    let settled = false;
    const move = modifyTable(connection, { uri: 'table:orders', set: { id: 700 } }).finally(() => (settled = true));
    let otherWrites = 0;
    let reads = 0;
    let movedWriterWaited = false;
    const session = connection.openSession();
    const other = session.openCursor('table:other');
    const orders = session.openCursor('table:orders');
    while (!settled) {
      await new Promise((resolve) => setImmediate(resolve));
      if (settled) break;
      other.put(`k${otherWrites}`, 'v');
      otherWrites++;
      if (orders.get('order0000042') !== undefined) reads++;
      try {
        orders.put('order9999999', 'during the move');
      } catch (error) {
        expect((error as EngineError).code).to.equal('BUSY');
        movedWriterWaited = true;
      }
    }
    await move;
    expect(otherWrites, 'writes to another table during the move').to.be.greaterThan(3);
    expect(reads, 'reads of the moved table during the move').to.be.greaterThan(3);
    expect(movedWriterWaited).to.equal(true);
    expect(connection.getTable('table:orders').id).to.equal(700);
    expect(connection.openSession().openCursor('table:orders').get('order0059999')).to.match(/^value 59999/);
    await connection.close();
    await cleanup();
  });

  it('a write freeze asked for while pages move waits until the move and its checkpoint are done', async () => {
    const { connection, cleanup } = await openWithTable('disagg', 60_000);
    const events: string[] = [];
    const move = modifyTable(connection, { uri: 'table:orders', set: { id: 702 } }).then(() => events.push('moved'));
    const orders = connection.openSession().openCursor('table:orders');
    // Until the move holds its table, a write to it goes through.
    for (let i = 0; ; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      try {
        orders.put('probe', String(i));
      } catch (error) {
        expect((error as EngineError).code).to.equal('BUSY');
        break;
      }
    }
    const hold = await connection.freezeWrites();
    events.push('frozen');
    await move;
    expect(events).to.deep.equal(['moved', 'frozen']);
    expect(connection.getTable('table:orders').id).to.equal(702);
    hold.release();
    await connection.close();
    await cleanup();
  });

  it('discards the source pages: after the retention window the old id holds no page', async () => {
    const { connection, home, cleanup } = await openWithTable('disagg', 5_000);
    const oldId = connection.getTable('table:orders').id;
    await modifyTable(connection, { uri: 'table:orders', set: { id: 701 } });
    await connection.checkpoint();
    await connection.checkpoint();
    const lsn = connection.pageLog!.getLastLsn();
    expect(connection.pageLog!.openHandle(oldId).listPages(lsn)).to.deep.equal([]);
    expect(connection.pageLog!.openHandle(701).listPages(lsn).length).to.be.greaterThan(0);
    await connection.close();
    const reopened = await ConnectionImpl.open(home, { storage: 'disagg' });
    expect([...reopened.openSession().openCursor('table:orders').entries()]).to.have.length(5_000);
    await reopened.close();
    await cleanup();
  });
});

describe('detect: pages two trees reference (disagg)', function () {
  this.timeout(60_000);

  it('reports the pages two tables under one id both reference, and none after a clean collision', async () => {
    const { connection, home, cleanup } = await openWithTable('disagg', 3_000);
    await injectIdCollision(connection, 'table:orders', 'table:other');
    expect(detect(connection).filter((f) => f.kind === 'sharedPages'), 'a collision whose pages were copied shares none').to.deep.equal([]);
    // Point table:other's entry at orders' tree: both now reference every page of it.
    const orders = entry(connection, 'file:orders.wt')!;
    connection.setEntryValues('table:other', 'file:other.wt', new Map([['checkpoint', orders.match(/checkpoint=(\([^)]*\)\))/)![1]!]]), []);
    await connection.close();
    const reopened = await ConnectionImpl.open(home, { storage: 'disagg' });
    const shared = detect(reopened).filter((f) => f.kind === 'sharedPages');
    expect(shared).to.have.length(1);
    const finding = shared[0]!;
    if (finding.kind !== 'sharedPages') throw new Error('unreachable');
    expect(finding.uris).to.deep.equal(['table:orders', 'table:other']);
    expect(finding.pageIds).to.deep.equal(reopened.checkpointedPageIds('table:orders').sort((a, b) => a - b));
    await reopened.close();
    await cleanup();
  });
});

describe('a page move killed with SIGKILL', function () {
  this.timeout(180_000);
  // Moments after the child says it starts moving: early and late in the copy, then before the
  // checkpoint (paused there) and during it.
  const moments: Array<{ name: string; after: 'moving' | 'applied'; delayMs: number; pause?: boolean }> = [
    { name: 'early in the copy', after: 'moving', delayMs: 20 },
    { name: 'late in the copy', after: 'moving', delayMs: 250 },
    { name: 'after the copy, before the checkpoint', after: 'applied', delayMs: 0, pause: true },
    { name: 'during the checkpoint', after: 'applied', delayMs: 3 },
  ];
  for (const moment of moments) {
    it(`leaves either the old id or the new one with every record, never a mix: killed ${moment.name}`, async () => {
      const { connection, home, cleanup } = await openWithTable('disagg', 40_000);
      const oldId = connection.getTable('table:orders').id;
      await connection.close();
      const child = execa('node', [join('dist', 'engine', 'repair', 'move_crash_child.js'), home, moment.pause ? 'pause' : 'go'], { reject: false });
      await new Promise<void>((resolve) => {
        child.stdout!.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes(moment.after)) setTimeout(() => { child.kill('SIGKILL'); resolve(); }, moment.delayMs);
        });
        void child.then(() => resolve());
      });
      const outcome = await child;
      expect(outcome.signal ?? (outcome.stdout.includes('done') ? 'done' : outcome.stderr)).to.be.oneOf(['SIGKILL', 'done']);
      const reopened = await ConnectionImpl.open(home, { storage: 'disagg' });
      const id = reopened.getTable('table:orders').id;
      expect(id).to.be.oneOf([oldId, 700]);
      if (!outcome.stdout.includes('applied')) expect(id, 'killed before the checkpoint started').to.equal(oldId);
      const records = [...reopened.openSession().openCursor('table:orders').entries()];
      expect(records).to.have.length(40_000);
      expect(records[39_999]![0]).to.equal('order0039999');
      await reopened.close();
      const report = await collectReport(verifyHome(home));
      expect(report.findings.filter((f) => f.severity === 'error')).to.deep.equal([]);
      await cleanup();
    });
  }
});
