import { expect } from 'chai';
import { runReadPath, shimsPerTest } from '../libs/index.js';

describe('mongod-shim and wt-readpath: the files a server leaves', function () {
  const shims = shimsPerTest();

  for (const storage of ['disagg', 'local'] as const) {
    it(`leaves a home that wt-readpath verifies clean after a ${storage} run`, async () => {
      const shim = await shims.launch({ storage, replSet: 'rs0' });
      const client = await shim.client();
      await client.db('app').collection('users').insertMany(Array.from({ length: 300 }, (_, index) => ({ _id: index, name: `user ${index}` })) as never[]);
      await client.db('app').collection('users').deleteMany({ _id: { $lt: 100 } } as never);
      await client.db('admin').command({ setClusterParameter: { changeStreamOptions: { preAndPostImages: { expireAfterSeconds: 60 } } } });
      await shim.stop();
      const verify = await runReadPath(['verify', shim.dbpath]);
      expect(verify.exitCode, verify.stdout + verify.stderr).to.equal(0);
      const list = await runReadPath(['list', shim.dbpath]);
      expect(list.exitCode, list.stderr).to.equal(0);
      expect(list.stdout).to.include('table:app.users');
      expect(list.stdout).to.include('table:local.oplog.rs');
      expect(list.stdout).to.include('table:_mdb_catalog');
    });
  }

  it('is refused by wt-readpath while the server holds the dbpath', async () => {
    const shim = await shims.launch();
    const verify = await runReadPath(['verify', shim.dbpath]);
    expect(verify.exitCode).to.equal(1);
    expect(verify.stderr).to.match(/mongod\.lock|running/i);
  });
});
