import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { StorageMode } from '../api.js';
import { ConnectionImpl } from '../connection/index.js';
import { CorruptionError, ErrorCode, FormatError, IoError } from '../errors.js';
import { latestCheckpoint, parseTurtle, turtleValue } from '../format/index.js';
import { openConnection, restoreTurtleFromBackup } from '../index.js';
import { STORAGE_MODES, testHomes } from '../testing/homes.js';
import { engineFailure } from '../testing/failures.js';

const TURTLE = 'WiredTiger.turtle';
const TURTLE_SET = 'WiredTiger.turtle.set';
const TURTLE_BACKUP = 'WiredTiger.turtle.backup';

function flipBit(path: string, offset: number, bit = 0): void {
  const bytes = readFileSync(path);
  bytes[offset]! ^= 1 << bit;
  writeFileSync(path, bytes);
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
    expect(turtle.entries.map(([key]) => key)).to.deep.equal(['WiredTiger version string', 'WiredTiger version', 'file:WiredTiger.wt', 'Turtle checksum']);
    // WiredTiger looks for its keys line by line: none of the added lines may equal one of them.
    const lines = readFileSync(join(home, TURTLE), 'utf8').split('\n');
    expect(lines.slice(6)).to.deep.equal(['Turtle checksum', lines[7], '']);
    expect(lines[7]).to.match(/^crc32c=0x[0-9a-f]{8}$/);
    expect(readFileSync(join(home, TURTLE_BACKUP), 'utf8'), 'the backup is a copy of the turtle').to.equal(readFileSync(join(home, TURTLE), 'utf8'));
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
      const error = await engineFailure(() => openConnection(home, { storage }));
      expect(error).to.be.instanceOf(IoError);
      expect(error.code).to.equal(ErrorCode.MissingFile);
      expect(error.location.file).to.equal('WiredTiger.wt');
    });

    it(`raises MISSING_FILE naming the table and its file when a local table's file is missing (${storage})`, async () => {
      const home = await makeHome(storage);
      const fileName = storage === 'local' ? 't.wt' : 'local_one.wt';
      unlinkSync(join(home, fileName));
      const error = await engineFailure(() => openConnection(home, { storage }));
      expect(error.code).to.equal(ErrorCode.MissingFile);
      expect(error.location).to.include({ file: fileName });
      expect(error.location.uri).to.match(/^table:/);
    });
  }

  it('raises MISSING_FILE naming the page log, and creates none, when the page log of a home is missing', async () => {
    const home = await makeHome('disagg');
    rmSync(join(home, 'pagelog'), { recursive: true });
    for (const readOnly of [false, true]) {
      const error = await engineFailure(() => openConnection(home, { storage: 'disagg', readOnly }));
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
    const error = await engineFailure(() => openConnection(home, { storage: 'disagg', pageLogPath: stale }));
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
    const error = await engineFailure(() => openConnection(home, { storage: 'disagg', pageLogPath: join(other, 'pagelog') }));
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
      const error = await engineFailure(() => openConnection(home, { storage: 'local', ...config }));
      expect(error.code).to.equal(ErrorCode.MissingFile);
      expect(error.location.file).to.match(/WiredTiger\.turtle$/);
    }
    expect(existsSync(join(home, TURTLE))).to.equal(false);
  });

  it('refuses to create a home over a metadata file whose turtle is missing', async () => {
    const home = await makeHome();
    unlinkSync(join(home, TURTLE));
    const error = await engineFailure(() => openConnection(home, { storage: 'local' }));
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
      const error = await engineFailure(() => openConnection(home, { storage: 'local' }));
      expect(error).to.be.instanceOf(FormatError);
      expect(error.location).to.include({ file: TURTLE, key });
    });
  }

  it('raises FORMAT_TRUNCATED for a turtle cut after a key line', async () => {
    const home = await makeHome();
    const text = readFileSync(join(home, TURTLE), 'utf8');
    writeFileSync(join(home, TURTLE), text.slice(0, text.indexOf('file:WiredTiger.wt') + 'file:WiredTiger.wt\n'.length));
    const error = await engineFailure(() => openConnection(home, { storage: 'local' }));
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

  for (const storage of STORAGE_MODES) {
    it(`refuses a turtle whose metadata entry lost its checkpoint while the home holds data, naming what it holds (${storage})`, async () => {
      const home = await makeHome(storage);
      for (const file of [TURTLE, TURTLE_BACKUP]) {
        // Five flipped bits turn the key into one nothing reads; the checksum pair and the
        // backup are removed as well, as in a turtle WiredTiger rewrote.
        const text = readFileSync(join(home, TURTLE), 'utf8');
        writeFileSync(join(home, file), text.replace(',checkpoint=(', ',checkpoiNT=(').split('Turtle checksum')[0]!);
      }
      rmSync(join(home, TURTLE_BACKUP));
      const before = readdirSync(home).sort();
      for (const readOnly of [false, true]) {
        const error = await engineFailure(() => openConnection(home, { storage, readOnly }));
        expect(error).to.be.instanceOf(CorruptionError);
        expect(error.code).to.equal(ErrorCode.MetadataCheckpointMissing);
        expect(error.location).to.include({ file: TURTLE, key: 'file:WiredTiger.wt' });
        expect(error.message).to.contain('WiredTiger.wt holds');
        expect(error.message).to.contain(storage === 'local' ? 't.wt' : 'local_one.wt');
        if (storage === 'disagg') expect(error.message).to.contain('a page log');
      }
      expect(readdirSync(home).sort(), 'no file was created or removed').to.deep.equal(before);
    });
  }

  it('names the page log as what a home holds when only the page log is left beside an empty metadata file', async () => {
    const home = await makeHome('disagg');
    const text = readFileSync(join(home, TURTLE), 'utf8').replace(',checkpoint=(', ',checkpoiNT=(').split('Turtle checksum')[0]!;
    writeFileSync(join(home, TURTLE), text);
    for (const name of readdirSync(home)) if (name !== TURTLE && name !== 'pagelog') rmSync(join(home, name));
    const error = await engineFailure(() => openConnection(home, { storage: 'disagg' }));
    expect(error.code).to.equal(ErrorCode.MetadataCheckpointMissing);
    expect(error.message).to.match(/a page log \(.*data\.mdb, \d+ bytes\)/);
  });

  it('refuses a turtle whose bytes changed (one flipped bit anywhere), by its checksum, and says --repair restores it from the intact backup', async () => {
    const home = await makeHome();
    const size = readFileSync(join(home, TURTLE)).length;
    for (const offset of [0, 40, 300, size - 30, size - 5]) {
      copyFileSync(join(home, TURTLE_BACKUP), join(home, TURTLE));
      flipBit(join(home, TURTLE), offset, 1);
      const error = await engineFailure(() => openConnection(home, { storage: 'local' }));
      expect(error.location.file, `offset ${offset}`).to.equal(TURTLE);
      expect(error.message, `offset ${offset}`).to.contain('WiredTiger.turtle.backup is intact: start with --repair');
    }
    copyFileSync(join(home, TURTLE_BACKUP), join(home, TURTLE));
    const connection = await homes.open(home, { storage: 'local' });
    expect(connection.openSession().openCursor('table:t').get('k')).to.equal('v');
  });

  it('refuses a turtle with 64 zeroed bytes (a NUL byte) at its offset, as the verifier does', async () => {
    const home = await makeHome();
    rmSync(join(home, TURTLE_BACKUP));
    const bytes = readFileSync(join(home, TURTLE));
    bytes.fill(0, 300, 364);
    writeFileSync(join(home, TURTLE), bytes);
    const error = await engineFailure(() => openConnection(home, { storage: 'local' }));
    expect(error).to.be.instanceOf(FormatError);
    expect(error.location).to.include({ file: TURTLE, offset: 300 });
    expect(error.message).not.to.contain('--repair');
  });

  it('refuses a missing turtle beside an intact backup, saying --repair restores it; restoreTurtleFromBackup does, and only then', async () => {
    const home = await makeHome();
    const original = readFileSync(join(home, TURTLE), 'utf8');
    expect(restoreTurtleFromBackup(home)).to.deep.include({ restored: false });
    unlinkSync(join(home, TURTLE));
    const error = await engineFailure(() => openConnection(home, { storage: 'local' }));
    expect(error.code).to.equal(ErrorCode.MissingFile);
    expect(error.message).to.contain('start with --repair');
    const restore = restoreTurtleFromBackup(home);
    expect(restore.restored).to.equal(true);
    expect(restore.reason).to.contain('missing');
    expect(readFileSync(join(home, TURTLE), 'utf8')).to.equal(original);
    const connection = await homes.open(home, { storage: 'local' });
    expect(connection.openSession().openCursor('table:t').get('k')).to.equal('v');
  });

  it('removes the backup when a checkpoint cannot write it, so a later --repair never rolls the home back to an older checkpoint', async () => {
    const home = await makeHome();
    const connection = await openConnection(home, { storage: 'local' });
    // The backup's temporary name taken by a directory: its write fails, the turtle's does not.
    mkdirSync(join(home, `${TURTLE_BACKUP}.set`));
    connection.openSession().openCursor('table:t').put('k', 'newer');
    await connection.checkpoint();
    expect(existsSync(join(home, TURTLE_BACKUP)), 'a backup naming the previous checkpoint').to.equal(false);
    await connection.close();
    rmSync(join(home, `${TURTLE_BACKUP}.set`), { recursive: true });
    unlinkSync(join(home, TURTLE));
    expect(restoreTurtleFromBackup(home).restored).to.equal(false);
    const error = await engineFailure(() => openConnection(home, { storage: 'local' }));
    expect(error.message).not.to.contain('--repair');
  });

  it('restores nothing when the backup is damaged too, and the open reports the turtle\'s own damage', async () => {
    const home = await makeHome();
    flipBit(join(home, TURTLE), 100);
    flipBit(join(home, TURTLE_BACKUP), 200);
    const damaged = readFileSync(join(home, TURTLE));
    expect(restoreTurtleFromBackup(home).restored).to.equal(false);
    expect(readFileSync(join(home, TURTLE)).equals(damaged)).to.equal(true);
    const error = await engineFailure(() => openConnection(home, { storage: 'local' }));
    expect(error.location.file).to.equal(TURTLE);
    expect(error.message).not.to.contain('--repair');
  });

  it('rewrites a damaged or stale backup at a writable open, logged, and leaves it to read-only opens', async () => {
    const home = await makeHome();
    const events: string[] = [];
    flipBit(join(home, TURTLE_BACKUP), 50);
    const damaged = readFileSync(join(home, TURTLE_BACKUP));
    await (await homes.open(home, { storage: 'local', readOnly: true })).close();
    expect(readFileSync(join(home, TURTLE_BACKUP)).equals(damaged), 'a read-only open writes nothing').to.equal(true);
    const connection = await openConnection(home, { storage: 'local', logger: (event) => events.push(`${event.level} ${event.msg} ${JSON.stringify(event.attr)}`) });
    expect(readFileSync(join(home, TURTLE_BACKUP), 'utf8')).to.equal(readFileSync(join(home, TURTLE), 'utf8'));
    expect(events.some((line) => line.startsWith('warn Rewrote the turtle file backup') && line.includes('"found":"invalid"'))).to.equal(true);
    await connection.close();
  });

  it('opens a home whose turtle has no checksum pair (as WiredTiger writes it) and adds one at its next checkpoint', async () => {
    const home = await makeHome();
    const text = readFileSync(join(home, TURTLE), 'utf8');
    writeFileSync(join(home, TURTLE), text.split('Turtle checksum')[0]!);
    rmSync(join(home, TURTLE_BACKUP));
    const connection = await homes.open(home, { storage: 'local' });
    expect(connection.openSession().openCursor('table:t').get('k')).to.equal('v');
    connection.openSession().openCursor('table:t').put('k2', 'v2');
    await connection.checkpoint();
    expect(readFileSync(join(home, TURTLE), 'utf8')).to.contain('\nTurtle checksum\ncrc32c=0x');
    expect(existsSync(join(home, TURTLE_BACKUP))).to.equal(true);
  });

  it('commits a checkpoint whose backup cannot be written, logging it, and writes the backup at the next checkpoint', async () => {
    const home = await makeHome();
    const events: string[] = [];
    const connection = await openConnection(home, { storage: 'local', logger: (event) => events.push(`${event.level} ${event.msg}`) });
    // A directory where the backup's temporary file goes makes its write fail.
    mkdirSync(join(home, 'WiredTiger.turtle.backup.set'));
    connection.openSession().openCursor('table:t').put('k', 'after');
    const checkpoint = await connection.checkpoint();
    expect(checkpoint.id).to.be.a('string');
    expect(events.some((line) => line.startsWith('warn The turtle file backup was not written'))).to.equal(true);
    expect(existsSync(join(home, TURTLE_BACKUP)), 'no backup naming the previous checkpoint is left').to.equal(false);
    rmSync(join(home, 'WiredTiger.turtle.backup.set'), { recursive: true });
    connection.openSession().openCursor('table:t').put('k', 'again');
    await connection.checkpoint();
    expect(readFileSync(join(home, TURTLE_BACKUP), 'utf8')).to.equal(readFileSync(join(home, TURTLE), 'utf8'));
    await connection.close();
    const reopened = await homes.open(home, { storage: 'local' });
    expect(reopened.openSession().openCursor('table:t').get('k')).to.equal('again');
  });
});
