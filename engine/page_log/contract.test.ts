import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { expect } from 'chai';
import { open } from 'lmdb';
import { dir, type DirectoryResult } from 'tmp-promise';
import { ErrorCode, PageLogError, type ErrorCodeValue } from '../errors.js';
import {
  MAX_DELTAS_PER_CHAIN,
  PutFlags,
  openPageLog,
  type PageLog,
  type PageLogHandle,
  type PageLogOptions,
  type PageRecord,
} from './index.js';
import { mountTmpfs } from '../testing/tmpfs.js';
import { displayLocation } from './location.js';
import { storesUnderTest } from './stores_under_test.js';

const BASE = { backlinkLsn: 0, baseLsn: 0, flags: 0 };
const CHECKPOINT = { timestamp: 10n, oldestTimestamp: 1n, metadata: 'metadata_lsn=1' };

function image(text: string): Buffer {
  return Buffer.from(text, 'utf8');
}

function texts(records: PageRecord[]): string[] {
  return records.map((record) => record.image.toString('utf8'));
}

/** Puts a delta on top of the page's current chain. */
function putDelta(handle: PageLogHandle, pageId: number, text: string): number {
  const chain = handle.get(pageId);
  const args = { backlinkLsn: chain[chain.length - 1]!.lsn, baseLsn: chain[0]!.lsn, flags: PutFlags.Delta };
  return handle.put(pageId, args, image(text));
}

function thrownBy(action: () => unknown): PageLogError {
  try {
    action();
  } catch (error) {
    expect(error).to.be.instanceOf(PageLogError);
    return error as PageLogError;
  }
  throw new Error('expected a PageLogError, nothing was thrown');
}

async function rejectionOf(promise: Promise<unknown>): Promise<PageLogError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(PageLogError);
    return error as PageLogError;
  }
  throw new Error('expected a PageLogError, the promise resolved');
}

function expectCode(error: PageLogError, code: ErrorCodeValue): void {
  expect(error.code, error.message).to.equal(code);
}

async function checkpoint(log: PageLog, metadata = CHECKPOINT.metadata): Promise<number> {
  log.beginCheckpoint();
  return log.completeCheckpoint({ ...CHECKPOINT, metadata });
}

for (const store of storesUnderTest()) describe(`page log contract on ${store.name}`, function () {
  this.timeout(60_000);
  let path: string;
  const opened: PageLog[] = [];

  before(async () => store.setUp());
  after(async () => store.tearDown());

  /** Opens the log under test; syncing is left on unless a test turns it off. */
  async function openLog(options: PageLogOptions = {}): Promise<PageLog> {
    const log = await openPageLog(path, options);
    opened.push(log);
    return log;
  }

  async function reopen(log: PageLog, options: PageLogOptions = {}): Promise<PageLog> {
    await log.close();
    return openLog(options);
  }

  beforeEach(async () => {
    path = await store.freshLocation();
  });

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((log) => log.close()));
  });

  describe('put and get', () => {
    it('returns the base image and its deltas in order at the latest LSN', async () => {
      const log = await openLog();
      const pages = log.openHandle(200);
      const base = pages.put(100, BASE, image('base'));
      const first = pages.put(100, { backlinkLsn: base, baseLsn: base, flags: PutFlags.Delta }, image('delta 1'));
      const second = pages.put(100, { backlinkLsn: first, baseLsn: base, flags: PutFlags.Delta }, image('delta 2'));

      const records = pages.get(100);
      expect(texts(records)).to.deep.equal(['base', 'delta 1', 'delta 2']);
      expect(records.map((record) => record.lsn)).to.deep.equal([base, first, second]);
      expect(records[2]).to.include({ tableId: 200, pageId: 100, backlinkLsn: first, baseLsn: base, flags: PutFlags.Delta });
    });

    it('returns the base and its deltas as of an older LSN', async () => {
      const log = await openLog();
      const pages = log.openHandle(200);
      const base = pages.put(100, BASE, image('base'));
      const first = putDelta(pages, 100, 'delta 1');
      putDelta(pages, 100, 'delta 2');

      expect(texts(pages.get(100, first))).to.deep.equal(['base', 'delta 1']);
      expect(texts(pages.get(100, base))).to.deep.equal(['base']);
    });

    it('serves the same chains after they are committed as while they are queued', async () => {
      const log = await openLog();
      const pages = log.openHandle(200);
      const base = pages.put(100, BASE, image('base'));
      const first = putDelta(pages, 100, 'delta 1');
      const queuedLatest = pages.get(100);
      const queuedOlder = pages.get(100, base);

      await log.flush();
      expect(pages.get(100)).to.deep.equal(queuedLatest);
      expect(pages.get(100, base)).to.deep.equal(queuedOlder);
      // A delta on a committed chain followed by a read that spans committed and queued records.
      putDelta(pages, 100, 'delta 2');
      expect(texts(pages.get(100))).to.deep.equal(['base', 'delta 1', 'delta 2']);
      expect(pages.get(100, first)).to.deep.equal(queuedLatest);
    });

    it('replaces the chain with a new base from its LSN on, while older LSNs still see the old chain', async () => {
      const log = await openLog();
      const pages = log.openHandle(200);
      pages.put(100, BASE, image('old base'));
      const delta = putDelta(pages, 100, 'old delta');
      const newBase = pages.put(100, { backlinkLsn: delta, baseLsn: 0, flags: 0 }, image('new base'));

      expect(texts(pages.get(100))).to.deep.equal(['new base']);
      expect(texts(pages.get(100, newBase - 1))).to.deep.equal(['old base', 'old delta']);
    });

    it('returns [] for a page never written and for an LSN before its first record', async () => {
      const log = await openLog();
      const pages = log.openHandle(200);
      pages.put(101, BASE, image('other page'));
      const lsn = pages.put(100, BASE, image('base'));

      expect(pages.get(102)).to.deep.equal([]);
      expect(pages.get(100, lsn - 1)).to.deep.equal([]);
      expect(pages.get(100, 0)).to.deep.equal([]);
    });

    it('keeps the same page id in different tables apart', async () => {
      const log = await openLog();
      log.openHandle(1).put(100, BASE, image('table 1'));
      log.openHandle(0xffff_ffff).put(100, BASE, image('last table'));
      await log.flush();
      log.openHandle(2).put(100, BASE, image('table 2'));

      expect(texts(log.openHandle(1).get(100))).to.deep.equal(['table 1']);
      expect(texts(log.openHandle(2).get(100))).to.deep.equal(['table 2']);
      expect(texts(log.openHandle(0xffff_ffff).get(100))).to.deep.equal(['last table']);
      expect(log.openHandle(3).get(100)).to.deep.equal([]);
    });

    it('copies images in and out: the caller may reuse its buffers', async () => {
      const log = await openLog();
      const pages = log.openHandle(200);
      const buffer = image('original');
      pages.put(100, BASE, buffer);
      buffer.fill(0);
      const returned = pages.get(100)[0]!.image;
      returned.fill(1);

      expect(texts(pages.get(100))).to.deep.equal(['original']);
      await log.flush();
      const committed = pages.get(100)[0]!.image;
      expect(Buffer.isBuffer(committed)).to.equal(true);
      committed.fill(1);
      expect(texts(pages.get(100))).to.deep.equal(['original']);
    });

    it('stores empty images and large images intact', async () => {
      const log = await openLog();
      const pages = log.openHandle(200);
      const large = Buffer.alloc(3 * 1024 * 1024);
      for (let index = 0; index < large.length; index += 1) large[index] = (index * 31) & 0xff;
      pages.put(100, BASE, Buffer.alloc(0));
      pages.put(101, BASE, large);
      await log.flush();

      expect(pages.get(100)[0]!.image.length).to.equal(0);
      expect(pages.get(101)[0]!.image.equals(large)).to.equal(true);
    });

    it('serves every put at once, whether its transaction has committed or not', async () => {
      const log = await openLog({ noSync: true });
      const pages = log.openHandle(200);
      const newest = new Map<number, string>();
      for (let put = 0; put < 3000; put += 1) {
        const pageId = 100 + (put % 97);
        pages.put(pageId, BASE, image(`write ${put}`));
        newest.set(pageId, `write ${put}`);
        // Yield now and then so lmdb-js commits while puts keep coming, then check every page.
        if (put % 37 === 0) {
          await new Promise((resolve) => setImmediate(resolve));
          for (const [checkedPage, text] of newest) expect(texts(pages.get(checkedPage)), `page ${checkedPage} after put ${put}`).to.deep.equal([text]);
        }
      }
      await log.flush();
      for (const [pageId, text] of newest) expect(texts(pages.get(pageId))).to.deep.equal([text]);
    });

    it('lets go of queued images once their transaction has committed', async () => {
      const log = await openLog();
      const pages = log.openHandle(200);
      for (let pageId = 100; pageId < 150; pageId += 1) pages.put(pageId, BASE, Buffer.alloc(4096, pageId));
      const queued = Reflect.get(log, 'pending') as { size: number };
      expect(queued.size).to.equal(50);
      await log.flush();
      expect(queued.size).to.equal(0);
    });
  });

  describe('LSNs', () => {
    it('hands out strictly increasing LSNs from 1 across tables, discards and completions', async () => {
      const log = await openLog();
      const lsns = [
        log.openHandle(5).put(100, BASE, image('a')),
        log.openHandle(6).put(100, BASE, image('b')),
        log.openHandle(5).discard(100),
        await checkpoint(log),
        log.openHandle(5).put(100, BASE, image('c')),
      ];
      expect(lsns).to.deep.equal([1, 2, 3, 4, 5]);
      expect(log.getLastLsn()).to.equal(5);
    });

    it('continues after reopen above the largest stored LSN', async () => {
      let log = await openLog();
      log.openHandle(5).put(100, BASE, image('a'));
      const completion = await checkpoint(log);
      log.openHandle(5).put(101, BASE, image('b'));
      log = await reopen(log);

      expect(log.getLastLsn()).to.equal(completion + 1);
      // The embedded store counts on; a networked one takes the next block of its sequence.
      expect(log.openHandle(5).put(102, BASE, image('c'))).to.be.greaterThan(completion + 1);
    });

    it('starts an empty log at 0 and its first record at 1', async () => {
      const log = await openLog();
      expect(log.getLastLsn()).to.equal(0);
      expect(log.openHandle(5).put(100, BASE, image('a'))).to.equal(1);
    });
  });

  describe('deltas', () => {
    it(`accepts ${MAX_DELTAS_PER_CHAIN} deltas on one base, rejects the next, and counts again after a new base`, async () => {
      const log = await openLog();
      const pages = log.openHandle(200);
      const base = pages.put(100, BASE, image('base'));
      for (let count = 1; count <= MAX_DELTAS_PER_CHAIN; count += 1) {
        putDelta(pages, 100, `delta ${count}`);
        if (count === 10) await log.flush();
      }
      expect(pages.get(100)).to.have.length(MAX_DELTAS_PER_CHAIN + 1);

      const error = thrownBy(() => putDelta(pages, 100, 'one too many'));
      expectCode(error, ErrorCode.InvalidArgument);
      expect(error.message).to.match(/32 deltas/);
      expect(error.location).to.include({ tableId: 200, pageId: 100, lsn: base });

      const newBase = pages.put(100, { backlinkLsn: 0, baseLsn: 0, flags: 0 }, image('new base'));
      expect(() => putDelta(pages, 100, 'fresh delta')).not.to.throw();
      expect(pages.get(100).map((record) => record.lsn)[0]).to.equal(newBase);
    });

    it('rejects a delta on a page that has no base', async () => {
      const log = await openLog();
      const error = thrownBy(() => log.openHandle(200).put(100, { backlinkLsn: 0, baseLsn: 0, flags: PutFlags.Delta }, image('d')));
      expectCode(error, ErrorCode.NotFound);
      expect(error.location).to.include({ tableId: 200, pageId: 100 });
    });

    it('rejects a delta whose baseLsn or backlinkLsn does not match the chain', async () => {
      const log = await openLog();
      const pages = log.openHandle(200);
      const base = pages.put(100, BASE, image('base'));
      const delta = putDelta(pages, 100, 'delta');

      const wrongBase = thrownBy(() => pages.put(100, { backlinkLsn: delta, baseLsn: delta, flags: PutFlags.Delta }, image('x')));
      expectCode(wrongBase, ErrorCode.InvalidArgument);
      expect(wrongBase.location).to.include({ expected: base, actual: delta });
      const wrongBacklink = thrownBy(() => pages.put(100, { backlinkLsn: base, baseLsn: base, flags: PutFlags.Delta }, image('x')));
      expectCode(wrongBacklink, ErrorCode.InvalidArgument);
      expect(wrongBacklink.location).to.include({ expected: delta, actual: base });
    });
  });

  describe('discard', () => {
    it('hides the page from its LSN on while older LSNs still see it', async () => {
      const log = await openLog();
      const pages = log.openHandle(200);
      pages.put(100, BASE, image('base'));
      const delta = putDelta(pages, 100, 'delta');
      const discarded = pages.discard(100);

      expect(discarded).to.be.greaterThan(delta);
      expect(pages.get(100)).to.deep.equal([]);
      expect(pages.get(100, discarded)).to.deep.equal([]);
      expect(texts(pages.get(100, discarded - 1))).to.deep.equal(['base', 'delta']);
      await log.flush();
      expect(pages.get(100)).to.deep.equal([]);
    });

    it('brings a page back with a new base but refuses a delta on a discarded page', async () => {
      const log = await openLog();
      const pages = log.openHandle(200);
      const base = pages.put(100, BASE, image('base'));
      const discarded = pages.discard(100);

      expectCode(
        thrownBy(() => pages.put(100, { backlinkLsn: base, baseLsn: base, flags: PutFlags.Delta }, image('x'))),
        ErrorCode.NotFound,
      );
      pages.put(100, { backlinkLsn: discarded, baseLsn: 0, flags: 0 }, image('reborn'));
      expect(texts(pages.get(100))).to.deep.equal(['reborn']);
    });

    it('refuses to discard a page that does not exist', async () => {
      const log = await openLog();
      const pages = log.openHandle(200);
      expectCode(thrownBy(() => pages.discard(100)), ErrorCode.NotFound);
      pages.put(100, BASE, image('base'));
      pages.discard(100);
      expectCode(thrownBy(() => pages.discard(100)), ErrorCode.NotFound);
    });
  });

  describe('listPages', () => {
    it('lists the pages of a table that exist at an LSN, ascending', async () => {
      const log = await openLog();
      const pages = log.openHandle(200);
      log.openHandle(199).put(5, BASE, image('other table'));
      log.openHandle(201).put(6, BASE, image('other table'));
      pages.put(300, BASE, image('c'));
      pages.put(100, BASE, image('a'));
      await log.flush();
      const before = pages.put(150, BASE, image('b'));
      const discarded = pages.discard(300);

      expect(pages.listPages()).to.deep.equal([100, 150]);
      expect(pages.listPages(before)).to.deep.equal([100, 150, 300]);
      expect(pages.listPages(before - 1)).to.deep.equal([100, 300]);
      await log.flush();
      expect(pages.listPages()).to.deep.equal([100, 150]);
      expect(pages.listPages(discarded - 1)).to.deep.equal([100, 150, 300]);
      expect(log.openHandle(202).listPages()).to.deep.equal([]);
    });
  });

  describe('invalid arguments', () => {
    it('rejects page id 0 and page ids that are not positive integers', async () => {
      const log = await openLog();
      const pages = log.openHandle(200);
      for (const pageId of [0, -1, 1.5, Number.NaN, 2 ** 53]) {
        const error = thrownBy(() => pages.put(pageId, BASE, image('x')));
        expectCode(error, ErrorCode.InvalidArgument);
        expect(error.location.tableId).to.equal(200);
      }
      expectCode(thrownBy(() => pages.get(0)), ErrorCode.InvalidArgument);
      expectCode(thrownBy(() => pages.discard(0)), ErrorCode.InvalidArgument);
    });

    it('rejects table ids that are not u32', async () => {
      const log = await openLog();
      for (const tableId of [-1, 2 ** 32, 0.5]) expectCode(thrownBy(() => log.openHandle(tableId)), ErrorCode.InvalidArgument);
    });

    it('rejects unknown put flags, bad LSNs and LSNs that name future records', async () => {
      const log = await openLog();
      const pages = log.openHandle(200);
      expectCode(thrownBy(() => pages.put(100, { ...BASE, flags: 0x2 }, image('x'))), ErrorCode.InvalidArgument);
      expectCode(thrownBy(() => pages.put(100, { ...BASE, backlinkLsn: -1 }, image('x'))), ErrorCode.InvalidArgument);
      expectCode(thrownBy(() => pages.put(100, { ...BASE, baseLsn: 5 }, image('x'))), ErrorCode.InvalidArgument);
      expectCode(thrownBy(() => pages.get(100, -1)), ErrorCode.InvalidArgument);
      expectCode(thrownBy(() => pages.listPages(1.5)), ErrorCode.InvalidArgument);
      expect(log.getLastLsn(), 'a rejected put takes no LSN').to.equal(0);
    });
  });

  describe('checkpoint completion', () => {
    it('returns an LSN above every earlier put and makes the record readable by LSN and as the newest', async () => {
      const log = await openLog();
      expect(log.getCompleteCheckpoint()).to.equal(undefined);
      const pages = log.openHandle(200);
      const put = pages.put(100, BASE, image('a'));
      log.beginCheckpoint();
      const first = await log.completeCheckpoint({ timestamp: 5n, oldestTimestamp: 2n, metadata: 'first' });
      const second = await checkpoint(log, 'second');

      expect(first).to.be.greaterThan(put);
      expect(log.getCompleteCheckpoint()).to.deep.equal({ ...CHECKPOINT, metadata: 'second', lsn: second, term: 1 });
      expect(log.getCompleteCheckpoint(first)).to.deep.equal({ lsn: first, timestamp: 5n, oldestTimestamp: 2n, metadata: 'first', term: 1 });
      expect(log.getCompleteCheckpoint(put)).to.equal(undefined);
      expect(log.listCompleteCheckpoints().map((record) => record.metadata)).to.deep.equal(['first', 'second']);
      expect(log.listCompleteCheckpoints(first).map((record) => record.metadata)).to.deep.equal(['second']);
      expect(log.listCompleteCheckpoints(second)).to.deep.equal([]);
    });

    it('takes the completion LSN at the call, so puts made while it waits come after it', async () => {
      const log = await openLog();
      const pages = log.openHandle(200);
      pages.put(100, BASE, image('a'));
      log.beginCheckpoint();
      const completing = log.completeCheckpoint(CHECKPOINT);
      const later = pages.put(101, BASE, image('b'));
      const completion = await completing;

      expect(later).to.equal(completion + 1);
      expect(log.getLastLsn()).to.equal(later);
    });

    it('keeps timestamps up to 2^64 - 1 and any metadata text', async () => {
      let log = await openLog();
      const args = { timestamp: (1n << 64n) - 1n, oldestTimestamp: 0n, metadata: 'metadata_lsn=7,metadata_checksum=1f,\u00e9' };
      log.beginCheckpoint();
      const lsn = await log.completeCheckpoint(args);
      log = await reopen(log);
      // The reopen claimed term 2; the record keeps the term of the leader that completed it.
      expect(log.term).to.equal(2);
      expect(log.getCompleteCheckpoint()).to.deep.equal({ ...args, lsn, term: 1 });
    });

    it('requires beginCheckpoint first and refuses a second begin before completion', async () => {
      const log = await openLog();
      expectCode(await rejectionOf(log.completeCheckpoint(CHECKPOINT)), ErrorCode.Busy);
      log.beginCheckpoint();
      expectCode(thrownBy(() => log.beginCheckpoint()), ErrorCode.Busy);
      await log.completeCheckpoint(CHECKPOINT);
      expect(() => log.beginCheckpoint()).not.to.throw();
    });

    it('rejects timestamps that are not u64 without taking an LSN, and leaves the checkpoint begun', async () => {
      const log = await openLog();
      log.beginCheckpoint();
      expectCode(await rejectionOf(log.completeCheckpoint({ ...CHECKPOINT, timestamp: -1n })), ErrorCode.InvalidArgument);
      expectCode(await rejectionOf(log.completeCheckpoint({ ...CHECKPOINT, oldestTimestamp: 1n << 64n })), ErrorCode.InvalidArgument);
      expect(log.getLastLsn()).to.equal(0);
      expect(await log.completeCheckpoint(CHECKPOINT)).to.equal(1);
    });

    it('refuses a second completion while one is running', async () => {
      const log = await openLog();
      log.beginCheckpoint();
      const running = log.completeCheckpoint(CHECKPOINT);
      expectCode(await rejectionOf(log.completeCheckpoint(CHECKPOINT)), ErrorCode.Busy);
      expect(await running).to.equal(1);
    });
  });

  describe('abandonCheckpoint', () => {
    it('drops the pages put after the last completion and keeps what the completion vouches for', async () => {
      let log = await openLog();
      const pages = log.openHandle(200);
      const base = pages.put(100, BASE, image('base'));
      const completion = await checkpoint(log);
      putDelta(pages, 100, 'lost delta');
      pages.put(101, BASE, image('lost page'));
      log.openHandle(201).put(100, BASE, image('lost table'));
      log = await reopen(log);

      expect(await log.abandonCheckpoint()).to.equal(3);
      expect(log.getLastLsn()).to.equal(completion);
      expect([...log.records({ from: completion + 1 })]).to.deep.equal([]);
      const reopened = log.openHandle(200);
      expect(reopened.get(100).map((record) => record.lsn)).to.deep.equal([base]);
      expect(reopened.get(101)).to.deep.equal([]);
      expect(log.openHandle(201).listPages()).to.deep.equal([]);
      // The next LSN was fixed at open above the largest stored LSN; abandoning does not lower it.
      expect(log.openHandle(200).put(102, BASE, image('next'))).to.be.at.least(completion + 4);
    });

    it('drops queued puts in the same process and ends the begun checkpoint', async () => {
      const log = await openLog();
      const pages = log.openHandle(200);
      const completion = await checkpoint(log);
      log.beginCheckpoint();
      const dropped = pages.put(100, BASE, image('dropped'));

      expect(await log.abandonCheckpoint()).to.equal(1);
      expect(pages.get(100)).to.deep.equal([]);
      expect(log.getLastLsn()).to.equal(completion);
      expect(pages.put(100, BASE, image('kept')), 'LSNs are not reused in the same process').to.be.greaterThan(dropped);
      expect(() => log.beginCheckpoint()).not.to.throw();
    });

    it('drops everything when no checkpoint ever completed, and nothing when the last record is a completion', async () => {
      let log = await openLog();
      log.openHandle(200).put(100, BASE, image('a'));
      log = await reopen(log);
      expect(await log.abandonCheckpoint()).to.equal(1);
      expect(log.getLastLsn()).to.equal(0);

      log.openHandle(200).put(100, BASE, image('b'));
      await checkpoint(log);
      expect(await log.abandonCheckpoint()).to.equal(0);
      expect(texts(log.openHandle(200).get(100))).to.deep.equal(['b']);
    });
  });

  describe('open, reopen and close', () => {
    it('reopens with pages, deltas, discards and completion records intact', async () => {
      let log = await openLog();
      const pages = log.openHandle(200);
      pages.put(100, BASE, image('base'));
      const delta = putDelta(pages, 100, 'delta');
      pages.put(101, BASE, image('gone'));
      const discarded = pages.discard(101);
      const completion = await checkpoint(log);
      log = await reopen(log);

      const reopened = log.openHandle(200);
      expect(texts(reopened.get(100))).to.deep.equal(['base', 'delta']);
      expect(reopened.get(100)[1]).to.include({ lsn: delta, flags: PutFlags.Delta });
      expect(reopened.get(101)).to.deep.equal([]);
      expect(texts(reopened.get(101, discarded - 1))).to.deep.equal(['gone']);
      expect(reopened.listPages()).to.deep.equal([100]);
      expect(log.getCompleteCheckpoint()?.lsn).to.equal(completion);
    });

    it('refuses to open a missing log with create: false or readOnly, naming the path', async () => {
      for (const options of [{ create: false }, { readOnly: true }]) {
        const error = await rejectionOf(openPageLog(path, options));
        expectCode(error, ErrorCode.MissingFile);
        expect(error.message).to.contain(displayLocation(path));
      }
    });

    it('serves reads and refuses writes when opened read-only', async () => {
      const writer = await openLog();
      writer.openHandle(200).put(100, BASE, image('a'));
      await checkpoint(writer);
      await writer.close();
      const log = await openLog({ readOnly: true });
      const pages = log.openHandle(200);

      expect(texts(pages.get(100))).to.deep.equal(['a']);
      expect(log.stat().checkpoints).to.equal(1);
      expectCode(thrownBy(() => pages.put(101, BASE, image('b'))), ErrorCode.ReadOnly);
      expectCode(thrownBy(() => pages.discard(100)), ErrorCode.ReadOnly);
      expectCode(thrownBy(() => log.beginCheckpoint()), ErrorCode.ReadOnly);
      expectCode(await rejectionOf(log.abandonCheckpoint()), ErrorCode.ReadOnly);
    });

    it('refuses every call after close, and close can be called again', async () => {
      const log = await openLog();
      const pages = log.openHandle(200);
      pages.put(100, BASE, image('a'));
      await log.close();
      await log.close();
      expectCode(thrownBy(() => pages.get(100)), ErrorCode.Closed);
      expectCode(thrownBy(() => pages.put(101, BASE, image('b'))), ErrorCode.Closed);
      expectCode(thrownBy(() => log.getLastLsn()), ErrorCode.Closed);
      expectCode(await rejectionOf(log.flush()), ErrorCode.Closed);
    });

    it('makes queued pages durable on close', async () => {
      let log = await openLog();
      log.openHandle(200).put(100, BASE, image('a'));
      log = await reopen(log);
      expect(texts(log.openHandle(200).get(100))).to.deep.equal(['a']);
    });
  });

  describe('records and stat', () => {
    it('lists pages, discards and completions in LSN order within a range, queued ones included', async () => {
      const log = await openLog();
      const pages = log.openHandle(200);
      pages.put(100, { backlinkLsn: 0, baseLsn: 0, flags: 0 }, image('four'));
      const completion = await checkpoint(log, 'c1');
      const discarded = pages.discard(100);

      expect([...log.records()]).to.deep.equal([
        { kind: 'page', record: { lsn: 1, tableId: 200, pageId: 100, backlinkLsn: 0, baseLsn: 0, flags: 0, size: 4 } },
        { kind: 'complete', record: { lsn: completion, ...CHECKPOINT, metadata: 'c1', term: 1 } },
        { kind: 'discard', lsn: discarded, tableId: 200, pageId: 100 },
      ]);
      expect([...log.records({ from: 2, to: 2 })].map((entry) => entry.kind)).to.deep.equal(['complete']);
      expect([...log.records({ from: 3 })].map((entry) => entry.kind)).to.deep.equal(['discard']);
      await log.flush();
      expect([...log.records({ from: 2 })]).to.have.length(2);
      expectCode(thrownBy(() => log.records({ from: -1 })), ErrorCode.InvalidArgument);
    });

    it('counts tables, existing pages, records, image bytes and checkpoints', async () => {
      const log = await openLog();
      log.openHandle(200).put(100, BASE, Buffer.alloc(10));
      log.openHandle(200).put(101, BASE, Buffer.alloc(20));
      log.openHandle(201).put(100, BASE, Buffer.alloc(30));
      await checkpoint(log);
      log.openHandle(201).discard(100);
      const lastLsn = log.openHandle(202).put(100, BASE, Buffer.alloc(40));

      expect(log.stat()).to.deep.equal({ tables: 3, pages: 3, records: 6, bytes: 100, lastLsn, checkpoints: 1 });
    });
  });

  describe('prune', () => {
    it('removes what no kept checkpoint reads and keeps every kept checkpoint readable', async () => {
      const log = await openLog();
      const pages = log.openHandle(200);
      pages.put(100, BASE, image('v1'));
      const first = await checkpoint(log, 'first');
      pages.put(100, BASE, image('v2 unreachable'));
      pages.put(100, BASE, image('v3'));
      pages.put(101, BASE, image('discarded before the second'));
      pages.discard(101);
      const second = await checkpoint(log, 'second');
      putDelta(pages, 100, 'v3 delta');
      const third = await checkpoint(log, 'third');
      const inProgress = pages.put(102, BASE, image('not yet checkpointed'));
      const before = { second: pages.get(100, second), third: pages.get(100, third), latest: pages.get(100) };

      const removed = await log.prune!(2);
      // v1 and the first completion record, v2, and page 101's base and discard.
      expect(removed).to.equal(5);
      expect(log.listCompleteCheckpoints().map((record) => record.lsn)).to.deep.equal([second, third]);
      expect(pages.get(100, second)).to.deep.equal(before.second);
      expect(pages.get(100, third)).to.deep.equal(before.third);
      expect(pages.get(100)).to.deep.equal(before.latest);
      expect(pages.get(101, second)).to.deep.equal([]);
      expect(pages.get(102).map((record) => record.lsn)).to.deep.equal([inProgress]);
      expect(pages.get(100, first)).to.deep.equal([]);
      expect(await log.prune!(2)).to.equal(0);
    });

    it('keeps everything when no checkpoint has completed and refuses keep below 1', async () => {
      const log = await openLog();
      log.openHandle(200).put(100, BASE, image('a'));
      log.openHandle(200).put(100, BASE, image('b'));
      expect(await log.prune!(1)).to.equal(0);
      expect(log.stat().records).to.equal(2);
      expectCode(await rejectionOf(log.prune!(0)), ErrorCode.InvalidArgument);
    });
  });

  describe('read-ahead', () => {
    it('serves pages read ahead exactly as it serves them read one by one, old versions and rewritten pages included', async () => {
      let log = await openLog();
      const pages = log.openHandle(200);
      const first = [100, 101, 102].map((page) => pages.put(page, BASE, image(`first ${page}`)));
      await checkpoint(log);
      const second = pages.put(101, BASE, image('second 101'));
      await checkpoint(log);
      log = await reopen(log);
      const reader = log.openHandle(200);
      const expected = [...first.map((lsn, index) => reader.get(100 + index, lsn)), reader.get(101, second)];
      log = await reopen(log);
      const ahead = log.openHandle(200);
      ahead.prefetch?.([...first.map((lsn, index) => ({ pageId: 100 + index, lsn })), { pageId: 101, lsn: second }, { pageId: 999, lsn: second }]);
      // A page put after the read-ahead reads its new image at the latest LSN.
      ahead.put(102, BASE, image('third 102'));
      expect([...first.map((lsn, index) => ahead.get(100 + index, lsn)), ahead.get(101, second)]).to.deep.equal(expected);
      expect(texts(ahead.get(102))).to.deep.equal(['third 102']);
      expect(ahead.get(999)).to.deep.equal([]);
    });
  });

  describe('readers in other processes', () => {
    it('serves followers in two other processes whole checkpoints while the leader writes and prunes', async function () {
      this.timeout(120_000);
      const leader = await openLog({ nodeId: 'leader' });
      const pages = leader.openHandle(300);
      const write = async (round: number): Promise<void> => {
        leader.beginCheckpoint();
        for (let page = 0; page < 20; page += 1) pages.put(100 + page, BASE, image(`round ${round} page ${page}`));
        await leader.completeCheckpoint({ ...CHECKPOINT, metadata: `round=${round},pages=20` });
      };
      await write(0);
      const script = join(dirname(fileURLToPath(import.meta.url)), 'reader_process.js');
      const readers = [0, 1].map(() => execa(process.execPath, [script, path, '60'], { reject: false }));
      let round = 1;
      let running = true;
      const writing = (async () => {
        while (running) {
          await write(round);
          round += 1;
          await leader.prune!(1);
        }
      })();
      const results = await Promise.all(readers);
      running = false;
      await writing;
      for (const result of results) {
        const report = JSON.parse(result.stdout) as { error?: string; code?: string; checkpoints?: number; pages?: number };
        // The whole error in the message: chai cuts long actual values short.
        expect(report.error, `a reader failed: ${report.error} (code ${report.code}) ${result.stderr}`).to.equal(undefined);
        expect(report.checkpoints, 'each reader read several checkpoints').to.be.greaterThan(1);
        expect(report.pages).to.be.greaterThan(20);
      }
      expect(round, 'the leader wrote while the readers read').to.be.greaterThan(2);
    });
  });

  describe('integrity', () => {
    it('reports a damaged image with its table id, page id and LSN', async () => {
      let log = await openLog();
      const lsn = log.openHandle(200).put(100, BASE, image('intact'));
      await log.close();
      await store.damageImage(path, 200, 100, lsn, image('broken'));
      log = await openLog();

      const error = thrownBy(() => log.openHandle(200).get(100));
      expectCode(error, ErrorCode.ChecksumMismatch);
      expect(error.location).to.include({ tableId: 200, pageId: 100, lsn });
    });
  });
});

describe('page log on LMDB only', () => {
  let directory: DirectoryResult;
  let path: string;

  beforeEach(async () => {
    directory = await dir({ unsafeCleanup: true });
    path = join(directory.path, 'pagelog');
  });

  afterEach(async () => directory.cleanup());

  it("names LMDB's own reason when a commit fails (a real tmpfs that fills)", async function () {
    this.timeout(60_000);
    const tmpfs = mountTmpfs(4);
    try {
      const log = await openPageLog(join(tmpfs.path, 'pagelog'));
      const pages = log.openHandle(7);
      let failure: unknown;
      try {
        for (let round = 0; round < 64 && failure === undefined; round += 1) {
          log.beginCheckpoint();
          for (let page = 0; page < 16; page += 1) pages.put(100 + round * 16 + page, BASE, image(`round ${round} page ${page} `.padEnd(16 * 1024, 'x')));
          await log.completeCheckpoint(CHECKPOINT).catch((error: unknown) => {
            failure = error;
          });
        }
      } finally {
        await log.close().catch(() => undefined);
      }
      expect(failure, 'the tmpfs filled').to.be.instanceOf(PageLogError);
      const commit = causes(failure).find((error) => error.message.startsWith('a commit to the page log at '));
      expect(commit?.message, String(failure)).to.match(/^a commit to the page log at \S+ failed: \S/);
    } finally {
      tmpfs.unmount();
    }
  });

  it('continues after reopen from the largest stored LSN, with no gap', async () => {
    let log = await openPageLog(path);
    log.openHandle(5).put(100, BASE, image('a'));
    log.beginCheckpoint();
    const completion = await log.completeCheckpoint(CHECKPOINT);
    await log.close();
    log = await openPageLog(path);
    try {
      expect(log.openHandle(5).put(102, BASE, image('c'))).to.equal(completion + 1);
    } finally {
      await log.close();
    }
  });

    it('refuses a directory that holds some other LMDB environment', async () => {
      const foreign = open({ path });
      await foreign.put('key', 'value');
      await foreign.close();
      const error = await rejectionOf(openPageLog(path));
      expectCode(error, ErrorCode.Corruption);
      expect(error.message).to.contain(path);
    });
});

/** An error and the errors it was caused by, outermost first. */
function causes(error: unknown): Error[] {
  const chain: Error[] = [];
  for (let current = error; current instanceof Error; current = current.cause) chain.push(current);
  return chain;
}
