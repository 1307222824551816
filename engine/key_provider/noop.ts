/**
 * The reference no-op key provider, and the shape a third-party module takes.
 *
 * A module is an ES module file whose default export (or named export `createKeyProvider`)
 * is a factory `(config: Record<string, string>) => KeyProvider`. The engine loads it with
 * `loadKeyProvider('/path/to/module.js', 'key=value,...')`, parses the configuration string
 * and passes the record to the factory. Everything else is the contract in `provider.ts`:
 * persist a blob at the first checkpoint, report `changed: false` while the key stays the
 * same, adopt a new key only once `onKeyUpdate` brings its LSN, never print key bytes.
 *
 * This module holds one fixed key, 32 zero bytes, and never rotates. Its blob is that key.
 * A module written in plain JavaScript would look the same without the type annotations.
 */
import { ErrorCode, KeyProviderError, type ErrorCodeValue } from '../errors.js';
import type { KeyProvider, KeyProviderStatus, KeyUpdate, KeyUpdateOutcome, PersistedKey } from './provider.js';

const moduleName = 'noop';
const keySize = 32;

function fail(message: string, code: ErrorCodeValue = ErrorCode.KeyProvider, lsn?: number): KeyProviderError {
  return new KeyProviderError(`key provider "${moduleName}": ${message}`, lsn === undefined ? {} : { lsn }, code);
}

/** Non-secret description of a noop blob: valid when it is 32 zero bytes. */
export function describeNoopBlob(blob: Buffer): Record<string, unknown> {
  const valid = blob.length === keySize && blob.every((byte) => byte === 0);
  return valid
    ? { module: moduleName, valid: true, keyVersion: 1, keyLength: keySize }
    : { module: moduleName, valid: false, problem: `not ${keySize} zero bytes`, length: blob.length };
}

class NoopProvider implements KeyProvider {
  readonly name = moduleName;
  // The three facts the contract needs: whether a key is persisted, whether one is on offer,
  // and whether the connection is over.
  #persisted = false;
  #offered = false;
  #loaded = false;
  #terminated = false;

  async loadKey(persisted: PersistedKey | undefined): Promise<void> {
    if (this.#terminated) throw fail('loadKey called after terminate', ErrorCode.Closed);
    if (this.#loaded) throw fail('loadKey called twice');
    if (persisted !== undefined && (persisted.blob.length !== keySize || persisted.blob.some((byte) => byte !== 0))) {
      // Another module's blob: refusing it is safer than silently replacing someone's key.
      throw fail(`persisted key is not a noop blob (${persisted.blob.length} bytes)`, ErrorCode.KeyProvider, persisted.lsn);
    }
    this.#persisted = persisted !== undefined;
    this.#loaded = true;
  }

  async getKey(): Promise<KeyUpdate> {
    if (this.#terminated) throw fail('getKey called after terminate', ErrorCode.Closed);
    if (!this.#loaded) throw fail('getKey called before loadKey');
    if (this.#persisted) return { changed: false, blob: Buffer.alloc(0) };
    this.#offered = true;
    return { changed: true, blob: Buffer.alloc(keySize) };
  }

  async onKeyUpdate(outcome: KeyUpdateOutcome): Promise<void> {
    if (this.#terminated) throw fail('onKeyUpdate called after terminate', ErrorCode.Closed);
    if (!this.#offered) throw fail('onKeyUpdate called without a changed key from getKey');
    this.#offered = false;
    // On an error the key stays unpersisted, so the next checkpoint offers it again.
    if ('lsn' in outcome) this.#persisted = true;
  }

  async terminate(): Promise<void> {
    this.#terminated = true;
  }

  status(): KeyProviderStatus {
    return { module: moduleName, keyVersion: this.#persisted ? 1 : 0 };
  }

  describeBlob(blob: Buffer): Record<string, unknown> {
    return describeNoopBlob(blob);
  }
}

/**
 * Creates the no-op provider. It takes no configuration.
 *
 * @throws KeyProviderError `CONFIG_UNKNOWN_KEY` for any configuration key.
 */
export function createNoopKeyProvider(config: Record<string, string> = {}): KeyProvider {
  const [unknown] = Object.keys(config);
  if (unknown !== undefined) {
    throw new KeyProviderError(`unknown configuration key for key-provider module "${moduleName}"; it takes no configuration`, { key: unknown }, ErrorCode.ConfigUnknownKey);
  }
  return new NoopProvider();
}

export default createNoopKeyProvider;
