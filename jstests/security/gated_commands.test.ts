import { expect } from 'chai';
import { MongoServerError, type Db } from 'mongodb';
import { shimsPerSuite, type ShimProcess } from '../libs/index.js';

/** The error a command fails with (the test fails if it succeeds). */
async function failure(run: Promise<unknown>): Promise<MongoServerError> {
  const outcome = await run.then(
    (reply) => ({ reply }),
    (error: unknown) => ({ error }),
  );
  if ('reply' in outcome) expect.fail(`expected an error, got ${JSON.stringify(outcome.reply)}`);
  expect(outcome.error).to.be.instanceOf(MongoServerError);
  return outcome.error as MongoServerError;
}

describe('security: repair and test commands are off by default', function () {
  const shims = shimsPerSuite();
  let shim: ShimProcess;
  let admin: Db;

  before(async () => {
    shim = await shims.launch({ replSet: 'rs0', keyProvider: 'example' });
    admin = (await shim.client()).db('admin');
  });

  it('refuses repairMetadata with IllegalOperation (20) naming enableRepairCommands', async () => {
    for (const command of [{ repairMetadata: 1, action: 'detect' }, { repairMetadata: 1, action: 'create', uri: 'table:x', config: 'key_format=u,value_format=u' }, { repairMetadata: 1, action: 'modify', uri: 'table:app.c', set: { id: 99 } }]) {
      const error = await failure(admin.command(command));
      expect(error.code, JSON.stringify(command)).to.equal(20);
      expect(error.message).to.include('enableRepairCommands');
    }
  });

  it('does not know rotateKey and injectFault (CommandNotFound, 59)', async () => {
    const keyVersion = (await admin.command({ serverStatus: 1 })).disagg.keyProvider.keyVersion;
    for (const command of [{ rotateKey: 1 }, { rotateKey: 1, checkpoint: true }, { injectFault: 'idCollision', uris: ['table:a', 'table:b'] }]) {
      const error = await failure(admin.command(command));
      expect(error.code, JSON.stringify(command)).to.equal(59);
    }
    // None of them rotated the key, even at the next checkpoint.
    await admin.command({ fsync: 1 });
    const status = await admin.command({ serverStatus: 1 });
    expect(status.disagg.keyProvider.keyVersion).to.equal(Math.max(keyVersion, 1));
  });

  it('does not list the test commands', async () => {
    const { commands } = await admin.command({ listCommands: 1 });
    expect(commands).to.not.have.any.keys('rotateKey', 'injectFault');
  });

  it('reports both switches off and refuses to turn them on at run time', async () => {
    const parameters = await admin.command({ getParameter: 1, enableTestCommands: 1, enableRepairCommands: 1 });
    expect(parameters).to.deep.include({ enableTestCommands: false, enableRepairCommands: false });
    for (const name of ['enableTestCommands', 'enableRepairCommands']) {
      await failure(admin.command({ setParameter: 1, [name]: true }));
    }
    expect((await failure(admin.command({ rotateKey: 1 }))).code).to.equal(59);
    expect((await failure(admin.command({ repairMetadata: 1, action: 'detect' }))).code).to.equal(20);
  });
});
