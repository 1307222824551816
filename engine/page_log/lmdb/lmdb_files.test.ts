import { cpSync, mkdirSync, openSync, closeSync, readFileSync, rmSync, statSync, truncateSync, writeSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { execa } from 'execa';
import { open } from 'lmdb';
import { dir, type DirectoryResult } from 'tmp-promise';
import { EngineError, ErrorCode } from '../../errors.js';
import { seededRandom } from '../../testing/random.js';
import { openPageLog } from '../index.js';
import { checkLmdbDataFile, inspectLmdbFreePages } from './lmdb_files.js';

const here = fileURLToPath(import.meta.url);
/** The probe next to this file: TypeScript under tsx, or the compiled JavaScript under dist/. */
const probeScript = join(dirname(here), `open_probe${extname(here)}`);
const probeArguments = extname(here) === '.ts' ? ['--import', 'tsx', probeScript] : [probeScript];
/** A page log written by lmdb-js whose meta's last page (70) is free and past the end of its 70-page file. */
const freeTailCase = join(process.cwd(), 'engine', 'page_log', 'cases', 'free-tail');

interface ProbeResult {
  ok: boolean;
  code?: string;
  message?: string;
  location?: { file?: string; expected?: number; actual?: number; offset?: number };
}

/** Opens the log at `path` in a child process: a fault kills the child, never the test. */
async function probe(path: string, mode: 'ro' | 'rw'): Promise<ProbeResult> {
  const child = await execa(process.execPath, [...probeArguments, path, mode], { reject: false, timeout: 30_000 });
  expect(child.signal, `${mode} open of ${path} died by a signal: ${child.stderr}`).to.equal(undefined);
  expect(child.exitCode, `${mode} open of ${path}: ${child.stderr}`).to.equal(0);
  expect(child.stderr, 'no stack trace').to.equal('');
  return JSON.parse(child.stdout) as ProbeResult;
}

function overwrite(file: string, offset: number, bytes: Buffer): void {
  const fd = openSync(file, 'r+');
  try {
    writeSync(fd, bytes, 0, bytes.length, offset);
  } finally {
    closeSync(fd);
  }
}

async function caught(promise: Promise<unknown>): Promise<EngineError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(EngineError);
    return error as EngineError;
  }
  throw new Error('expected the open to fail');
}

describe('page log: LMDB files checked before they are mapped', function () {
  this.timeout(120_000);
  let tmp: DirectoryResult;
  let pristine: string;
  let dataSize: number;
  let pageSize: number;
  /** The size the pristine file may be truncated to: up to the highest page its free DB does not list. */
  let requiredSize: number;

  before(async () => {
    tmp = await dir({ unsafeCleanup: true });
    pristine = join(tmp.path, 'pristine');
    const log = await openPageLog(pristine);
    const handle = log.openHandle(100);
    for (let page = 100; page < 160; page += 1) handle.put(page, { backlinkLsn: 0, baseLsn: 0, flags: 0 }, Buffer.alloc(6000, page));
    log.beginCheckpoint();
    await log.completeCheckpoint({ timestamp: 10n, oldestTimestamp: 1n, metadata: 'metadata_lsn=1' });
    await log.close();
    const info = checkLmdbDataFile(pristine, { overlappingSync: false });
    dataSize = statSync(join(pristine, 'data.mdb')).size;
    pageSize = info.pageSize;
    expect(info.requiredSize).to.be.at.most(dataSize);
    requiredSize = inspectLmdbFreePages(pristine, { overlappingSync: false }).requiredSize;
    expect(requiredSize).to.be.at.most(info.requiredSize);
  });
  after(() => tmp.cleanup());

  function copy(name: string): string {
    const path = join(tmp.path, name);
    rmSync(path, { recursive: true, force: true });
    cpSync(pristine, path, { recursive: true });
    return path;
  }

  it('refuses a truncated data.mdb with FORMAT_TRUNCATED naming the file, the expected and the actual size', async () => {
    for (const size of [0, 100, pageSize + 10, 2 * pageSize, requiredSize - pageSize, requiredSize - 1]) {
      const path = copy(`truncated-${size}`);
      truncateSync(join(path, 'data.mdb'), size);
      for (const readOnly of [true, false]) {
        const error = await caught(openPageLog(path, { readOnly, create: false }));
        expect(error.code, `size ${size}`).to.equal(ErrorCode.FormatTruncated);
        expect(error.location.file).to.equal(join(path, 'data.mdb'));
        expect(error.location.actual).to.equal(size);
        expect(error.location.expected).to.be.a('number').above(size);
        expect(error.message).to.include('data.mdb').and.include(`${size} bytes`);
      }
      if (size === 0) continue;
      // Not even a writer that may create recreates a truncated store as an empty one.
      expect((await caught(openPageLog(path))).code).to.equal(ErrorCode.FormatTruncated);
    }
  });

  it('initialises an empty data.mdb (LMDB stopped before its meta pages) only for a caller that may create', async () => {
    const path = copy('empty');
    truncateSync(join(path, 'data.mdb'), 0);
    expect((await caught(openPageLog(path, { create: false }))).code).to.equal(ErrorCode.FormatTruncated);
    const log = await openPageLog(path);
    expect(log.getLastLsn()).to.equal(0);
    await log.close();
  });

  it('opens a data.mdb longer than its last page, as LMDB leaves it after freeing pages', async () => {
    const path = copy('longer');
    truncateSync(join(path, 'data.mdb'), dataSize + 3 * pageSize + 5);
    const log = await openPageLog(path, { readOnly: true });
    expect(log.getLastLsn()).to.be.above(0);
    await log.close();
  });

  it('refuses damaged meta pages with CORRUPTION and the offset', async () => {
    const cases: Array<[string, number, Buffer]> = [
      ['magic of meta page 0', 24, Buffer.from([0, 0, 0, 0])],
      ['flags of meta page 1', pageSize + 18, Buffer.from([0, 0])],
      ['version of meta page 1', pageSize + 28, Buffer.from([9, 0, 0, 0])],
      ['page size of meta page 0', 48, Buffer.from([0x00, 0x30, 0, 0])],
      ['last page of meta page 1', pageSize + 24 + 120, Buffer.from([0, 0, 0, 0, 0, 0, 0, 0])],
      ['main root of meta page 0', 24 + 112, Buffer.from([0xff, 0xff, 0xff, 0x0f, 0, 0, 0, 0])],
    ];
    for (const [name, offset, bytes] of cases) {
      const path = copy(`meta-${offset}`);
      overwrite(join(path, 'data.mdb'), offset, bytes);
      const error = await caught(openPageLog(path, { readOnly: true }));
      expect(error.code, name).to.equal(ErrorCode.Corruption);
      expect(error.location.file, name).to.equal(join(path, 'data.mdb'));
      expect(error.location.offset, name).to.be.a('number');
    }
  });

  it('refuses a directory where data.mdb or lock.mdb should be', async () => {
    for (const name of ['data.mdb', 'lock.mdb']) {
      const path = copy(`directory-${name}`);
      rmSync(join(path, name));
      mkdirSync(join(path, name));
      const error = await caught(openPageLog(path));
      expect(error.code).to.equal(ErrorCode.Corruption);
      expect(error.location.file).to.equal(join(path, name));
    }
  });

  it('opens a store whose lock.mdb is truncated or garbage: LMDB rebuilds it', async () => {
    const path = copy('lock-garbage');
    truncateSync(join(path, 'lock.mdb'), 17);
    overwrite(join(path, 'lock.mdb'), 0, Buffer.alloc(17, 0xa5));
    expect(await probe(path, 'ro')).to.include({ ok: true });
    expect(await probe(path, 'rw')).to.include({ ok: true });
  });

  it('opens read-only, again and again, a store a writer in this process keeps committing to', async () => {
    const path = join(tmp.path, 'busy');
    const writer = await openPageLog(path);
    const handle = writer.openHandle(200);
    try {
      for (let round = 0; round < 30; round += 1) {
        for (let page = 100; page < 120; page += 1) handle.put(page + round * 20, { backlinkLsn: 0, baseLsn: 0, flags: 0 }, Buffer.alloc(3000, round));
        writer.beginCheckpoint();
        const completing = writer.completeCheckpoint({ timestamp: BigInt(round + 1), oldestTimestamp: 1n, metadata: `round=${round}` });
        const reader = await openPageLog(path, { readOnly: true });
        // The open is what is checked: it must never take the store for a damaged one.
        expect(reader.getLastLsn()).to.be.a('number');
        await reader.close();
        await completing;
      }
    } finally {
      await writer.close();
    }
  });

  it('never dies by a signal on truncated, zeroed or garbage data.mdb copies (seeded, child processes)', async () => {
    const seed = 0x1d6;
    const random = seededRandom(seed);
    const pristineBytes = statSync(join(pristine, 'data.mdb')).size;
    for (let round = 0; round < 12; round += 1) {
      const path = copy(`random-${round}`);
      const file = join(path, 'data.mdb');
      const kind = random.pick(['truncate', 'zero', 'garbage'] as const);
      let description: string;
      let size = pristineBytes;
      if (kind === 'truncate') {
        size = random.below(pristineBytes);
        truncateSync(file, size);
        description = `truncated to ${size}`;
      } else {
        // Damage inside the first two pages, where the metas are.
        const offset = random.below(2 * pageSize);
        const length = 1 + random.below(256);
        const bytes = kind === 'zero' ? Buffer.alloc(length) : Buffer.from(Array.from({ length }, () => random.below(256)));
        overwrite(file, offset, bytes);
        description = `${kind} ${length} bytes at ${offset}`;
      }
      for (const mode of ['ro', 'rw'] as const) {
        const result = await probe(path, mode);
        if (kind === 'truncate') {
          // Only free pages lie past the highest page in use: cutting them is sound.
          const expected = size >= requiredSize ? { ok: true } : { ok: false, code: ErrorCode.FormatTruncated };
          expect(result, `seed ${seed} round ${round}: ${description}, ${mode}`).to.include(expected);
        } else if (!result.ok) {
          expect(result.code, `seed ${seed} round ${round}: ${description}, ${mode}`).to.be.oneOf([ErrorCode.Corruption, ErrorCode.FormatTruncated, ErrorCode.Io, ErrorCode.PageLog, ErrorCode.ChecksumMismatch]);
        }
      }
    }
  });
});

describe('page log: LMDB free pages past the end of data.mdb', function () {
  this.timeout(120_000);
  let tmp: DirectoryResult;
  /** A page log whose last transaction took pages at the end of the map and freed them again. */
  let built: string;
  let builtRecords: number;

  /** The meta picked for a read-only open, and where the free DB's root page sits. */
  function freeRoot(path: string): { metaOffset: number; root: number; pageSize: number } {
    const info = checkLmdbDataFile(path, { overlappingSync: false });
    return { metaOffset: info.meta.offset, root: Number(info.meta.freeRoot), pageSize: info.pageSize };
  }

  before(async () => {
    tmp = await dir({ unsafeCleanup: true });
    built = join(tmp.path, 'built');
    const log = await openPageLog(built);
    const handle = log.openHandle(100);
    for (let page = 100; page < 130; page += 1) handle.put(page, { backlinkLsn: 0, baseLsn: 0, flags: 0 }, Buffer.alloc(2000, page));
    log.beginCheckpoint();
    await log.completeCheckpoint({ timestamp: 10n, oldestTimestamp: 1n, metadata: 'metadata_lsn=1' });
    await log.close();
    builtRecords = 31;
    // One transaction puts large values (overflow pages, taken at the end of the map) and
    // removes them: LMDB frees those pages without writing them. Two more transactions then
    // copy the pages that transaction wrote last to lower free pages.
    const root = open<Buffer, Buffer>({ path: built, maxDbs: 4, keyEncoding: 'binary', encoding: 'binary', cache: false, compression: false });
    const pages = root.openDB<Buffer, Buffer>({ name: 'pages', keyEncoding: 'binary', encoding: 'binary', cache: false, compression: false });
    const key = (i: number): Buffer => {
      const bytes = Buffer.alloc(20, 0xff);
      bytes.writeUInt32BE(i, 16);
      return bytes;
    };
    root.transactionSync(() => {
      for (let i = 0; i < 30; i += 1) pages.putSync(key(i), Buffer.alloc(20_000, i));
      for (let i = 0; i < 30; i += 1) pages.removeSync(key(i));
    });
    for (let round = 0; round < 2; round += 1) {
      root.transactionSync(() => {
        pages.putSync(key(1000), Buffer.alloc(10, round));
        pages.removeSync(key(1000));
      });
    }
    await root.close();
  });
  after(() => tmp.cleanup());

  function copyOf(source: string, name: string): string {
    const path = join(tmp.path, name);
    rmSync(path, { recursive: true, force: true });
    mkdirSync(path);
    cpSync(join(source, 'data.mdb'), join(path, 'data.mdb'));
    return path;
  }

  it('opens a store lmdb-js wrote whose meta\'s last page is free and past the end of the file (fixture)', async () => {
    const path = copyOf(freeTailCase, 'fixture');
    expect(statSync(join(path, 'data.mdb')).size).to.equal(70 * 4096);
    for (const overlappingSync of [false, true]) {
      const info = checkLmdbDataFile(path, { overlappingSync });
      expect(info.meta.lastPage).to.equal(70n);
      expect(info.freeListRead).to.equal(true);
      expect(info.lastPageInUse).to.equal(69);
      expect(info.requiredSize).to.equal(70 * 4096);
    }
    expect(await probe(path, 'ro')).to.deep.equal({ ok: true, records: 13 });
    expect(await probe(path, 'rw')).to.deep.equal({ ok: true, records: 13 });
  });

  it('opens a built store whose free pages run past the end of the file, and one truncated to its last page in use', async () => {
    const dataSize = statSync(join(built, 'data.mdb')).size;
    const info = checkLmdbDataFile(built, { overlappingSync: false });
    expect(info.freeListRead).to.equal(true);
    expect((Number(info.meta.lastPage) + 1) * info.pageSize, 'the last page is past the end').to.be.above(dataSize);
    expect(info.requiredSize, 'free pages in the file too').to.be.below(dataSize);
    expect(inspectLmdbFreePages(built, { overlappingSync: false }).requiredSize).to.equal(info.requiredSize);
    expect(await probe(copyOf(built, 'whole'), 'ro')).to.deep.equal({ ok: true, records: builtRecords });
    // Cut every free page from the end: LMDB really opens it and reads every record, in a
    // child process, where a fault would be a signal.
    for (const mode of ['ro', 'rw'] as const) {
      const path = copyOf(built, `cut-to-${mode}`);
      truncateSync(join(path, 'data.mdb'), info.requiredSize);
      expect(checkLmdbDataFile(path, { overlappingSync: mode === 'rw' }).lastPageInUse).to.equal(info.lastPageInUse);
      expect(await probe(path, mode), mode).to.deep.equal({ ok: true, records: builtRecords });
    }
    // One byte less cuts the last page in use.
    for (const size of [info.requiredSize - 1, info.requiredSize - info.pageSize]) {
      const path = copyOf(built, `cut-${size}`);
      truncateSync(join(path, 'data.mdb'), size);
      for (const mode of ['ro', 'rw'] as const) {
        const result = await probe(path, mode);
        expect(result, `${mode} at ${size}`).to.deep.include({ ok: false, code: ErrorCode.FormatTruncated });
        expect(result.location, `${mode} at ${size}`).to.deep.include({ file: join(path, 'data.mdb'), expected: info.requiredSize, actual: size });
      }
    }
  });

  it('refuses a free DB that does not read as one: CORRUPTION with the offset, or FORMAT_TRUNCATED for a page past the end', async () => {
    const { metaOffset, root, pageSize } = freeRoot(freeTailCase);
    const page = readFileSync(join(freeTailCase, 'data.mdb')).subarray(root * pageSize, (root + 1) * pageSize);
    const rootAt = root * pageSize;
    const nodeAt = rootAt + 24 + page.readUInt16LE(24);
    const keySize = page.readUInt16LE(nodeAt - rootAt + 6);
    const cases: Array<[string, number, Buffer, string]> = [
      ['page number of the free root', rootAt, Buffer.from([0x63, 0, 0, 0, 0, 0, 0, 0]), ErrorCode.Corruption],
      ['transaction of the free root, after the meta', rootAt + 8, Buffer.from([0xff, 0, 0, 0, 0, 0, 0, 0]), ErrorCode.Corruption],
      ['page flags of the free root', rootAt + 18, Buffer.from([0x08, 0]), ErrorCode.Corruption],
      ['odd lower bound', rootAt + 20, Buffer.from([0x03, 0]), ErrorCode.Corruption],
      ['node offset past the page', rootAt + 24, Buffer.from([0xf8, 0x0f]), ErrorCode.Corruption],
      ['key size of a record', nodeAt + 6, Buffer.from([0x04, 0]), ErrorCode.Corruption],
      ['data size of a record past its page', nodeAt, Buffer.from([0xff, 0xff]), ErrorCode.Corruption],
      ['entry count of a record', nodeAt + 8 + keySize, Buffer.from([0xff, 0xff, 0, 0, 0, 0, 0, 0]), ErrorCode.Corruption],
      ['free root past the end of the file', metaOffset + 24 + 64, Buffer.from([70, 0, 0, 0, 0, 0, 0, 0]), ErrorCode.FormatTruncated],
      ['free root beyond the last page', metaOffset + 24 + 64, Buffer.from([71, 0, 0, 0, 0, 0, 0, 0]), ErrorCode.Corruption],
      ['no free DB', metaOffset + 24 + 64, Buffer.alloc(8, 0xff), ErrorCode.FormatTruncated],
    ];
    for (const [name, offset, bytes, code] of cases) {
      const path = copyOf(freeTailCase, `free-${offset}-${bytes.toString('hex')}`);
      overwrite(join(path, 'data.mdb'), offset, bytes);
      const error = await caught(openPageLog(path, { readOnly: true }));
      expect(error.code, name).to.equal(code);
      expect(error.location.file, name).to.equal(join(path, 'data.mdb'));
      if (code === ErrorCode.Corruption) expect(error.location.offset, name).to.be.a('number');
      else expect(error.location, name).to.deep.include({ expected: 71 * pageSize, actual: 70 * pageSize });
    }
  });

  it('never dies by a signal on garbage in the free DB of a store shorter than its last page (seeded, child processes)', async () => {
    const seed = 0xf7ee;
    const random = seededRandom(seed);
    const { root, pageSize } = freeRoot(freeTailCase);
    for (let round = 0; round < 8; round += 1) {
      const path = copyOf(freeTailCase, `free-random-${round}`);
      const offset = root * pageSize + random.below(pageSize);
      const length = 1 + random.below(64);
      overwrite(join(path, 'data.mdb'), offset, Buffer.from(Array.from({ length }, () => random.below(256))));
      for (const mode of ['ro', 'rw'] as const) {
        const result = await probe(path, mode);
        if (!result.ok) {
          expect(result.code, `seed ${seed} round ${round}: ${length} bytes at ${offset}, ${mode}`).to.be.oneOf([ErrorCode.Corruption, ErrorCode.FormatTruncated]);
        }
      }
    }
  });
});
