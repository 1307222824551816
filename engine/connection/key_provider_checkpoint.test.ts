import { expect } from 'chai';
import { execa } from 'execa';
import { dir } from 'tmp-promise';
import { join } from 'node:path';
import { open } from 'lmdb';
import type { CheckpointInfo } from '../api.js';
import { EngineError } from '../errors.js';
import { describeKeyBlob, readPersistedKey } from '../key_provider/index.js';
import { KEY_PROVIDER_TABLE_ID, openPageLog, TURTLE_PAGE_TABLE_ID, type PageLog } from '../page_log/index.js';
import { ConnectionImpl } from './connection.js';
import { readLastCheckpoint } from './shared_storage.js';

function pageCount(pageLog: PageLog, tableId: number): number {
  let n = 0;
  for (const entry of pageLog.records()) if (entry.kind === 'page' && entry.record.tableId === tableId) n++;
  return n;
}

async function withHome<T>(fn: (home: string) => Promise<T>): Promise<T> {
  const tmp = await dir({ unsafeCleanup: true });
  try {
    return await fn(tmp.path);
  } finally {
    await tmp.cleanup();
  }
}

/** Opens the page log of a closed home, runs `fn`, closes it. */
async function withPageLog<T>(home: string, fn: (pageLog: PageLog) => T | Promise<T>, readOnly = true): Promise<T> {
  const pageLog = await openPageLog(join(home, 'pagelog'), { readOnly });
  try {
    return await fn(pageLog);
  } finally {
    await pageLog.close();
  }
}

describe('key-provider page through checkpoints', function () {
  this.timeout(60_000);

  it('references key page 1 with a larger LSN after a rotation, and keeps that LSN across reopen', () => withHome(async (home) => {
    let connection = await ConnectionImpl.open(home, { keyProvider: 'example', keyProviderConfig: 'key_expires=0' });
    const first = await connection.checkpoint();
    const second = await connection.checkpoint();
    expect(first.keyProviderPageLsn).to.be.a('number');
    expect(second.keyProviderPageLsn!).to.be.greaterThan(first.keyProviderPageLsn!);
    await connection.close();
    const turtle = await withPageLog(home, (pageLog) => readLastCheckpoint(pageLog)!);
    expect(turtle.page.keyProvider).to.deep.include({ pageId: 1, version: 1 });
    const keyPageLsn = turtle.page.keyProvider!.lsn;
    expect(keyPageLsn).to.be.at.least(second.keyProviderPageLsn!);
    const persisted = await withPageLog(home, (pageLog) => {
      const record = pageLog.openHandle(KEY_PROVIDER_TABLE_ID).get(1, keyPageLsn)[0]!;
      return describeKeyBlob(readPersistedKey(record.image, { lsn: keyPageLsn }).blob);
    });
    connection = await ConnectionImpl.open(home, { keyProvider: 'example' });
    expect(connection.keyProviderStatus()).to.deep.include({ keyVersion: persisted.keyVersion, pageLsn: keyPageLsn });
    expect(connection.lastCheckpoint()?.keyProviderPageLsn).to.equal(keyPageLsn);
    await connection.close();
  }));

  it('writes one key page per turtle page when the key expires at every checkpoint, fewer otherwise', () => withHome(async (home) => {
    const rotating = join(home, 'rotating');
    const steady = join(home, 'steady');
    for (const [path, config] of [[rotating, 'key_expires=0'], [steady, '']] as const) {
      const connection = await ConnectionImpl.open(path, { keyProvider: 'example', keyProviderConfig: config });
      for (let i = 0; i < 5; i++) await connection.checkpoint();
      await connection.close();
    }
    const counts = async (path: string) => withPageLog(path, (p) => [pageCount(p, KEY_PROVIDER_TABLE_ID), pageCount(p, TURTLE_PAGE_TABLE_ID)]);
    const [rotatingKeys, rotatingTurtles] = await counts(rotating);
    const [steadyKeys, steadyTurtles] = await counts(steady);
    expect(rotatingKeys).to.equal(rotatingTurtles);
    expect(steadyKeys).to.be.lessThan(steadyTurtles);
    expect(steadyKeys).to.equal(1);
  }));

  it('fails a checkpoint cleanly when getKey fails, keeping the previous one current', () => withHome(async (home) => {
    let connection = await ConnectionImpl.open(home, { keyProvider: 'mock', keyProviderConfig: 'fail_get_key=2' });
    const good = await connection.checkpoint();
    let caught: unknown;
    try {
      await connection.checkpoint();
    } catch (error) {
      caught = error;
    }
    expect(caught).to.be.instanceOf(EngineError).with.property('code', 'KEY_PROVIDER');
    expect(connection.lastCheckpoint()?.id).to.equal(good.id);
    const after = await connection.checkpoint();
    expect(Number(after.id)).to.be.greaterThan(Number(good.id));
    await connection.close();
    connection = await ConnectionImpl.open(home, { keyProvider: 'mock' });
    expect(Number(connection.lastCheckpoint()!.id)).to.be.at.least(Number(after.id));
    await connection.close();
  }));

  /** Flips one byte of a stored page image in place, as a disk fault would. */
  function flipStoredByte(home: string, tableId: number, pageId: number, lsn: number, offset: number): void {
    const root = open<Buffer, Buffer>({ path: join(home, 'pagelog'), maxDbs: 4, keyEncoding: 'binary', encoding: 'binary', cache: false, compression: false });
    const pages = root.openDB<Buffer, Buffer>({ name: 'pages', keyEncoding: 'binary', encoding: 'binary' });
    const key = Buffer.alloc(20);
    key.writeUInt32BE(tableId, 0);
    key.writeBigUInt64BE(BigInt(pageId), 4);
    key.writeBigUInt64BE(BigInt(lsn), 12);
    const image = Buffer.from(pages.get(key)!);
    image[offset]! ^= 0xff;
    pages.putSync(key, image);
    root.close();
  }

  for (const [what, tableId, pick] of [
    ['key-provider page', KEY_PROVIDER_TABLE_ID, (c: CheckpointInfo) => c.keyProviderPageLsn!],
    ['turtle page', TURTLE_PAGE_TABLE_ID, (c: CheckpointInfo) => c.metadataLsn!],
  ] as const) {
    it(`refuses a corrupted ${what} with an error naming its LSN`, () => withHome(async (home) => {
      const connection = await ConnectionImpl.open(home, { keyProvider: 'example' });
      await connection.checkpoint();
      await connection.close();
      const last = (await ConnectionImpl.open(home, { keyProvider: 'example', readOnly: true }).then(async (c) => {
        const info = c.lastCheckpoint()!;
        await c.close();
        return info;
      }));
      const lsn = pick(last);
      flipStoredByte(home, tableId, 1, lsn, 20);
      let caught: unknown;
      try {
        await ConnectionImpl.open(home, { keyProvider: 'example' });
      } catch (error) {
        caught = error;
      }
      expect(caught).to.be.instanceOf(EngineError);
      expect((caught as Error).message).to.contain(`LSN ${lsn}`);
    }));
  }

  it('keeps the last good checkpoint\'s key page, LSN and version when killed around rotations', () => withHome(async (home) => {
    for (let round = 0; round < 4; round++) {
      const child = execa('node', [join('dist', 'engine', 'connection', 'key_provider_checkpoint_child.js'), home], { reject: false });
      const reports: Array<{ id: string; keyPageLsn: number; keyVersion: number }> = [];
      await new Promise<void>((resolve) => {
        let buffered = '';
        child.stdout!.on('data', (chunk: Buffer) => {
          buffered += chunk.toString();
          const lines = buffered.split('\n');
          buffered = lines.pop()!;
          for (const line of lines) reports.push(JSON.parse(line));
          if (reports.length >= 2 + round) {
            // Kill at a varying moment: right away, or part-way into the next rotation.
            setTimeout(() => { child.kill('SIGKILL'); resolve(); }, round * 3);
          }
        });
      });
      await child;
      // The engine reopens the checkpoint its local turtle file pairs with: at least the
      // newest one the child reported complete.
      const connection = await ConnectionImpl.open(home, { keyProvider: 'example' });
      const current = connection.lastCheckpoint()!;
      const newest = reports[reports.length - 1]!;
      expect(Number(current.id)).to.be.at.least(Number(newest.id));
      const persisted = await withPageLog(home, (pageLog) => {
        const turtle = readLastCheckpoint(pageLog, Number(current.id))!;
        const record = pageLog.openHandle(KEY_PROVIDER_TABLE_ID).get(1, turtle.page.keyProvider!.lsn)[0]!;
        return { lsn: record.lsn, description: describeKeyBlob(readPersistedKey(record.image, { lsn: record.lsn }).blob) };
      });
      expect(connection.keyProviderStatus()).to.deep.include({ pageLsn: persisted.lsn, keyVersion: persisted.description.keyVersion });
      const reported = reports.find((r) => r.id === current.id);
      if (reported) expect(reported).to.deep.include({ keyPageLsn: persisted.lsn, keyVersion: persisted.description.keyVersion });
      await connection.close();
    }
  }));
});
