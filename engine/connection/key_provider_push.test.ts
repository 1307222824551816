import { expect } from 'chai';
import { join } from 'node:path';
import type { Connection, ConnectionConfig, EngineLogEvent } from '../api.js';
import { ErrorCode } from '../errors.js';
import { decodeKeyProviderPage, MockKeyBlobLayout } from '../key_provider/index.js';
import { KEY_PROVIDER_TABLE_ID, openPageLog } from '../page_log/index.js';
import { engineFailure } from '../testing/failures.js';
import { testHomes } from '../testing/homes.js';

/**
 * Push mode through the connection, as WiredTiger's key-provider push tests drive it
 * (`conn.get_key_provider().set_key`): keys pushed at timestamps, the stable timestamp moved,
 * a checkpoint taken, and the key-provider pages read back from the page log.
 */

interface KeyPage {
  lsn: number;
  timestamp: bigint;
  /** The pushed key inside the mock's blob. */
  key: string;
  origin: number;
}

/** Every key-provider page of a closed home, oldest first. */
async function keyPages(home: string): Promise<KeyPage[]> {
  const pageLog = await openPageLog(join(home, 'pagelog'), { readOnly: true });
  try {
    const pages: KeyPage[] = [];
    for (const entry of pageLog.records()) {
      if (entry.kind !== 'page' || entry.record.tableId !== KEY_PROVIDER_TABLE_ID) continue;
      const lsn = entry.record.lsn;
      const image = pageLog.openHandle(KEY_PROVIDER_TABLE_ID).get(1, lsn)[0]!.image;
      const decoded = decodeKeyProviderPage(image, { lsn });
      pages.push({
        lsn, timestamp: decoded.timestamp!, key: decoded.blob.subarray(MockKeyBlobLayout.keyOffset).toString('latin1'),
        origin: decoded.blob[MockKeyBlobLayout.originOffset]!,
      });
    }
    return pages;
  } finally {
    await pageLog.close();
  }
}

/** The key pushed at `timestamp`: a fixed prefix and the timestamp, as WiredTiger's tests make them. */
function keyFor(timestamp: bigint): string {
  return `abcdefghijklmnopqrstuvwxyz${timestamp}`;
}

function push(connection: Connection, timestamp: bigint): void {
  connection.setKey(Buffer.from(keyFor(timestamp), 'latin1'), timestamp);
}

describe('key-provider push mode through the connection', function () {
  this.timeout(60_000);
  const homes = testHomes('key-push-');
  let events: EngineLogEvent[];
  let row: number;

  beforeEach(() => {
    events = [];
    row = 0;
  });

  async function open(home: string, config: ConnectionConfig = {}): Promise<Connection> {
    const connection = await homes.open(home, {
      keyProvider: 'mock', pageLogRetain: 'all', logger: (event) => events.push(event), ...config,
    });
    if (!connection.hasTable('table:push')) connection.createTable('table:push', 'key_format=S,value_format=S');
    return connection;
  }

  /** A write at the new stable timestamp, then a checkpoint: what each step of the scenarios does. */
  async function writeAndCheckpoint(connection: Connection, stable: bigint): Promise<void> {
    const session = connection.openSession();
    session.beginTransaction();
    session.openCursor('table:push').put(`row ${row++}`, 'value');
    session.commitTransaction({ commitTimestamp: stable });
    session.close();
    connection.setTimestamps({ stable });
    await connection.checkpoint();
  }

  it('persists the newest key at or below the stable timestamp and keeps later keys queued', async () => {
    const home = await homes.directory();
    const connection = await open(home);
    await connection.checkpoint();
    push(connection, 1n);
    push(connection, 2n);
    push(connection, 5n);
    await writeAndCheckpoint(connection, 3n);
    expect(connection.keyProviderStatus()?.pendingKeyTimestamps).to.deep.equal([5n]);
    await writeAndCheckpoint(connection, 4n);
    await writeAndCheckpoint(connection, 5n);
    expect(connection.keyProviderStatus()?.pendingKeyTimestamps).to.deep.equal([]);
    await connection.close();
    const pages = await keyPages(home);
    // The provider's own first key, then the key pushed at 2 (1 was superseded), then 5; the
    // checkpoint at 4 had no key due and wrote no page.
    expect(pages.map((page) => page.timestamp)).to.deep.equal([0n, 2n, 5n]);
    expect(pages.slice(1).map((page) => page.key)).to.deep.equal([keyFor(2n), keyFor(5n)]);
    expect(pages.slice(1).map((page) => page.origin)).to.deep.equal([2, 2]);
    expect(pages.map((page) => page.lsn)).to.deep.equal([...pages.map((page) => page.lsn)].sort((a, b) => a - b));
  });

  it('keeps a pushed key queued, and reports no rotation, when the checkpoint that wrote its page fails to complete', async () => {
    const home = await homes.directory();
    const connection = await open(home);
    await writeAndCheckpoint(connection, 1n);
    push(connection, 5n);
    // The page log refuses the completion record, as a full disk would: the key page was put
    // but belongs to no checkpoint.
    const pageLog = (connection as unknown as { pageLog: { completeCheckpoint: (...args: unknown[]) => Promise<number> } }).pageLog;
    const complete = pageLog.completeCheckpoint;
    pageLog.completeCheckpoint = () => Promise.reject(Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }));
    const failed = await engineFailure(() => writeAndCheckpoint(connection, 5n));
    expect(failed.message).to.include('no space left');
    expect(connection.keyProviderStatus()?.pendingKeyTimestamps, 'still waiting for a checkpoint').to.deep.equal([5n]);
    expect(events.filter((event) => event.event === 'keyProviderKeyRotated' && event.attr?.keyTimestamp === '5')).to.deep.equal([]);
    // Space again: the next checkpoint (the close's) persists the key and says so.
    pageLog.completeCheckpoint = complete;
    await connection.close();
    expect(events.filter((event) => event.event === 'keyProviderKeyRotated').map((event) => event.attr?.keyTimestamp)).to.include('5');
    expect((await keyPages(home)).at(-1)).to.include({ timestamp: 5n, key: keyFor(5n) });
  });

  it('drains the queue a prefix at a time as the stable timestamp advances', async () => {
    const home = await homes.directory();
    const connection = await open(home);
    await connection.checkpoint();
    for (let timestamp = 1n; timestamp <= 5n; timestamp++) push(connection, timestamp);
    for (const stable of [2n, 4n, 5n]) await writeAndCheckpoint(connection, stable);
    await connection.close();
    const pushed = (await keyPages(home)).slice(1);
    expect(pushed.map((page) => [page.timestamp, page.key])).to.deep.equal([[2n, keyFor(2n)], [4n, keyFor(4n)], [5n, keyFor(5n)]]);
    const rotations = events.filter((event) => event.event === 'keyProviderKeyRotated').slice(-3);
    expect(rotations.map((event) => event.attr?.keyTimestamp)).to.deep.equal(['2', '4', '5']);
    expect(rotations.map((event) => event.attr?.pending)).to.deep.equal([3, 1, 0]);
  });

  it('refuses a timestamp at or below the stable timestamp or the last key queued, and an unusable key, leaving the queue as it was', async () => {
    const home = await homes.directory();
    const connection = await open(home);
    await writeAndCheckpoint(connection, 10n);
    expect((await engineFailure(async () => push(connection, 10n))).code).to.equal(ErrorCode.InvalidArgument);
    expect((await engineFailure(async () => push(connection, 5n))).code).to.equal(ErrorCode.InvalidArgument);
    push(connection, 12n);
    const repeated = await engineFailure(async () => push(connection, 12n));
    expect(repeated.code).to.equal(ErrorCode.InvalidArgument);
    expect(repeated.message).to.include('last key pushed');
    expect((await engineFailure(async () => push(connection, 11n))).code).to.equal(ErrorCode.InvalidArgument);
    expect((await engineFailure(async () => connection.setKey(Buffer.alloc(0), 13n))).code).to.equal(ErrorCode.InvalidArgument);
    expect((await engineFailure(async () => connection.setKey('a string' as unknown as Buffer, 13n))).code).to.equal(ErrorCode.InvalidArgument);
    expect(connection.keyProviderStatus()?.pendingKeyTimestamps).to.deep.equal([12n]);
    await writeAndCheckpoint(connection, 12n);
    await connection.close();
    expect((await keyPages(home)).at(-1)).to.include({ timestamp: 12n, key: keyFor(12n) });
  });

  it('refuses a push without a provider that has a push mode, in local mode, and a key the provider refuses', async () => {
    const noop = await open(await homes.directory(), { keyProvider: 'noop' });
    const withoutPush = await engineFailure(async () => push(noop, 1n));
    expect(withoutPush.code).to.equal(ErrorCode.ConfigInvalid);
    expect(withoutPush.message).to.include('no push mode');
    const none = await homes.open(await homes.directory(), {});
    expect((await engineFailure(async () => push(none, 1n))).code).to.equal(ErrorCode.ConfigInvalid);
    const local = await homes.open(await homes.directory(), { storage: 'local' });
    expect((await engineFailure(async () => push(local, 1n))).code).to.equal(ErrorCode.InvalidArgument);
    const example = await open(await homes.directory(), { keyProvider: 'example' });
    const tooShort = await engineFailure(async () => push(example, 1n));
    expect(tooShort.code).to.equal(ErrorCode.InvalidArgument);
    expect(tooShort.message).to.include('32-byte key');
    expect(example.keyProviderStatus()?.pendingKeyTimestamps).to.deep.equal([]);
    example.setKey(Buffer.alloc(32, 7), 1n);
    expect(example.keyProviderStatus()?.pendingKeyTimestamps).to.deep.equal([1n]);
  });

  it('keeps the queue when onKeyUpdate fails, logs the failure without key bytes, and persists the key at the next checkpoint', async () => {
    const home = await homes.directory();
    // onKeyUpdate call 1 is the provider's first key; call 2 is the pushed one.
    const connection = await open(home, { keyProviderConfig: 'fail_on_key_update=2' });
    await writeAndCheckpoint(connection, 1n);
    push(connection, 5n);
    const failure = await engineFailure(() => writeAndCheckpoint(connection, 5n));
    expect(failure.code).to.equal(ErrorCode.KeyProvider);
    expect(connection.keyProviderStatus()).to.deep.include({ keyVersion: 1, pendingKeyTimestamps: [5n] });
    const failed = events.find((event) => event.event === 'keyProviderUpdateFailed');
    expect(failed?.attr).to.deep.include({ module: 'mock', step: 'onKeyUpdate', keyVersion: 1 });
    await connection.checkpoint();
    expect(connection.keyProviderStatus()).to.deep.include({ keyVersion: 2, pendingKeyTimestamps: [] });
    await connection.close();
    expect((await keyPages(home)).at(-1)).to.include({ timestamp: 5n, key: keyFor(5n) });
    expect(JSON.stringify(events, (_key, value: unknown) => (typeof value === 'bigint' ? String(value) : value))).not.to.include('abcdefghijklmnopqrstuvwxyz');
  });

  it('hands the persisted key and its timestamp to the provider at every reopen, with an empty queue', async () => {
    const home = await homes.directory();
    for (const timestamp of [7n, 8n, 9n]) {
      const connection = await open(home);
      const loaded = events.filter((event) => event.event === 'keyProviderLoaded').at(-1)!;
      if (timestamp > 7n) expect(loaded.attr).to.deep.include({ keyTimestamp: String(timestamp - 1n), keyVersion: Number(timestamp - 7n) });
      expect(connection.keyProviderStatus()?.pendingKeyTimestamps).to.deep.equal([]);
      push(connection, timestamp);
      await writeAndCheckpoint(connection, timestamp);
      const pageLsn = connection.keyProviderStatus()?.pageLsn;
      await connection.close();
      expect((await keyPages(home)).at(-1)).to.include({ lsn: pageLsn, timestamp, key: keyFor(timestamp) });
    }
  });
});
