import { copyFileSync, cpSync, existsSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { StorageMode } from '../api.js';
import { ConnectionImpl } from '../connection/index.js';
import { EngineError, ErrorCode, FormatError, IoError } from '../errors.js';
import { latestCheckpoint, parseTurtle, turtleValue } from '../format/index.js';
import { openConnection } from '../index.js';
import { STORAGE_MODES, testHomes } from '../testing/homes.js';

const TURTLE = 'WiredTiger.turtle';
const TURTLE_SET = 'WiredTiger.turtle.set';

async function failure(work: () => Promise<unknown>): Promise<EngineError> {
  try {
    await work();
  } catch (error) {
    expect(error).to.be.instanceOf(EngineError);
    return error as EngineError;
  }
  return expect.fail('expected an EngineError');
}

describe('turtle file and local metadata', () => {
  const homes = testHomes();

  async function makeHome(storage: StorageMode = 'local'): Promise<string> {
    const home = await homes.directory();
    const connection = await openConnection(home, { storage });
    connection.createTable('table:t', 'key_format=S,value_format=S');
    connection.createTable('table:local_one', 'key_format=S,value_format=S', storage === 'disagg' ? { shared: false } : {});
    connection.openSession().openCursor('table:t').put('k', 'v');
    await connection.close();
    return home;
  }

  it('writes a turtle WiredTiger can read: version lines, then the metadata file entry with its checkpoint', async () => {
    const home = await makeHome();
    const turtle = parseTurtle(readFileSync(join(home, TURTLE), 'utf8'));
    expect(turtle.entries.map(([key]) => key)).to.deep.equal(['WiredTiger version string', 'WiredTiger version', 'file:WiredTiger.wt']);
    const entry = turtleValue(turtle, 'file:WiredTiger.wt')!;
    expect(entry).to.match(/(^|,)id=0(,|$)/);
    expect(entry).to.match(/(^|,)key_format=S(,|$)/);
    expect(entry).to.contain('checkpoint_lsn=(4294967295,2147483647)');
    expect(latestCheckpoint(entry)!.addr).to.match(/^01[0-9a-f]+$/);
    expect(existsSync(join(home, TURTLE_SET)), 'no temporary turtle is left behind').to.equal(false);
  });

  it('keeps WiredTiger\'s metadata chain: table, colgroup naming the file, file entry with id and checkpoint', async () => {
    const home = await makeHome();
    const connection = await homes.open(home, { storage: 'local', readOnly: true });
    const entries = new Map((connection as ConnectionImpl).metadataEntries().map((e) => [e.key, e.value]));
    expect(entries.get('table:t')).to.match(/(^|,)key_format=S,value_format=S(,|$)/);
    expect(entries.get('colgroup:t')).to.contain('source="file:t.wt"');
    const file = entries.get('file:t.wt')!;
    expect(file).to.match(/(^|,)id=\d+(,|$)/);
    expect(latestCheckpoint(file)!.addr).to.match(/^01[0-9a-f]+$/);
    expect(entries.get('file:WiredTigerHS.wt')).to.match(/(^|,)id=1(,|$)/);
  });

  for (const storage of STORAGE_MODES) {
    it(`raises MISSING_FILE naming WiredTiger.wt when the file the turtle names is missing (${storage})`, async () => {
      const home = await makeHome(storage);
      unlinkSync(join(home, 'WiredTiger.wt'));
      const error = await failure(() => openConnection(home, { storage }));
      expect(error).to.be.instanceOf(IoError);
      expect(error.code).to.equal(ErrorCode.MissingFile);
      expect(error.location.file).to.equal('WiredTiger.wt');
    });

    it(`raises MISSING_FILE naming the table and its file when a local table's file is missing (${storage})`, async () => {
      const home = await makeHome(storage);
      const fileName = storage === 'local' ? 't.wt' : 'local_one.wt';
      unlinkSync(join(home, fileName));
      const error = await failure(() => openConnection(home, { storage }));
      expect(error.code).to.equal(ErrorCode.MissingFile);
      expect(error.location).to.include({ file: fileName });
      expect(error.location.uri).to.match(/^table:/);
    });
  }

  it('raises MISSING_FILE naming the page log, and creates none, when the page log of a home is missing', async () => {
    const home = await makeHome('disagg');
    rmSync(join(home, 'pagelog'), { recursive: true });
    for (const readOnly of [false, true]) {
      const error = await failure(() => openConnection(home, { storage: 'disagg', readOnly }));
      expect(error.code).to.equal(ErrorCode.MissingFile);
      expect(error.location.file).to.match(/pagelog$/);
      expect(existsSync(join(home, 'pagelog')), 'an empty page log was created in its place').to.equal(false);
    }
  });

  it('raises CHECKPOINT_METADATA_CORRUPT naming the LSN when its page log lacks the checkpoint the local metadata names', async () => {
    const home = await makeHome('disagg');
    const connection = await openConnection(home, { storage: 'disagg' });
    await connection.checkpoint();
    // A copy of this home's own log, taken before the checkpoints the local metadata now names.
    const stale = join(await homes.directory(), 'pagelog');
    cpSync(join(home, 'pagelog'), stale, { recursive: true });
    for (let i = 0; i < 5; i++) await connection.checkpoint();
    await connection.close();
    const error = await failure(() => openConnection(home, { storage: 'disagg', pageLogPath: stale }));
    expect(error.code).to.equal(ErrorCode.CheckpointMetadataCorrupt);
    expect(error.location.lsn).to.be.a('number');
  });

  it('raises PAGE_LOG_MISMATCH for another database\'s page log, even one with a checkpoint at the same LSN', async () => {
    const build = async (): Promise<string> => {
      const home = await makeHome('disagg');
      const connection = await openConnection(home, { storage: 'disagg' });
      await connection.openSession().openCursor('table:t').put('which', home);
      await connection.checkpoint();
      await connection.close();
      return home;
    };
    const home = await build();
    const other = await build();
    const error = await failure(() => openConnection(home, { storage: 'disagg', pageLogPath: join(other, 'pagelog') }));
    expect(error.code).to.equal(ErrorCode.PageLogMismatch);
    expect(error.message).to.contain('belongs to another database');
    expect(error.location.file).to.equal(join(other, 'pagelog'));
    // Its own log still opens, with its own data.
    const connection = await openConnection(home, { storage: 'disagg' });
    expect(connection.openSession().openCursor('table:t').get('which')).to.equal(home);
    await connection.close();
  });

  it('raises MISSING_FILE for a home without a turtle when it may not create one', async () => {
    const home = await homes.directory();
    for (const config of [{ readOnly: true }, { create: false }]) {
      const error = await failure(() => openConnection(home, { storage: 'local', ...config }));
      expect(error.code).to.equal(ErrorCode.MissingFile);
      expect(error.location.file).to.match(/WiredTiger\.turtle$/);
    }
    expect(existsSync(join(home, TURTLE))).to.equal(false);
  });

  it('refuses to create a home over a metadata file whose turtle is missing', async () => {
    const home = await makeHome();
    unlinkSync(join(home, TURTLE));
    const error = await failure(() => openConnection(home, { storage: 'local' }));
    expect(error.code).to.equal(ErrorCode.MissingFile);
    expect(existsSync(join(home, 't.wt'))).to.equal(true);
  });

  for (const [label, text, key] of [
    ['empty', '', 'WiredTiger version'],
    ['not a turtle', 'hello\nworld\n', 'WiredTiger version'],
    ['without the metadata entry', 'WiredTiger version\nmajor=12,minor=0,patch=0\n', 'file:WiredTiger.wt'],
    ['of a version before 3.2.0', 'WiredTiger version\nmajor=3,minor=1,patch=0\nfile:WiredTiger.wt\nid=0\n', 'WiredTiger version'],
  ] as const) {
    it(`raises FormatError naming the turtle file and the key for a turtle ${label}`, async () => {
      const home = await makeHome();
      writeFileSync(join(home, TURTLE), text);
      const error = await failure(() => openConnection(home, { storage: 'local' }));
      expect(error).to.be.instanceOf(FormatError);
      expect(error.location).to.include({ file: TURTLE, key });
    });
  }

  it('raises FORMAT_TRUNCATED for a turtle cut after a key line', async () => {
    const home = await makeHome();
    const text = readFileSync(join(home, TURTLE), 'utf8');
    writeFileSync(join(home, TURTLE), text.slice(0, text.indexOf('file:WiredTiger.wt') + 'file:WiredTiger.wt\n'.length));
    const error = await failure(() => openConnection(home, { storage: 'local' }));
    expect(error.code).to.equal(ErrorCode.FormatTruncated);
    expect(error.location.file).to.equal(TURTLE);
  });

  it('uses a leftover WiredTiger.turtle.set only when the turtle itself is missing', async () => {
    // A crash between syncing the new turtle and renaming it over the old one.
    const home = await makeHome();
    renameSync(join(home, TURTLE), join(home, TURTLE_SET));
    const connection = await homes.open(home, { storage: 'local' });
    expect(connection.openSession().openCursor('table:t').get('k')).to.equal('v');
    expect(existsSync(join(home, TURTLE))).to.equal(true);
    await connection.close();
    // With the turtle present a leftover is ignored, whatever it holds.
    writeFileSync(join(home, TURTLE_SET), 'half-written\n');
    const again = await homes.open(home, { storage: 'local' });
    expect(again.openSession().openCursor('table:t').get('k')).to.equal('v');
  });

  it('reads a leftover turtle.set without renaming it when opened read-only', async () => {
    const home = await makeHome();
    copyFileSync(join(home, TURTLE), join(home, TURTLE_SET));
    unlinkSync(join(home, TURTLE));
    const connection = await homes.open(home, { storage: 'local', readOnly: true });
    expect(connection.openSession().openCursor('table:t').get('k')).to.equal('v');
    expect(existsSync(join(home, TURTLE))).to.equal(false);
  });
});
