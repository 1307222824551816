import { cpSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Connection, StorageMode } from '../api.js';
import { ChecksumError, EngineError, ErrorCode, FormatError, PageLogError } from '../errors.js';
import { decodeFileCheckpointCookie, formatTurtle, latestCheckpoint, parseTurtle, turtleValue } from '../format/index.js';
import { openConnection } from '../index.js';
import { testHomes } from '../testing/homes.js';
import { seededRandom, testSeed } from '../testing/random.js';
import { engineFailure } from '../testing/failures.js';

const COUNT = 5_000;
const keyOf = (i: number): string => `key${String(i).padStart(6, '0')}`;
const valueOf = (i: number): string => `value ${i} `.padEnd(60, 'v');

/** Opens read-only (nothing may be written to a damaged home) and reads every record. */
async function readAll(home: string, storage: StorageMode = 'local'): Promise<Array<[unknown, unknown]>> {
  const connection = await openConnection(home, { storage, readOnly: true });
  try {
    return [...connection.openSession().openCursor('table:t').entries()];
  } finally {
    await connection.close();
  }
}

function flipByte(path: string, offset: number): void {
  const bytes = readFileSync(path);
  bytes[offset] = bytes[offset]! ^ 0x5a;
  writeFileSync(path, bytes);
}

/** The root block's offset from a `file:` entry or the turtle's metadata entry. */
function rootOffset(fileConfig: string): number {
  return decodeFileCheckpointCookie(Buffer.from(latestCheckpoint(fileConfig)!.addr, 'hex'), 4096).root.offset;
}

describe('corrupt and truncated files', function () {
  this.timeout(60_000);
  const homes = testHomes();
  let original: string;
  let expected: Array<[string, string]>;

  async function build(storage: StorageMode): Promise<string> {
    const home = await homes.directory();
    const connection: Connection = await openConnection(home, { storage });
    connection.createTable('table:t', 'key_format=S,value_format=S');
    const cursor = connection.openSession().openCursor('table:t');
    for (let i = 0; i < COUNT; i++) cursor.put(keyOf(i), valueOf(i));
    await connection.checkpoint();
    // A second round leaves freed blocks in the file as well as live ones.
    for (let i = 0; i < COUNT; i += 3) cursor.put(keyOf(i), valueOf(i));
    await connection.close();
    return home;
  }

  async function copy(): Promise<string> {
    const home = await homes.directory();
    cpSync(original, home, { recursive: true });
    return home;
  }

  beforeEach(async () => {
    original = await build('local');
    expected = Array.from({ length: COUNT }, (_, i) => [keyOf(i), valueOf(i)]);
  });

  it('reads the undamaged copy in full (the baseline the other cases change)', async () => {
    expect(await readAll(await copy())).to.deep.equal(expected);
  });

  it('raises FORMAT_TRUNCATED with the file and its length when a table file is shorter than its checkpoint', async () => {
    const home = await copy();
    const size = statSync(join(home, 't.wt')).size;
    truncateSync(join(home, 't.wt'), size - 4096);
    const error = await engineFailure(() => readAll(home));
    expect(error).to.be.instanceOf(FormatError);
    expect(error.code).to.equal(ErrorCode.FormatTruncated);
    expect(error.location).to.include({ file: 't.wt', offset: size - 4096 });
  });

  it('raises FORMAT_TRUNCATED when a table file is shorter than its descriptor block', async () => {
    const home = await copy();
    truncateSync(join(home, 't.wt'), 100);
    const error = await engineFailure(() => readAll(home));
    expect(error.code).to.equal(ErrorCode.FormatTruncated);
    expect(error.location).to.include({ file: 't.wt', offset: 100 });
  });

  it('raises ChecksumError with the file and the block offset for a flipped byte in a page', async () => {
    const home = await copy();
    const connection = await openConnection(home, { storage: 'local', readOnly: true });
    const root = rootOffset(connection.getTable('table:t').config);
    await connection.close();
    flipByte(join(home, 't.wt'), root + 45);
    const error = await engineFailure(() => readAll(home));
    expect(error).to.be.instanceOf(ChecksumError);
    expect(error.code).to.equal(ErrorCode.ChecksumMismatch);
    expect(error.location).to.include({ file: 't.wt', offset: root });
    expect(error.location.expected).to.be.a('string');
    expect(error.location.actual).to.be.a('string').and.not.equal(error.location.expected);
  });

  it('raises ChecksumError for a flipped byte in the metadata file\'s root page', async () => {
    const home = await copy();
    const turtle = parseTurtle(readFileSync(join(home, 'WiredTiger.turtle'), 'utf8'));
    const root = rootOffset(turtleValue(turtle, 'file:WiredTiger.wt')!);
    flipByte(join(home, 'WiredTiger.wt'), root + 60);
    const error = await engineFailure(() => readAll(home));
    expect(error).to.be.instanceOf(ChecksumError);
    expect(error.location).to.include({ file: 'WiredTiger.wt', offset: root });
  });

  it('rejects a damaged descriptor block: bad magic at offset 0, bad checksum at offset 8', async () => {
    const magic = await copy();
    flipByte(join(magic, 't.wt'), 1);
    const magicError = await engineFailure(() => readAll(magic));
    expect(magicError).to.be.instanceOf(FormatError);
    expect(magicError.location).to.include({ file: 't.wt', offset: 0 });
    const body = await copy();
    flipByte(join(body, 't.wt'), 2000);
    const bodyError = await engineFailure(() => readAll(body));
    expect(bodyError).to.be.instanceOf(ChecksumError);
    expect(bodyError.location).to.include({ file: 't.wt', offset: 8 });
  });

  it('names the file whose checkpoint address does not decode', async () => {
    const home = await copy();
    const path = join(home, 'WiredTiger.turtle');
    // A well-formed turtle (its checksum matches) naming an address that does not decode.
    const entry = turtleValue(parseTurtle(readFileSync(path, 'utf8')), 'file:WiredTiger.wt')!;
    writeFileSync(path, formatTurtle(entry.replace(/addr="[0-9a-f]+"/, 'addr="01ff"')));
    const error = await engineFailure(() => readAll(home));
    expect(error).to.be.instanceOf(FormatError);
    expect(error.location).to.include({ file: 'WiredTiger.wt' });
  });

  for (const file of ['t.wt', 'WiredTiger.wt']) {
    it(`either raises an EngineError or returns exactly the stored records, for 150 random byte flips in ${file}`, async () => {
      const seed = testSeed();
      const random = seededRandom(seed);
      const pristine = readFileSync(join(original, file));
      const home = await copy();
      const path = join(home, file);
      const outcomes = { errors: 0, unchanged: 0 };
      for (let n = 0; n < 150; n++) {
        const offset = random.below(pristine.length);
        const damaged = Buffer.from(pristine);
        damaged[offset] = damaged[offset]! ^ (1 + random.below(255));
        writeFileSync(path, damaged);
        let records: Array<[unknown, unknown]> | undefined;
        try {
          records = await readAll(home);
        } catch (error) {
          expect(error, `seed ${seed}, offset ${offset}: ${(error as Error)?.stack}`).to.be.instanceOf(EngineError);
          outcomes.errors++;
          continue;
        }
        // Only a byte outside every live block (free space, padding) may go unnoticed.
        expect(records, `seed ${seed}, offset ${offset}: a damaged file returned different records`).to.deep.equal(expected);
        outcomes.unchanged++;
      }
      expect(outcomes.errors, JSON.stringify(outcomes)).to.be.greaterThan(0);
    });
  }

  it('either raises an EngineError or returns exactly the stored records, for truncations at random lengths', async () => {
    const seed = testSeed();
    const random = seededRandom(seed);
    for (const file of ['t.wt', 'WiredTiger.wt']) {
      const length = statSync(join(original, file)).size;
      for (let n = 0; n < 20; n++) {
        const home = await copy();
        const cut = random.below(length);
        truncateSync(join(home, file), cut);
        try {
          expect(await readAll(home), `seed ${seed}, ${file} cut to ${cut}`).to.deep.equal(expected);
        } catch (error) {
          expect(error, `seed ${seed}, ${file} cut to ${cut}: ${(error as Error)?.stack}`).to.be.instanceOf(EngineError);
        }
      }
    }
  });

  it('raises CHECKSUM_MISMATCH with the table id, page id and LSN for a flipped byte in a page-log page', async () => {
    const home = await build('disagg');
    const data = join(home, 'pagelog', 'data.mdb');
    const bytes = readFileSync(data);
    // Damage every stored copy of record 2501's value (old page versions hold it too).
    const marker = Buffer.from(valueOf(2_501));
    let copies = 0;
    for (let at = bytes.indexOf(marker); at >= 0; at = bytes.indexOf(marker, at + 1)) {
      bytes[at + 2] = bytes[at + 2]! ^ 0x01;
      copies++;
    }
    expect(copies).to.be.greaterThan(0);
    writeFileSync(data, bytes);
    const error = await engineFailure(() => readAll(home, 'disagg'));
    expect(error).to.be.instanceOf(PageLogError);
    expect(error.code).to.equal(ErrorCode.ChecksumMismatch);
    expect(error.location.tableId).to.be.a('number');
    expect(error.location.pageId).to.be.a('number');
    expect(error.location.lsn).to.be.a('number');
  });
});
