import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { EngineError, ErrorCode, IoError } from '../errors.js';
import { openConnection } from '../index.js';
import { testHomes } from '../testing/homes.js';
import { classifyStorageFailure } from '../checkpoint/index.js';
import { engineFailure } from '../testing/failures.js';

describe('checkpoints into storage that vanished or was replaced', () => {
  const homes = testHomes();

  it('refuses a checkpoint once the page log directory is deleted, writing nothing, and keeps refusing (close raises it after releasing)', async () => {
    const home = await homes.directory();
    const connection = await openConnection(home, { storage: 'disagg' });
    connection.createTable('table:t', 'key_format=S,value_format=S');
    connection.openSession().openCursor('table:t').put('k', 'v');
    await connection.checkpoint();
    rmSync(join(home, 'pagelog'), { recursive: true });
    connection.openSession().openCursor('table:t').put('k2', 'v2');
    for (let attempt = 0; attempt < 2; attempt++) {
      const error = await engineFailure(() => connection.checkpoint());
      expect(error).to.be.instanceOf(IoError);
      expect(error.code).to.equal(ErrorCode.StorageReplaced);
      expect(error.location.file).to.equal(join(home, 'pagelog'));
      expect(error.location.actual).to.equal('missing');
      expect(error.message).to.contain('no longer exists');
    }
    expect(connection.openSession().openCursor('table:t').get('k2'), 'reads go on').to.equal('v2');
    const closing = await engineFailure(() => connection.close());
    expect(closing.code).to.equal(ErrorCode.StorageReplaced);
    // Released: the home can be opened again (and, its page log gone, is refused for that).
    const reopen = await engineFailure(() => openConnection(home, { storage: 'disagg' }));
    expect(reopen.code).to.equal(ErrorCode.MissingFile);
  });

  it('refuses a checkpoint into a home directory replaced by another at the same path (local), naming both identities', async () => {
    const parent = await homes.directory();
    const home = join(parent, 'home');
    const connection = await openConnection(home, { storage: 'local' });
    connection.createTable('table:t', 'key_format=S,value_format=S');
    await connection.checkpoint();
    renameSync(home, `${home}.moved`);
    mkdirSync(home);
    const error = await engineFailure(() => connection.checkpoint());
    expect(error.code).to.equal(ErrorCode.StorageReplaced);
    expect(error.location.file).to.equal(home);
    expect(error.location.expected).to.match(/^\d+:\d+$/);
    expect(error.location.actual).to.match(/^\d+:\d+$/).and.not.equal(error.location.expected);
    await engineFailure(() => connection.close());
  });

  it('classifies ENOSPC as NO_SPACE and other file-system errors as IO, keeping engine errors as they are', () => {
    const full = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', path: '/data/t.wt' });
    const noSpace = classifyStorageFailure(full, '/data') as EngineError;
    expect(noSpace.code).to.equal(ErrorCode.NoSpace);
    expect(noSpace.location.file).to.equal('/data/t.wt');
    const denied = Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES', path: '/data/t.wt' });
    expect((classifyStorageFailure(denied, '/data') as EngineError).code).to.equal(ErrorCode.Io);
    const engine = new IoError('gone', { file: 'x' }, ErrorCode.StorageReplaced);
    expect(classifyStorageFailure(engine, '/data')).to.equal(engine);
    const wrapped = new Error('outer', { cause: full });
    expect((classifyStorageFailure(wrapped, '/data') as EngineError).code).to.equal(ErrorCode.NoSpace);
  });
});
