import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { ErrorCode, KeyProviderError } from '../errors.js';
import { createMockKeyProvider, mockKeyBlob, type MockKeyProvider } from './mock.js';

async function rejection(promise: Promise<unknown>): Promise<KeyProviderError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(KeyProviderError);
    return error as KeyProviderError;
  }
  expect.fail('expected a rejection');
}

/** One checkpoint's key steps; returns the persisted blob's version, or 0 when unchanged. */
async function checkpoint(provider: MockKeyProvider, lsn: number, timestamp = 1n): Promise<number> {
  const update = await provider.getKey({ timestamp });
  if (!update.changed) return 0;
  const version = update.blob.readUInt32LE(4);
  await provider.onKeyUpdate({ lsn });
  return version;
}

describe('mock key provider', () => {
  it('writes the documented deterministic blob', async () => {
    const provider = createMockKeyProvider();
    await provider.loadKey(undefined);
    const update = await provider.getKey({ timestamp: 1n });
    const expectedKey = createHash('sha256').update('mock key-provider key version 1').digest();
    const expected = Buffer.concat([Buffer.from('MOCK', 'latin1'), Buffer.from('01000000' + '01000000' + '20000000', 'hex'), expectedKey]);
    expect(update.blob.equals(expected)).to.equal(true);
    expect(update.blob.equals(mockKeyBlob(1))).to.equal(true);
    expect(provider.describeBlob(update.blob)).to.deep.equal({
      module: 'mock',
      valid: true,
      format: 'MOCK',
      keyVersion: 1,
      origin: 'generated',
      keyLength: 32,
    });
  });

  it('rotates at every Nth getKey call with rotate_every', async () => {
    const provider = createMockKeyProvider({ rotate_every: '3' });
    await provider.loadKey(undefined);
    const versions: number[] = [];
    for (let lsn = 1; lsn <= 7; lsn += 1) versions.push(await checkpoint(provider, lsn));
    expect(versions).to.deep.equal([1, 0, 2, 0, 0, 3, 0]);
  });

  it('fails the Nth getKey call with fail_get_key, then carries on', async () => {
    const provider = createMockKeyProvider({ fail_get_key: '2' });
    await provider.loadKey(undefined);
    expect(await checkpoint(provider, 1)).to.equal(1);
    const error = await rejection(provider.getKey({ timestamp: 2n }));
    expect(error.message).to.include('injected getKey failure (getKey call 2)');
    expect(await checkpoint(provider, 3)).to.equal(0);
  });

  it('fails every getKey with fail_get_key=always', async () => {
    const provider = createMockKeyProvider({ fail_get_key: 'always' });
    await provider.loadKey(undefined);
    for (let call = 1; call <= 3; call += 1) await rejection(provider.getKey({ timestamp: 1n }));
    expect(provider.status().keyVersion).to.equal(0);
  });

  it('drops the offered key when onKeyUpdate fails with fail_on_key_update', async () => {
    const provider = createMockKeyProvider({ fail_on_key_update: '2', rotate_every: '1' });
    await provider.loadKey(undefined);
    expect(await checkpoint(provider, 1)).to.equal(1);
    await provider.getKey({ timestamp: 2n });
    const error = await rejection(provider.onKeyUpdate({ lsn: 2 }));
    expect(error.message).to.include('injected onKeyUpdate failure (onKeyUpdate call 2)');
    expect(error.location.lsn).to.equal(2);
    expect(provider.status().keyVersion).to.equal(1);
    expect(await checkpoint(provider, 3)).to.equal(2);
  });

  it('fails every onKeyUpdate with fail_on_key_update=always, so no key is ever adopted', async () => {
    const provider = createMockKeyProvider({ fail_on_key_update: 'always' });
    await provider.loadKey(undefined);
    for (let lsn = 1; lsn <= 2; lsn += 1) {
      expect((await provider.getKey({ timestamp: 1n })).changed).to.equal(true);
      await rejection(provider.onKeyUpdate({ lsn }));
    }
    expect(provider.status().keyVersion).to.equal(0);
  });

  it('is scripted at run time with failNextGetKey, failNextKeyUpdate and rotateNext', async () => {
    const provider = createMockKeyProvider();
    await provider.loadKey(undefined);
    expect(await checkpoint(provider, 1)).to.equal(1);
    provider.failNextGetKey();
    await rejection(provider.getKey({ timestamp: 2n }));
    expect(await checkpoint(provider, 2)).to.equal(0);

    provider.rotateNext();
    provider.failNextKeyUpdate();
    await provider.getKey({ timestamp: 3n });
    await rejection(provider.onKeyUpdate({ lsn: 3 }));
    expect(provider.status().keyVersion).to.equal(1);
    // The rotation stays requested until one is adopted.
    expect(await checkpoint(provider, 4)).to.equal(2);
    expect(await checkpoint(provider, 5)).to.equal(0);
  });

  it('logs every engine call in order', async () => {
    const provider = createMockKeyProvider();
    await provider.loadKey(undefined);
    await checkpoint(provider, 7, 100n);
    await provider.getKey({ timestamp: 101n });
    provider.rotateNext();
    await provider.getKey({ timestamp: 102n });
    await provider.onKeyUpdate({ error: new Error('no space') });
    await provider.terminate();
    expect(provider.calls).to.deep.equal([
      'loadKey()',
      'getKey(timestamp=100)',
      'onKeyUpdate(lsn=7)',
      'getKey(timestamp=101)',
      'getKey(timestamp=102)',
      'onKeyUpdate(error)',
      'terminate()',
    ]);
  });

  it('logs the persisted key it was opened with, and restores its version', async () => {
    const provider = createMockKeyProvider();
    await provider.loadKey({ blob: mockKeyBlob(4), lsn: 30, timestamp: 25n });
    expect(provider.calls).to.deep.equal(['loadKey(lsn=30,timestamp=25)']);
    expect(provider.status().keyVersion).to.equal(4);
    provider.rotateNext();
    expect(await checkpoint(provider, 31)).to.equal(5);
  });

  it('wraps a pushed key of any length in an origin-2 blob', async () => {
    const provider = createMockKeyProvider();
    await provider.loadKey(undefined);
    await checkpoint(provider, 1, 1n);
    provider.setKey(Buffer.from('application key'), 5n);
    const update = await provider.getKey({ timestamp: 5n });
    expect(provider.describeBlob(update.blob)).to.include({ keyVersion: 2, origin: 'pushed', keyLength: 15 });
    expect(update.blob.subarray(16).toString()).to.equal('application key');
  });

  it('gives a calls array the caller cannot change', async () => {
    const provider = createMockKeyProvider();
    await provider.loadKey(undefined);
    (provider.calls as string[]).push('forged');
    expect(provider.calls).to.deep.equal(['loadKey()']);
  });

  it('rejects bad scripting values', () => {
    const configs: Record<string, string>[] = [{ rotate_every: '0' }, { fail_get_key: 'never' }, { fail_on_key_update: '-2' }];
    for (const config of configs) {
      try {
        createMockKeyProvider(config);
        expect.fail(`expected ${JSON.stringify(config)} to be rejected`);
      } catch (error) {
        expect((error as KeyProviderError).code).to.equal(ErrorCode.ConfigInvalid);
        expect((error as KeyProviderError).location.key).to.equal(Object.keys(config)[0]);
      }
    }
  });
});
