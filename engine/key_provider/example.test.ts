import { expect } from 'chai';
import { ErrorCode, KeyProviderError } from '../errors.js';
import { createExampleKeyProvider, ExampleKeyBlobLayout, type ExampleKeyProvider } from './example.js';
import type { PersistedKey } from './provider.js';

/** A clock the test moves by hand, in milliseconds since the epoch. */
function manualClock(start = Date.UTC(2026, 0, 2)): { now: () => number; advanceSeconds: (seconds: number) => void } {
  let current = start;
  return { now: () => current, advanceSeconds: (seconds) => (current += seconds * 1000) };
}

async function checkpoint(provider: ExampleKeyProvider, lsn: number, timestamp = 1n): Promise<PersistedKey | undefined> {
  const update = await provider.getKey({ timestamp });
  if (!update.changed) return undefined;
  const blob = Buffer.from(update.blob);
  await provider.onKeyUpdate({ lsn });
  return { blob, lsn, timestamp };
}

describe('example key provider', () => {
  it('writes a 48-byte EXK1 blob with the version, creation time and a 32-byte key', async () => {
    const clock = manualClock();
    const provider = createExampleKeyProvider({}, { clock: clock.now });
    await provider.loadKey(undefined);
    const persisted = (await checkpoint(provider, 4)) as PersistedKey;
    const blob = persisted.blob;
    expect(blob.length).to.equal(ExampleKeyBlobLayout.size);
    expect(blob.subarray(0, 4).toString('latin1')).to.equal('EXK1');
    expect(blob.readUInt32LE(4)).to.equal(1);
    expect(Number(blob.readBigUInt64LE(8))).to.equal(clock.now());
    expect(blob.subarray(16).every((byte) => byte === 0)).to.equal(false);
    expect(provider.describeBlob(blob)).to.deep.equal({
      module: 'example',
      valid: true,
      format: 'EXK1',
      keyVersion: 1,
      createdAt: new Date(clock.now()).toISOString(),
      keyLength: 32,
    });
  });

  it('draws a different random key for every rotation', async () => {
    const provider = createExampleKeyProvider({ key_expires: '0' });
    await provider.loadKey(undefined);
    const keys = new Set<string>();
    for (let lsn = 1; lsn <= 5; lsn += 1) {
      const persisted = (await checkpoint(provider, lsn)) as PersistedKey;
      keys.add(persisted.blob.subarray(16).toString('hex'));
    }
    expect(keys.size).to.equal(5);
    expect(provider.status().keyVersion).to.equal(5);
  });

  it('never rotates without key_expires', async () => {
    const clock = manualClock();
    const provider = createExampleKeyProvider({}, { clock: clock.now });
    expect(provider.keyExpiresSeconds).to.equal(undefined);
    await provider.loadKey(undefined);
    await checkpoint(provider, 1);
    clock.advanceSeconds(10 * 365 * 24 * 3600);
    expect(await checkpoint(provider, 2)).to.equal(undefined);
  });

  it('rotates once the key is key_expires seconds old', async () => {
    const clock = manualClock();
    const provider = createExampleKeyProvider({ key_expires: '60' }, { clock: clock.now });
    await provider.loadKey(undefined);
    await checkpoint(provider, 1);
    clock.advanceSeconds(59);
    expect(await checkpoint(provider, 2)).to.equal(undefined);
    clock.advanceSeconds(1);
    const rotated = (await checkpoint(provider, 3)) as PersistedKey;
    expect(provider.describeBlob(rotated.blob)).to.include({ keyVersion: 2 });
    expect(await checkpoint(provider, 4)).to.equal(undefined);
  });

  it('rotates at every checkpoint with key_expires=0', async () => {
    const provider = createExampleKeyProvider({ key_expires: '0' });
    await provider.loadKey(undefined);
    for (let lsn = 1; lsn <= 3; lsn += 1) expect(await checkpoint(provider, lsn)).not.to.equal(undefined);
    expect(provider.status().keyVersion).to.equal(3);
  });

  it('measures key age from the creation time in the persisted blob', async () => {
    const clock = manualClock();
    const first = createExampleKeyProvider({ key_expires: '100' }, { clock: clock.now });
    await first.loadKey(undefined);
    const persisted = (await checkpoint(first, 1)) as PersistedKey;
    clock.advanceSeconds(150);
    const reopened = createExampleKeyProvider({ key_expires: '100' }, { clock: clock.now });
    await reopened.loadKey(persisted);
    expect(reopened.status().keyVersion).to.equal(1);
    expect(await checkpoint(reopened, 2)).not.to.equal(undefined);
    expect(reopened.status().keyVersion).to.equal(2);
  });

  it('forces exactly one rotation on requestRotation', async () => {
    const provider = createExampleKeyProvider();
    await provider.loadKey(undefined);
    await checkpoint(provider, 1);
    provider.requestRotation();
    expect(await checkpoint(provider, 2)).not.to.equal(undefined);
    expect(await checkpoint(provider, 3)).to.equal(undefined);
    expect(provider.status().keyVersion).to.equal(2);
  });

  it('continues numbering from the version restored at open', async () => {
    const provider = createExampleKeyProvider({ key_expires: '0' });
    await provider.loadKey(undefined);
    let persisted: PersistedKey | undefined;
    for (let lsn = 1; lsn <= 3; lsn += 1) persisted = await checkpoint(provider, lsn);
    const reopened = createExampleKeyProvider();
    await reopened.loadKey(persisted);
    expect(reopened.status().keyVersion).to.equal(3);
    reopened.requestRotation();
    const next = (await checkpoint(reopened, 4)) as PersistedKey;
    expect(reopened.describeBlob(next.blob)).to.include({ keyVersion: 4 });
  });

  it('keeps the previous key and version when persisting a rotation fails, then retries it', async () => {
    const provider = createExampleKeyProvider();
    await provider.loadKey(undefined);
    const original = (await checkpoint(provider, 1)) as PersistedKey;
    provider.requestRotation();
    const offered = await provider.getKey({ timestamp: 2n });
    expect(offered.changed).to.equal(true);
    await provider.onKeyUpdate({ error: new Error('put failed') });
    expect(provider.status().keyVersion).to.equal(1);

    const retried = await provider.getKey({ timestamp: 3n });
    expect(retried.changed).to.equal(true);
    expect(provider.describeBlob(retried.blob)).to.include({ keyVersion: 2 });
    const retriedBlob = Buffer.from(retried.blob);
    await provider.onKeyUpdate({ lsn: 9 });
    expect(provider.status().keyVersion).to.equal(2);
    expect(retriedBlob.subarray(16).equals(original.blob.subarray(16))).to.equal(false);
  });

  it('refuses getKey while a key update awaits onKeyUpdate', async () => {
    const provider = createExampleKeyProvider();
    await provider.loadKey(undefined);
    await provider.getKey({ timestamp: 1n });
    try {
      await provider.getKey({ timestamp: 2n });
      expect.fail('expected a rejection');
    } catch (error) {
      expect(error).to.be.instanceOf(KeyProviderError);
      expect((error as KeyProviderError).message).to.include('awaits onKeyUpdate');
    }
  });

  it('persists a pushed key at the first checkpoint whose timestamp reaches it', async () => {
    const provider = createExampleKeyProvider();
    await provider.loadKey(undefined);
    await checkpoint(provider, 1, 10n);
    const pushed = Buffer.alloc(32, 7);
    provider.setKey(pushed, 50n);
    expect(await checkpoint(provider, 2, 49n)).to.equal(undefined);
    const persisted = (await checkpoint(provider, 3, 50n)) as PersistedKey;
    expect(persisted.blob.subarray(16).equals(pushed)).to.equal(true);
    expect(provider.describeBlob(persisted.blob)).to.include({ keyVersion: 2 });
    expect(await checkpoint(provider, 4, 60n)).to.equal(undefined);
  });

  it('persists only the latest of several due pushed keys, and keeps later ones queued', async () => {
    const provider = createExampleKeyProvider();
    await provider.loadKey(undefined);
    await checkpoint(provider, 1, 1n);
    provider.setKey(Buffer.alloc(32, 1), 10n);
    provider.setKey(Buffer.alloc(32, 2), 20n);
    provider.setKey(Buffer.alloc(32, 3), 90n);
    const persisted = (await checkpoint(provider, 2, 30n)) as PersistedKey;
    expect(persisted.blob[16]).to.equal(2);
    expect(await checkpoint(provider, 3, 40n)).to.equal(undefined);
    const later = (await checkpoint(provider, 4, 90n)) as PersistedKey;
    expect(later.blob[16]).to.equal(3);
    expect(provider.status().keyVersion).to.equal(3);
  });

  it('keeps a pushed key queued when persisting it fails', async () => {
    const provider = createExampleKeyProvider();
    await provider.loadKey(undefined);
    await checkpoint(provider, 1, 1n);
    provider.setKey(Buffer.alloc(32, 9), 5n);
    await provider.getKey({ timestamp: 5n });
    await provider.onKeyUpdate({ error: new Error('put failed') });
    const persisted = (await checkpoint(provider, 2, 6n)) as PersistedKey;
    expect(persisted.blob[16]).to.equal(9);
  });

  it('does not let the caller change a pushed key after setKey', async () => {
    const provider = createExampleKeyProvider();
    await provider.loadKey(undefined);
    const pushed = Buffer.alloc(32, 4);
    provider.setKey(pushed, 0n);
    pushed.fill(5);
    const persisted = (await checkpoint(provider, 1, 0n)) as PersistedKey;
    expect(persisted.blob[16]).to.equal(4);
  });

  it('rejects a pushed key that is not 32 bytes without echoing it', () => {
    const provider = createExampleKeyProvider();
    const key = Buffer.from('a1b2c3d4e5', 'hex');
    try {
      provider.setKey(key, 1n);
      expect.fail('expected an error');
    } catch (error) {
      expect(error).to.be.instanceOf(KeyProviderError);
      expect((error as KeyProviderError).code).to.equal(ErrorCode.InvalidArgument);
      expect((error as KeyProviderError).message).to.include('5 bytes').and.not.include('a1b2');
    }
  });

  it('rejects a malformed blob at open with the reason', async () => {
    const provider = createExampleKeyProvider();
    const blob = Buffer.alloc(48);
    blob.write('EXK1', 0, 'latin1');
    try {
      await provider.loadKey({ blob, lsn: 12, timestamp: 1n });
      expect.fail('expected a rejection');
    } catch (error) {
      expect((error as KeyProviderError).message).to.include('versions start at 1');
      expect((error as KeyProviderError).location.lsn).to.equal(12);
    }
  });

  it('rejects a key_expires value that is not a non-negative integer', () => {
    for (const value of ['-1', '1.5', 'soon', '']) {
      try {
        createExampleKeyProvider({ key_expires: value });
        expect.fail(`expected key_expires=${value} to be rejected`);
      } catch (error) {
        expect((error as KeyProviderError).code).to.equal(ErrorCode.ConfigInvalid);
        expect((error as KeyProviderError).location.key).to.equal('key_expires');
      }
    }
  });
});
