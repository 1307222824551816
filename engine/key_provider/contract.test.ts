/**
 * The interface contract, run against every shipped module: what the engine may rely on
 * whichever provider is configured.
 */
import { expect } from 'chai';
import { ErrorCode, KeyProviderError } from '../errors.js';
import { loadKeyProvider, shippedKeyProviderNames } from './load.js';
import type { KeyProvider, PersistedKey } from './provider.js';

async function rejection(promise: Promise<unknown>): Promise<KeyProviderError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(KeyProviderError);
    return error as KeyProviderError;
  }
  expect.fail('expected a rejection');
}

/** Takes one checkpoint's key steps the way the engine does, returning what was persisted. */
async function persistFirstKey(provider: KeyProvider, lsn: number, timestamp = 10n): Promise<PersistedKey> {
  const update = await provider.getKey({ timestamp });
  expect(update.changed).to.equal(true);
  const blob = Buffer.from(update.blob);
  await provider.onKeyUpdate({ lsn });
  return { blob, lsn, timestamp };
}

for (const moduleName of shippedKeyProviderNames) {
  describe(`key-provider contract: ${moduleName}`, () => {
    it('offers a first key on a new database and keeps it while nothing changes', async () => {
      const provider = await loadKeyProvider(moduleName);
      expect(provider.name).to.equal(moduleName);
      await provider.loadKey(undefined);
      expect(provider.status()).to.deep.equal({ module: moduleName, keyVersion: 0 });
      await persistFirstKey(provider, 5);
      expect(provider.status().keyVersion).to.equal(1);
      const next = await provider.getKey({ timestamp: 11n });
      expect(next.changed).to.equal(false);
      expect(next.blob.length).to.equal(0);
      await provider.terminate();
    });

    it('restores the persisted key at open and reports no change', async () => {
      const first = await loadKeyProvider(moduleName);
      await first.loadKey(undefined);
      const persisted = await persistFirstKey(first, 8);
      await first.terminate();

      const reopened = await loadKeyProvider(moduleName);
      await reopened.loadKey(persisted);
      expect(reopened.status().keyVersion).to.equal(1);
      expect((await reopened.getKey({ timestamp: 20n })).changed).to.equal(false);
    });

    it('keeps no key when persisting the first one fails, and offers it again', async () => {
      const provider = await loadKeyProvider(moduleName);
      await provider.loadKey(undefined);
      expect((await provider.getKey({ timestamp: 1n })).changed).to.equal(true);
      await provider.onKeyUpdate({ error: new Error('page log unavailable') });
      expect(provider.status().keyVersion).to.equal(0);
      expect((await provider.getKey({ timestamp: 2n })).changed).to.equal(true);
    });

    it('wipes the offered blob once the outcome is reported', async () => {
      const provider = await loadKeyProvider(moduleName);
      await provider.loadKey(undefined);
      const update = await provider.getKey({ timestamp: 1n });
      await provider.onKeyUpdate({ lsn: 3 });
      expect(update.blob.every((byte) => byte === 0)).to.equal(true);
    });

    it('describes its own blob with the key version', async () => {
      const provider = await loadKeyProvider(moduleName);
      await provider.loadKey(undefined);
      const persisted = await persistFirstKey(provider, 5);
      expect(provider.describeBlob?.(persisted.blob)).to.include({ module: moduleName, valid: true, keyVersion: 1 });
      expect(provider.describeBlob?.(Buffer.from('not a key blob'))).to.include({ module: moduleName, valid: false });
    });

    it('refuses a blob another module wrote, naming the LSN', async () => {
      const provider = await loadKeyProvider(moduleName);
      const error = await rejection(provider.loadKey({ blob: Buffer.from('FOREIGN-KEY-BLOB'), lsn: 31, timestamp: 1n }));
      expect(error.code).to.equal(ErrorCode.KeyProvider);
      expect(error.location.lsn).to.equal(31);
    });

    it('rejects calls out of order', async () => {
      const provider = await loadKeyProvider(moduleName);
      expect((await rejection(provider.getKey({ timestamp: 1n }))).message).to.include('before loadKey');
      await provider.loadKey(undefined);
      expect((await rejection(provider.loadKey(undefined))).message).to.include('twice');
      expect((await rejection(provider.onKeyUpdate({ lsn: 1 }))).message).to.include('without a changed key');
    });

    it('rejects lifecycle calls after terminate with CLOSED, and terminates twice quietly', async () => {
      const provider = await loadKeyProvider(moduleName);
      await provider.loadKey(undefined);
      await provider.terminate();
      await provider.terminate();
      expect((await rejection(provider.getKey({ timestamp: 1n }))).code).to.equal(ErrorCode.Closed);
      expect((await rejection(provider.loadKey(undefined))).code).to.equal(ErrorCode.Closed);
      expect(provider.status().module).to.equal(moduleName);
    });

    it('rejects an unknown configuration key, naming it', async () => {
      const error = await rejection(loadKeyProvider(moduleName, 'no_such_setting=1'));
      expect(error.code).to.equal(ErrorCode.ConfigUnknownKey);
      expect(error.location.key).to.equal('no_such_setting');
    });
  });
}
