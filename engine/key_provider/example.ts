/**
 * The `example` module: a working provider with random 32-byte keys, version numbers, and
 * rotation when the key is older than `key_expires` seconds or when asked.
 *
 * Its blob ("EXK1", 48 bytes):
 *
 * ```
 * offset size field
 *      0    4 magic          45 58 4b 31 ("EXK1": example key, blob format 1)
 *      4    4 key_version    u32 LE, 1 for the first key, +1 per rotation
 *      8    8 created_at     u64 LE, milliseconds since the Unix epoch
 *     16   32 key            the key bytes
 * ```
 */
import { createRequire } from 'node:module';
import { inspect } from 'node:util';
import { ErrorCode } from '../errors.js';
import { readIntegerConfig, rejectUnknownConfigKeys } from './config.js';
import type { KeyProvider, KeyProviderStatus, KeyUpdate, KeyUpdateOutcome, PersistedKey } from './provider.js';
import { RotationState, type HeldKey } from './rotation.js';

/**
 * Key bytes from `node:crypto`, which gives them a memory of their own (the provider zeroes a
 * key it drops, so no copy may stay elsewhere), not from the engine's pool of identifier bytes
 * (`engine/random.ts`). Loaded when a key is made: a server that never makes one never loads it.
 */
function newKeyBytes(size: number): Buffer {
  const { randomBytes } = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
  return randomBytes(size);
}

/** Layout of the example module's blob. */
export const ExampleKeyBlobLayout = {
  magic: Buffer.from('EXK1', 'latin1'),
  keyVersionOffset: 4,
  createdAtOffset: 8,
  keyOffset: 16,
  keySize: 32,
  size: 48,
} as const;

const moduleName = 'example';
const configKeys = ['key_expires'] as const;

type BlobReading = { valid: true; held: HeldKey } | { valid: false; problem: string };

function encodeExampleBlob(held: HeldKey): Buffer {
  const blob = Buffer.alloc(ExampleKeyBlobLayout.size);
  ExampleKeyBlobLayout.magic.copy(blob, 0);
  blob.writeUInt32LE(held.version, ExampleKeyBlobLayout.keyVersionOffset);
  blob.writeBigUInt64LE(BigInt(held.createdAtMs), ExampleKeyBlobLayout.createdAtOffset);
  held.key.copy(blob, ExampleKeyBlobLayout.keyOffset);
  return blob;
}

/** Reads an example blob; problems describe sizes and fields only, never bytes. */
function readExampleBlob(blob: Buffer): BlobReading {
  if (blob.length !== ExampleKeyBlobLayout.size) {
    return { valid: false, problem: `blob is ${blob.length} bytes, not ${ExampleKeyBlobLayout.size}` };
  }
  if (!blob.subarray(0, 4).equals(ExampleKeyBlobLayout.magic)) {
    return { valid: false, problem: 'blob does not start with the "EXK1" magic' };
  }
  const version = blob.readUInt32LE(ExampleKeyBlobLayout.keyVersionOffset);
  if (version === 0) return { valid: false, problem: 'blob key version is 0; versions start at 1' };
  const createdAt = blob.readBigUInt64LE(ExampleKeyBlobLayout.createdAtOffset);
  if (createdAt > BigInt(Number.MAX_SAFE_INTEGER)) return { valid: false, problem: 'blob creation time is out of range' };
  return {
    valid: true,
    held: {
      version,
      createdAtMs: Number(createdAt),
      key: Buffer.from(blob.subarray(ExampleKeyBlobLayout.keyOffset)),
      origin: 'generated',
    },
  };
}

/**
 * Non-secret description of an example blob: format, key version and creation time.
 * Exported for the read-path tool, which may not have a provider at hand.
 */
export function describeExampleBlob(blob: Buffer): Record<string, unknown> {
  const reading = readExampleBlob(blob);
  if (!reading.valid) return { module: moduleName, valid: false, problem: reading.problem, length: blob.length };
  const description = {
    module: moduleName,
    valid: true,
    format: 'EXK1',
    keyVersion: reading.held.version,
    createdAt: new Date(reading.held.createdAtMs).toISOString(),
    keyLength: ExampleKeyBlobLayout.keySize,
  };
  reading.held.key.fill(0);
  return description;
}

/** Test hooks; the engine never passes these. */
export interface ExampleKeyProviderOptions {
  /** Milliseconds since the Unix epoch; defaults to `Date.now`. */
  clock?: () => number;
}

/** The `example` provider, with its optional methods present. */
export interface ExampleKeyProvider extends KeyProvider {
  /** Rotation age from `key_expires`, in seconds; undefined means keys never expire. */
  readonly keyExpiresSeconds: number | undefined;
  /** Queues a 32-byte key; it becomes the next version at the first checkpoint reaching `timestamp`. */
  setKey(key: Buffer, timestamp: bigint): void;
  requestRotation(): void;
  describeBlob(blob: Buffer): Record<string, unknown>;
}

class ExampleProvider implements ExampleKeyProvider {
  readonly name = moduleName;
  readonly keyExpiresSeconds: number | undefined;
  readonly #clock: () => number;
  readonly #state = new RotationState(moduleName);

  constructor(keyExpiresSeconds: number | undefined, clock: () => number) {
    this.keyExpiresSeconds = keyExpiresSeconds;
    this.#clock = clock;
  }

  async loadKey(persisted: PersistedKey | undefined): Promise<void> {
    if (persisted === undefined) {
      this.#state.load(undefined);
      return;
    }
    const reading = readExampleBlob(persisted.blob);
    if (!reading.valid) {
      throw this.#state.error(`persisted key is not an example blob: ${reading.problem}`, ErrorCode.KeyProvider, persisted.lsn);
    }
    this.#state.load(reading.held);
  }

  async getKey(checkpoint: { timestamp: bigint }): Promise<KeyUpdate> {
    this.#state.beginGetKey();
    const now = this.#clock();
    const due = this.#state.duePushedKey(checkpoint.timestamp);
    let held: HeldKey;
    if (due !== undefined) {
      held = { version: this.#state.nextVersion, key: Buffer.from(due.key), createdAtMs: now, origin: 'pushed' };
    } else if (this.#needsNewKey(now)) {
      held = { version: this.#state.nextVersion, key: newKeyBytes(ExampleKeyBlobLayout.keySize), createdAtMs: now, origin: 'generated' };
    } else {
      return { changed: false, blob: Buffer.alloc(0) };
    }
    const blob = encodeExampleBlob(held);
    this.#state.offer(held, blob, due?.consumed);
    return due === undefined ? { changed: true, blob } : { changed: true, blob, timestamp: due.timestamp };
  }

  #needsNewKey(now: number): boolean {
    const current = this.#state.current;
    if (current === undefined || this.#state.rotationRequested) return true;
    if (this.keyExpiresSeconds === undefined) return false;
    return now - current.createdAtMs >= this.keyExpiresSeconds * 1000;
  }

  async onKeyUpdate(outcome: KeyUpdateOutcome): Promise<void> {
    this.#state.settle(outcome);
  }

  async terminate(): Promise<void> {
    this.#state.terminate();
  }

  setKey(key: Buffer, timestamp: bigint): void {
    if (!Buffer.isBuffer(key) || key.length !== ExampleKeyBlobLayout.keySize) {
      throw this.#state.error(
        `setKey needs a ${ExampleKeyBlobLayout.keySize}-byte key, got ${Buffer.isBuffer(key) ? `${key.length} bytes` : typeof key}`,
        ErrorCode.InvalidArgument,
      );
    }
    this.#state.push(key, timestamp);
  }

  requestRotation(): void {
    this.#state.requestRotation();
  }

  status(): KeyProviderStatus {
    return { module: moduleName, keyVersion: this.#state.keyVersion };
  }

  describeBlob(blob: Buffer): Record<string, unknown> {
    return describeExampleBlob(blob);
  }

  // Key bytes live only in private fields; these keep every printed form to the status.
  toJSON(): KeyProviderStatus {
    return this.status();
  }

  toString(): string {
    return `ExampleKeyProvider(keyVersion=${this.#state.keyVersion})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/**
 * Creates an `example` provider.
 *
 * Config: `key_expires=SECONDS`: rotate at a checkpoint when the key in force is at least
 * that old (0 rotates at every checkpoint); absent, keys never expire.
 *
 * @throws KeyProviderError `CONFIG_UNKNOWN_KEY` for any other key, `CONFIG_INVALID` for a
 *   value that is not a non-negative integer.
 */
export function createExampleKeyProvider(config: Record<string, string> = {}, options: ExampleKeyProviderOptions = {}): ExampleKeyProvider {
  rejectUnknownConfigKeys(moduleName, config, configKeys);
  const keyExpiresSeconds = readIntegerConfig(moduleName, config, 'key_expires', 0);
  return new ExampleProvider(keyExpiresSeconds, options.clock ?? Date.now);
}
