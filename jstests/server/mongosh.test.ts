import { expect } from 'chai';
import { execa } from 'execa';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { shimsPerTest } from '../libs/index.js';

/** The mongosh installed with the project's dev dependencies. */
function mongoshPath(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('mongosh/package.json')), 'bin', 'mongosh.js');
}

describe('mongod-shim with mongosh', function () {
  this.timeout(120_000);
  const shims = shimsPerTest();

  it('connects with mongosh, writes and reads, lists databases and reports the replica set', async () => {
    const shim = await shims.launch({ replSet: 'rs0' });
    const script = [
      "db.getSiblingDB('shell').items.insertMany([{_id: 1, name: 'one'}, {_id: 2, name: 'two'}]);",
      "print('found ' + db.getSiblingDB('shell').items.countDocuments({}));",
      "print('names ' + db.getSiblingDB('shell').items.find().sort({_id: -1}).toArray().map((d) => d.name).join(','));",
      "print('dbs ' + db.adminCommand({listDatabases: 1}).databases.map((d) => d.name).sort().join(','));",
      "print('set ' + rs.status().set + ' ' + rs.status().myState);",
    ].join('\n');
    const result = await execa('node', [mongoshPath(), '--quiet', '--norc', `mongodb://127.0.0.1:${shim.port}/test?directConnection=true`, '--eval', script], {
      reject: false, timeout: 90_000, env: { MONGOSH_NO_UPDATE_CHECK: '1' },
    });
    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).to.equal(0);
    expect(result.stdout).to.include('found 2');
    expect(result.stdout).to.include('names two,one');
    expect(result.stdout).to.match(/dbs .*shell/);
    expect(result.stdout).to.include('set rs0 1');
  });
});
