import { expect } from 'chai';
import { execa } from 'execa';
import { MongoServerError, type Document, type MongoClient } from 'mongodb';
import { join } from 'node:path';
import { allDocuments, builtPaths, parseLogLines, runReadPath, runShim, shimsPerTest, type ShimProcess } from '../libs/index.js';

const enabled = { enableRepairCommands: 1, enableTestCommands: 1 };

async function seed(client: MongoClient): Promise<Record<string, Document[]>> {
  const db = client.db('shop');
  await db.collection('orders').insertMany(Array.from({ length: 500 }, (_, i) => ({ _id: i, total: i * 3, note: 'x'.repeat(60) })) as never[]);
  await db.collection('customers').insertMany(Array.from({ length: 300 }, (_, i) => ({ _id: `c${i}`, name: `customer ${i}` })) as never[]);
  return contents(client);
}

async function contents(client: MongoClient): Promise<Record<string, Document[]>> {
  return { orders: await allDocuments(client, 'shop', 'orders'), customers: await allDocuments(client, 'shop', 'customers') };
}

async function tableUri(client: MongoClient, collection: string): Promise<string> {
  const [info] = await client.db('shop').listCollections({ name: collection }).toArray();
  return ((info as Document).info as Document).uri as string;
}

async function admin(client: MongoClient, command: Document): Promise<Document> {
  return client.db('admin').command(command);
}

async function refusal(client: MongoClient, command: Document): Promise<MongoServerError> {
  try {
    await admin(client, command);
  } catch (error) {
    expect(error).to.be.instanceOf(MongoServerError);
    return error as MongoServerError;
  }
  throw new Error(`expected ${JSON.stringify(command)} to be refused`);
}

async function expectUniqueIds(dbpath: string): Promise<void> {
  const list = await runReadPath(['list', dbpath, '--json']);
  expect(list.exitCode, list.stderr).to.equal(0);
  const ids = (JSON.parse(list.stdout) as Document[])
    .filter((e) => typeof e.id === 'number' && String(e.uri).startsWith('file:') && e.uri !== 'file:WiredTiger.wt')
    .map((e) => e.id as number);
  expect(new Set(ids).size, `file ids ${ids.join(',')}`).to.equal(ids.length);
}

async function expectVerified(dbpath: string): Promise<void> {
  const verify = await runReadPath(['verify', dbpath]);
  expect(verify.exitCode, verify.stdout + verify.stderr).to.equal(0);
}

for (const storage of ['disagg', 'local'] as const) {
  describe(`repairMetadata through the server (${storage})`, function () {
    this.timeout(120_000);
    const shims = shimsPerTest();
    const launch = (extra: Partial<Parameters<typeof shims.launch>[0]> = {}): Promise<ShimProcess> =>
      shims.launch({ storage, setParameters: enabled, ...extra });

    for (const local of [true, false]) {
      if (storage === 'local' && !local) continue;
      it(`creates a ${local ? 'local' : 'shared'} table through the PIT path; wt-readpath header and verify exit 0`, async () => {
        const shim = await launch();
        const client = await shim.client();
        const reply = await admin(client, { repairMetadata: 1, action: 'create', uri: 'table:spot_fix', config: 'key_format=S,value_format=u', local });
        expect(reply.ok).to.equal(1);
        expect(reply.checkpointId).to.be.a('string');
        expect((await client.db('admin').command({ serverStatus: 1 })).disagg.lastCheckpoint.id).to.equal(reply.checkpointId);
        await client.close();
        await shim.stop();
        if (local) {
          const header = await runReadPath(['header', join(shim.dbpath, 'spot_fix.wt')]);
          expect(header.exitCode, header.stdout + header.stderr).to.equal(0);
        } else {
          const list = JSON.parse((await runReadPath(['list', shim.dbpath, '--json', '-c'])).stdout) as Document[];
          const entry = list.find((e) => e.uri === 'file:spot_fix.wt')!;
          expect(entry.shared).to.equal(true);
          expect(String(entry.config)).to.match(/addr="[0-9a-f]+"/);
        }
        await expectVerified(shim.dbpath);
      });
    }

    it('moves the later table of an injected collision to a fresh id; after restart both read back in full', async () => {
      const shim = await launch();
      let client = await shim.client();
      const expected = await seed(client);
      const [orders, customers] = [await tableUri(client, 'orders'), await tableUri(client, 'customers')];
      const injected = await admin(client, { injectFault: 'idCollision', uris: [orders, customers] });
      expect(injected.checkpointId).to.be.a('string');
      const detect = await admin(client, { repairMetadata: 1, action: 'detect' });
      const collision = (detect.findings as Document[]).find((f) => f.kind === 'idCollision')!;
      expect(collision).to.include({ id: injected.id });
      expect(collision.uris).to.have.members([orders, customers]);
      expect(await contents(client)).to.deep.equal(expected);

      const dry = await admin(client, { repairMetadata: 1, action: 'modify', uri: customers, set: { id: collision.suggestedId }, dryRun: true });
      expect(dry.dryRun).to.equal(true);
      expect(dry).to.not.have.property('checkpointId');
      expect((dry.changes as Document[])[0]!.after).to.contain(`id=${collision.suggestedId},`);
      expect((await admin(client, { repairMetadata: 1, action: 'detect' })).findings).to.have.length(1);

      const modified = await admin(client, { repairMetadata: 1, action: 'modify', uri: customers, set: { id: collision.suggestedId } });
      expect(modified.checkpointId).to.be.a('string');
      await client.close();
      await shim.restart();
      client = await shim.client();
      expect(await contents(client)).to.deep.equal(expected);
      expect((await admin(client, { repairMetadata: 1, action: 'detect' })).findings).to.deep.equal([]);
      await client.close();
      await shim.stop();
      await expectVerified(shim.dbpath);
      await expectUniqueIds(shim.dbpath);
    });

    it('changes nothing on a dry run of create', async () => {
      const shim = await launch();
      const client = await shim.client();
      await seed(client);
      const before = (await client.db('admin').command({ serverStatus: 1 })).disagg.lastCheckpoint.id;
      const dry = await admin(client, { repairMetadata: 1, action: 'create', uri: 'table:dry', config: 'key_format=S,value_format=S', local: true, dryRun: true });
      expect(dry.dryRun).to.equal(true);
      expect((dry.changes as Document[]).map((c) => c.key)).to.deep.equal(['table:dry', 'colgroup:dry', 'file:dry.wt']);
      expect((await client.db('admin').command({ serverStatus: 1 })).disagg.lastCheckpoint.id).to.equal(before);
      await client.close();
      await shim.stop();
      const list = await runReadPath(['list', shim.dbpath]);
      expect(list.stdout).to.not.include('table:dry');
    });

    it('refuses reserved, taken and malformed ids, unknown tables, existing tables and unknown actions', async () => {
      const shim = await launch();
      const client = await shim.client();
      await seed(client);
      const [orders, customers] = [await tableUri(client, 'orders'), await tableUri(client, 'customers')];
      const ordersId = (await admin(client, { repairMetadata: 1, action: 'modify', uri: orders, set: { id: 999 }, dryRun: true }));
      expect(ordersId.dryRun).to.equal(true);
      const takenId = Number(/(?:^|,)id=(\d+),/.exec(String((ordersId.changes as Document[])[0]!.before))![1]);
      for (const id of [2, 10, 26]) {
        const error = await refusal(client, { repairMetadata: 1, action: 'modify', uri: customers, set: { id } });
        expect(error.code, `id ${id}`).to.equal(2);
        expect(error.message).to.match(/reserved/);
      }
      const taken = await refusal(client, { repairMetadata: 1, action: 'modify', uri: customers, set: { id: takenId } });
      expect(taken.code).to.equal(2);
      expect(taken.message).to.contain(orders);
      expect((await refusal(client, { repairMetadata: 1, action: 'modify', uri: 'table:nope', set: { id: 500 } })).code).to.equal(26);
      expect((await refusal(client, { repairMetadata: 1, action: 'modify', uri: customers, set: { id: 'seven' } })).code).to.equal(2);
      expect((await refusal(client, { repairMetadata: 1, action: 'modify', uri: customers, set: { id: 70, name: 'x' } })).code).to.equal(2);
      expect((await refusal(client, { repairMetadata: 1, action: 'create', uri: orders, config: 'key_format=u,value_format=u', local: false })).code).to.equal(48);
      expect((await refusal(client, { repairMetadata: 1, action: 'create', uri: 'table:bad', config: 'key_format=u,surprise=1', local: true })).code).to.equal(2);
      expect((await refusal(client, { repairMetadata: 1, action: 'create', uri: 'table:../escape', config: 'key_format=u', local: true })).code).to.equal(2);
      expect((await refusal(client, { repairMetadata: 1, action: 'rewrite' })).code).to.equal(2);
      await client.close();
    });

    it('rewrites any value of an entry by its rule: app_metadata set and unset, formats of a non-empty table and unknown keys refused, a dry run shows both entries', async () => {
      const shim = await launch();
      let client = await shim.client();
      await seed(client);
      const orders = await tableUri(client, 'orders');
      const dry = await admin(client, { repairMetadata: 1, action: 'modify', uri: orders, set: { app_metadata: 'owner=shop' }, dryRun: true });
      const [change] = dry.changes as Document[];
      expect(change!.key).to.equal(orders);
      expect(change!.after).to.equal(String(change!.before).replace(/app_metadata=[^,]*/, 'app_metadata="owner=shop"'));
      const set = await admin(client, { repairMetadata: 1, action: 'modify', uri: orders, set: { app_metadata: 'owner=shop' } });
      expect(set.checkpointId).to.be.a('string');
      const unknown = await refusal(client, { repairMetadata: 1, action: 'modify', uri: orders, set: { colour: 'blue' } });
      expect(unknown.code).to.equal(2);
      expect(unknown.message).to.contain('known keys: ').and.contain('app_metadata');
      const format = await refusal(client, { repairMetadata: 1, action: 'modify', uri: orders, set: { value_format: 'S' } });
      expect(format.message).to.contain('only while the table is empty');
      const managed = await refusal(client, { repairMetadata: 1, action: 'modify', uri: orders.replace('table:', 'file:') + '.wt', set: { checkpoint_lsn: '(1,0)' } });
      expect(managed.message).to.contain('every checkpoint writes it');
      await client.close();
      await shim.restart();
      client = await shim.client();
      await admin(client, { repairMetadata: 1, action: 'modify', uri: orders, unset: ['app_metadata'] });
      await client.close();
      await shim.stop();
      const entries = JSON.parse((await runReadPath(['list', shim.dbpath, '--json', '-c'])).stdout) as Document[];
      expect(String(entries.find((e) => e.uri === orders)!.config)).to.not.contain('app_metadata');
      await expectVerified(shim.dbpath);
    });

    it('is IllegalOperation (20) naming the parameter when repair commands are not enabled', async () => {
      const shim = await shims.launch({ storage });
      const client = await shim.client();
      const error = await refusal(client, { repairMetadata: 1, action: 'detect' });
      expect(error.code).to.equal(20);
      expect(error.message).to.contain('enableRepairCommands');
      expect((await refusal(client, { injectFault: 'idCollision', uris: ['table:a', 'table:b'] })).code).to.equal(59);
      await client.close();
    });

    it('mongod-shim --repair gives the later-created table a fresh id, logs under REPAIR and exits 0', async () => {
      const shim = await launch();
      let client = await shim.client();
      const expected = await seed(client);
      const [orders, customers] = [await tableUri(client, 'orders'), await tableUri(client, 'customers')];
      await admin(client, { injectFault: 'idCollision', uris: [orders, customers] });
      await client.close();
      await shim.stop();
      const run = await runShim(['--repair', '--dbpath', shim.dbpath, '--storage', storage]);
      expect(run.exitCode, run.stdout.slice(-2000)).to.equal(0);
      const repairLines = parseLogLines(run.stdout).filter((l) => l.c === 'REPAIR');
      expect(repairLines.some((l) => l.msg === 'Repair finding' && (l.attr as Document).kind === 'idCollision')).to.equal(true);
      const action = repairLines.find((l) => l.msg === 'Gave a colliding table a new file id');
      expect((action?.attr as Document | undefined)?.uri).to.equal(customers);
      await expectUniqueIds(shim.dbpath);
      await expectVerified(shim.dbpath);
      await shim.start();
      client = await shim.client();
      expect(await contents(client)).to.deep.equal(expected);
      await client.close();
    });

    it('survives a kill -9 in the middle of a repair: after restart, repair again succeeds', async () => {
      const shim = await launch();
      let client = await shim.client();
      const expected = await seed(client);
      const [orders, customers] = [await tableUri(client, 'orders'), await tableUri(client, 'customers')];
      await admin(client, { injectFault: 'idCollision', uris: [orders, customers] });
      const { suggestedId } = ((await admin(client, { repairMetadata: 1, action: 'detect' })).findings as Document[])[0]!;
      // The repair is under way when the server dies.
      const pending = admin(client, { repairMetadata: 1, action: 'modify', uri: customers, set: { id: suggestedId } }).catch((error: unknown) => error);
      await new Promise((resolve) => setTimeout(resolve, 5));
      await shim.kill();
      await pending;
      await client.close().catch(() => undefined);
      await shim.start();
      client = await shim.client();
      expect(await contents(client)).to.deep.equal(expected);
      const findings = (await admin(client, { repairMetadata: 1, action: 'detect' })).findings as Document[];
      for (const finding of findings) {
        if (finding.kind !== 'idCollision') continue;
        await admin(client, { repairMetadata: 1, action: 'modify', uri: customers, set: { id: finding.suggestedId } });
      }
      expect((await admin(client, { repairMetadata: 1, action: 'detect' })).findings).to.deep.equal([]);
      expect(await contents(client)).to.deep.equal(expected);
      await client.close();
      await shim.stop();
      await expectVerified(shim.dbpath);
      await expectUniqueIds(shim.dbpath);
    });
  });
}

describe('repair: a page move does not stop the server', function () {
  this.timeout(180_000);
  const shims = shimsPerTest();

  it('answers ping and serves writes to another collection while a large collection\'s pages move', async () => {
    const shim = await shims.launch({ setParameters: enabled });
    const client = await shim.client();
    const big = client.db('shop').collection('big');
    for (let batch = 0; batch < 15; batch++) {
      await big.insertMany(Array.from({ length: 10_000 }, (_, i) => ({ _id: batch * 10_000 + i, note: 'x'.repeat(120) })) as never[]);
    }
    // The other client writes to a collection that exists: creating one is a schema change,
    // which waits for the move.
    await client.db('shop').collection('small').insertOne({ _id: 0 } as never);
    await admin(client, { fsync: 1 });
    const uri = await tableUri(client, 'big');
    const other = await shim.client();
    const events: string[] = [];
    const move = admin(client, { repairMetadata: 1, action: 'modify', uri, set: { id: 900 } }).then((reply) => {
      events.push('moved');
      return reply;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    await other.db('admin').command({ ping: 1 });
    events.push('ping');
    await other.db('shop').collection('small').insertOne({ _id: 1 } as never);
    events.push('insert elsewhere');
    const reply = await move;
    expect(reply.checkpointId).to.be.a('string');
    expect(events, 'the ping and the insert were answered while the pages moved').to.deep.equal(['ping', 'insert elsewhere', 'moved']);
    expect(await big.countDocuments()).to.equal(150_000);
    await other.close();
    await client.close();
    await shim.stop();
    await expectVerified(shim.dbpath);
  });
});

describe('repair: a repair killed at random moments, repeatedly', function () {
  this.timeout(120_000);
  const shims = shimsPerTest();

  it('always leaves a home that opens with the data intact and repairs to unique ids', async () => {
    const shim = await shims.launch({ setParameters: enabled });
    let client = await shim.client();
    const expected = await seed(client);
    const [orders, customers] = [await tableUri(client, 'orders'), await tableUri(client, 'customers')];
    await client.close();
    for (let round = 0; round < 3; round++) {
      client = await shim.client();
      await admin(client, { injectFault: 'idCollision', uris: [orders, customers] }).catch(() => undefined);
      await client.close();
      await shim.stop();
      // mongod-shim --repair, killed after a varying delay.
      const child = execa('node', [builtPaths.mongodShim, '--repair', '--dbpath', shim.dbpath], { reject: false });
      setTimeout(() => child.kill('SIGKILL'), 150 + round * 120);
      await child;
      await shim.start();
      client = await shim.client();
      expect(await contents(client)).to.deep.equal(expected);
      await client.close();
    }
    await shim.stop();
    const finish = await runShim(['--repair', '--dbpath', shim.dbpath]);
    expect(finish.exitCode, finish.stdout.slice(-1500)).to.equal(0);
    await expectUniqueIds(shim.dbpath);
    await expectVerified(shim.dbpath);
  });
});
