import { expect } from 'chai';
import { ErrorCode, KeyProviderError, PageLogError } from '../errors.js';
import { checksum } from '../format/checksum.js';
import { createExampleKeyProvider } from './example.js';
import { createMockKeyProvider, mockKeyBlob } from './mock.js';
import { decodeKeyProviderPage, KeyProviderPageOffset } from './page.js';
import { persistProviderKey, readPersistedKey, type KeyPersistenceRequest } from './persist.js';
import type { KeyProvider } from './provider.js';

/** An in-memory stand-in for page-log table 26, page 1: enough to drive the protocol. */
class KeyPageLog {
  readonly pages = new Map<number, { page: Buffer; backlinkLsn: number | undefined }>();
  nextLsn = 100;
  failNextWrite: Error | undefined;

  async write(page: Buffer, links: { backlinkLsn: number | undefined }): Promise<number> {
    if (this.failNextWrite !== undefined) {
      const error = this.failNextWrite;
      this.failNextWrite = undefined;
      throw error;
    }
    const lsn = this.nextLsn;
    this.nextLsn += 1;
    this.pages.set(lsn, { page: Buffer.from(page), backlinkLsn: links.backlinkLsn });
    return lsn;
  }

  request(timestamp: bigint, previousLsn: number | undefined): KeyPersistenceRequest {
    return { timestamp, previousLsn, writePage: (page, links) => this.write(page, links) };
  }
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  expect.fail('expected a rejection');
}

describe('persisting the provider key at checkpoint', () => {
  it('writes a changed key as a key-provider page and tells the provider its LSN', async () => {
    const log = new KeyPageLog();
    const provider = createMockKeyProvider();
    await provider.loadKey(undefined);
    const result = await persistProviderKey(provider, log.request(42n, undefined));
    expect(result).to.deep.equal({ lsn: 100, changed: true, keyTimestamp: 42n, pushed: false });
    const stored = log.pages.get(100)!;
    const decoded = decodeKeyProviderPage(stored.page, { lsn: 100 });
    expect(decoded.timestamp).to.equal(42n);
    expect(decoded.blob.equals(mockKeyBlob(1))).to.equal(true);
    expect(stored.backlinkLsn).to.equal(undefined);
    expect(provider.calls).to.deep.equal(['loadKey()', 'getKey(timestamp=42)', 'onKeyUpdate(lsn=100)']);
  });

  it('reuses the previous LSN and writes nothing when the key is unchanged', async () => {
    const log = new KeyPageLog();
    const provider = createMockKeyProvider();
    await provider.loadKey(undefined);
    const first = await persistProviderKey(provider, log.request(1n, undefined));
    const second = await persistProviderKey(provider, log.request(2n, first.lsn));
    expect(second).to.deep.equal({ lsn: first.lsn, changed: false });
    expect(log.pages.size).to.equal(1);
  });

  it('links a rotated key page back to the previous one', async () => {
    const log = new KeyPageLog();
    const provider = createMockKeyProvider({ rotate_every: '1' });
    await provider.loadKey(undefined);
    const first = await persistProviderKey(provider, log.request(1n, undefined));
    const second = await persistProviderKey(provider, log.request(2n, first.lsn));
    expect(second.changed).to.equal(true);
    expect(log.pages.get(second.lsn)?.backlinkLsn).to.equal(first.lsn);
  });

  it('fails the checkpoint when getKey fails, without writing or calling onKeyUpdate', async () => {
    const log = new KeyPageLog();
    const provider = createMockKeyProvider({ fail_get_key: '1' });
    await provider.loadKey(undefined);
    const error = await rejection(persistProviderKey(provider, log.request(1n, undefined)));
    expect(error).to.be.instanceOf(KeyProviderError);
    expect(error.message).to.include('failed in getKey').and.include('injected getKey failure');
    expect(error.cause).to.be.instanceOf(KeyProviderError);
    expect(log.pages.size).to.equal(0);
    expect(provider.calls).to.deep.equal(['loadKey()', 'getKey(timestamp=1)']);
  });

  it('tells the provider when the page write fails and rethrows the page-log error', async () => {
    const log = new KeyPageLog();
    const provider = createMockKeyProvider();
    await provider.loadKey(undefined);
    const first = await persistProviderKey(provider, log.request(1n, undefined));
    provider.rotateNext();
    log.failNextWrite = new PageLogError('page log is read-only');
    const error = await rejection(persistProviderKey(provider, log.request(2n, first.lsn)));
    expect(error).to.be.instanceOf(PageLogError);
    expect(provider.calls.at(-1)).to.equal('onKeyUpdate(error)');
    expect(provider.status().keyVersion).to.equal(1);
    // The next checkpoint offers the rotation again.
    const retried = await persistProviderKey(provider, log.request(3n, first.lsn));
    expect(retried.changed).to.equal(true);
    expect(provider.status().keyVersion).to.equal(2);
  });

  it('wraps a write failure that is not an engine error', async () => {
    const log = new KeyPageLog();
    const provider = createMockKeyProvider();
    await provider.loadKey(undefined);
    log.failNextWrite = new Error('disk full');
    const error = await rejection(persistProviderKey(provider, log.request(1n, undefined)));
    expect(error).to.be.instanceOf(KeyProviderError);
    expect(error.message).to.include('disk full');
  });

  it('writes a pushed key with the timestamp it was pushed at, not the checkpoint timestamp', async () => {
    const log = new KeyPageLog();
    const provider = createMockKeyProvider();
    await provider.loadKey(undefined);
    const first = await persistProviderKey(provider, log.request(1n, undefined));
    provider.setKey(Buffer.from('pushed key at 20'), 20n);
    provider.setKey(Buffer.from('pushed key at 50'), 50n);
    const result = await persistProviderKey(provider, log.request(30n, first.lsn));
    expect(result).to.deep.equal({ lsn: first.lsn + 1, changed: true, keyTimestamp: 20n, pushed: true });
    const decoded = decodeKeyProviderPage(log.pages.get(result.lsn)!.page, { lsn: result.lsn });
    expect(decoded.timestamp).to.equal(20n);
    expect(decoded.blob.subarray(16).toString()).to.equal('pushed key at 20');
  });

  it('names the failed step to onFailure before throwing', async () => {
    const steps: string[] = [];
    const failingGetKey = createMockKeyProvider({ fail_get_key: '1' });
    await failingGetKey.loadKey(undefined);
    await rejection(persistProviderKey(failingGetKey, { ...new KeyPageLog().request(1n, undefined), onFailure: (step) => steps.push(step) }));
    const failingUpdate = createMockKeyProvider({ fail_on_key_update: '1' });
    await failingUpdate.loadKey(undefined);
    await rejection(persistProviderKey(failingUpdate, { ...new KeyPageLog().request(1n, undefined), onFailure: (step) => steps.push(step) }));
    const failingWrite = new KeyPageLog();
    failingWrite.failNextWrite = new Error('disk full');
    const provider = createMockKeyProvider();
    await provider.loadKey(undefined);
    await rejection(persistProviderKey(provider, { ...failingWrite.request(1n, undefined), onFailure: (step) => steps.push(step) }));
    expect(steps).to.deep.equal(['getKey', 'onKeyUpdate', 'writePage']);
  });

  it('fails the checkpoint when onKeyUpdate fails, naming the written LSN', async () => {
    const log = new KeyPageLog();
    const provider = createMockKeyProvider({ fail_on_key_update: '1' });
    await provider.loadKey(undefined);
    const error = (await rejection(persistProviderKey(provider, log.request(1n, undefined)))) as KeyProviderError;
    expect(error).to.be.instanceOf(KeyProviderError);
    expect(error.location.lsn).to.equal(100);
    expect(error.message).to.include('failed in onKeyUpdate');
    expect(provider.status().keyVersion).to.equal(0);
  });

  it('refuses an unchanged key when no key was ever persisted', async () => {
    const unchanged: KeyProvider = {
      name: 'lazy',
      async loadKey() {},
      async getKey() {
        return { changed: false, blob: Buffer.alloc(0) };
      },
      async onKeyUpdate() {},
      async terminate() {},
      status: () => ({ module: 'lazy', keyVersion: 0 }),
    };
    const error = await rejection(persistProviderKey(unchanged, new KeyPageLog().request(1n, undefined)));
    expect(error).to.be.instanceOf(KeyProviderError);
    expect(error.message).to.include('no key has been persisted');
  });
});

describe('reading the persisted key at open', () => {
  it('hands a reopened provider the key, LSN and timestamp of the last page', async () => {
    const log = new KeyPageLog();
    const first = createExampleKeyProvider({ key_expires: '0' });
    await first.loadKey(undefined);
    let lsn: number | undefined;
    for (let timestamp = 1n; timestamp <= 3n; timestamp += 1n) {
      lsn = (await persistProviderKey(first, log.request(timestamp, lsn))).lsn;
    }
    await first.terminate();

    const persisted = readPersistedKey(log.pages.get(lsn!)!.page, { lsn: lsn!, tableId: 26, pageId: 1 });
    expect(persisted.lsn).to.equal(lsn);
    expect(persisted.timestamp).to.equal(3n);
    const reopened = createExampleKeyProvider();
    await reopened.loadKey(persisted);
    expect(reopened.status()).to.deep.equal({ module: 'example', keyVersion: 3 });
    expect(await persistProviderKey(reopened, log.request(4n, lsn))).to.deep.equal({ lsn, changed: false });
  });

  it('reads a version-1 page with timestamp 0', () => {
    const blob = mockKeyBlob(2);
    const page = Buffer.alloc(16 + blob.length);
    page.write('wtch', 0, 'latin1');
    page[KeyProviderPageOffset.version] = 1;
    page[KeyProviderPageOffset.compatibleVersion] = 1;
    page[KeyProviderPageOffset.headerSize] = 16;
    page.writeUInt32LE(blob.length, KeyProviderPageOffset.cryptSize);
    blob.copy(page, 16);
    // The checksum is computed with its own field zero, which it still is here.
    page.writeUInt32LE(checksum(page), KeyProviderPageOffset.checksum);
    const persisted = readPersistedKey(page, { lsn: 5 });
    expect(persisted.timestamp).to.equal(0n);
    expect(persisted.blob.equals(blob)).to.equal(true);
  });

  it('rejects a corrupt page with the reader error', async () => {
    const log = new KeyPageLog();
    const provider = createMockKeyProvider();
    await provider.loadKey(undefined);
    const { lsn } = await persistProviderKey(provider, log.request(1n, undefined));
    const page = log.pages.get(lsn)!.page;
    page[page.length - 1] ^= 0xff;
    try {
      readPersistedKey(page, { lsn });
      expect.fail('expected an error');
    } catch (error) {
      expect((error as KeyProviderError).code).to.equal(ErrorCode.KeyPageChecksum);
      expect((error as KeyProviderError).location.lsn).to.equal(lsn);
    }
  });
});
