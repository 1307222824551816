/**
 * The key state the shipped modules share: the key in force, the key offered by `getKey`
 * and waiting for `onKeyUpdate`, keys pushed with `setKey`, and the call-order rules.
 * Each module decides when to rotate and how a key becomes a blob; this class decides when
 * a new key is adopted (only after its page is persisted) and wipes key bytes it drops.
 */
import { ErrorCode, KeyProviderError, type ErrorCodeValue } from '../errors.js';
import type { KeyUpdateOutcome } from './provider.js';

/** Where a key came from. */
export type KeyOrigin = 'generated' | 'pushed';

/** A key held by a provider. Its bytes never leave the provider except inside a blob. */
export interface HeldKey {
  version: number;
  key: Buffer;
  /** Milliseconds since the Unix epoch. */
  createdAtMs: number;
  origin: KeyOrigin;
}

interface PushedKey {
  key: Buffer;
  timestamp: bigint;
}

interface PendingKey {
  held: HeldKey;
  /** The blob handed to the engine; wiped once the outcome is known. */
  blob: Buffer;
  /** Pushed keys this update consumes; they leave the queue only if it is adopted. */
  consumed: PushedKey[];
}

type Lifecycle = 'new' | 'open' | 'terminated';

/** Versions are stored as u32 in both shipped blob formats. */
const largestVersion = 0xffffffff;

/** One provider's key state; each provider object owns one. */
export class RotationState {
  readonly #module: string;
  #lifecycle: Lifecycle = 'new';
  #current: HeldKey | undefined;
  #pending: PendingKey | undefined;
  #queue: PushedKey[] = [];
  #rotationRequested = false;

  constructor(module: string) {
    this.#module = module;
  }

  /** The key in force, if any. */
  get current(): HeldKey | undefined {
    return this.#current;
  }

  /** Version of the key in force; 0 when none has been persisted. */
  get keyVersion(): number {
    return this.#current?.version ?? 0;
  }

  /** The version a new key takes. */
  get nextVersion(): number {
    const next = this.keyVersion + 1;
    if (next > largestVersion) throw this.error('key version would exceed the largest u32');
    return next;
  }

  get rotationRequested(): boolean {
    return this.#rotationRequested;
  }

  /** Marks a rotation as wanted; it stays wanted until a rotated key is adopted. */
  requestRotation(): void {
    this.#rotationRequested = true;
  }

  /** An error naming the module; never pass key bytes in `message`. */
  error(message: string, code: ErrorCodeValue = ErrorCode.KeyProvider, lsn?: number): KeyProviderError {
    return new KeyProviderError(`key provider "${this.#module}": ${message}`, lsn === undefined ? {} : { lsn }, code);
  }

  #assertNotTerminated(method: string): void {
    if (this.#lifecycle === 'terminated') throw this.error(`${method} called after terminate`, ErrorCode.Closed);
  }

  /** Starts the connection with the persisted key (or none). */
  load(held: HeldKey | undefined): void {
    this.#assertNotTerminated('loadKey');
    if (this.#lifecycle === 'open') throw this.error('loadKey called twice');
    this.#current = held;
    this.#lifecycle = 'open';
  }

  /** Checks that `getKey` may run now. */
  beginGetKey(): void {
    this.#assertNotTerminated('getKey');
    if (this.#lifecycle === 'new') throw this.error('getKey called before loadKey');
    if (this.#pending !== undefined) {
      throw this.error('getKey called while the previous key update still awaits onKeyUpdate');
    }
  }

  /**
   * The latest pushed key whose timestamp the checkpoint reaches, with every due key it
   * supersedes. Nothing leaves the queue until the update is adopted.
   */
  duePushedKey(timestamp: bigint): { key: Buffer; timestamp: bigint; consumed: PushedKey[] } | undefined {
    const due = this.#queue.filter((pushed) => pushed.timestamp <= timestamp);
    if (due.length === 0) return undefined;
    const latest = due.reduce((chosen, pushed) => (pushed.timestamp >= chosen.timestamp ? pushed : chosen));
    return { key: latest.key, timestamp: latest.timestamp, consumed: due };
  }

  /**
   * Records the key offered by `getKey`; `blob` is what the engine received. `held.key` must
   * be the provider's own buffer (a copy for a pushed key), since a dropped offer wipes it.
   */
  offer(held: HeldKey, blob: Buffer, consumed: PushedKey[] = []): void {
    this.#pending = { held, blob, consumed };
  }

  /** Checks that `onKeyUpdate` may run now. */
  assertUpdatePending(): void {
    this.#assertNotTerminated('onKeyUpdate');
    if (this.#pending === undefined) throw this.error('onKeyUpdate called without a changed key from getKey');
  }

  /**
   * Settles the offered key: adopted on `{lsn}`, dropped on `{error}` or when `adopt` is
   * false (a failing module). The blob handed to the engine is wiped either way.
   */
  settle(outcome: KeyUpdateOutcome, adopt = true): 'adopted' | 'dropped' {
    this.assertUpdatePending();
    const pending = this.#pending as PendingKey;
    this.#pending = undefined;
    pending.blob.fill(0);
    if (adopt && 'lsn' in outcome) {
      this.#current?.key.fill(0);
      this.#current = pending.held;
      this.#rotationRequested = false;
      for (const pushed of pending.consumed) pushed.key.fill(0);
      this.#queue = this.#queue.filter((pushed) => !pending.consumed.includes(pushed));
      return 'adopted';
    }
    pending.held.key.fill(0);
    return 'dropped';
  }

  /** Queues a pushed key (a private copy, so the caller may reuse its buffer). */
  push(key: Buffer, timestamp: bigint): void {
    this.#assertNotTerminated('setKey');
    if (typeof timestamp !== 'bigint' || timestamp < 0n) {
      throw this.error('setKey needs a non-negative bigint timestamp', ErrorCode.InvalidArgument);
    }
    this.#queue.push({ key: Buffer.from(key), timestamp });
  }

  /** Wipes every key and refuses further lifecycle calls. */
  terminate(): void {
    if (this.#lifecycle === 'terminated') return;
    this.#current?.key.fill(0);
    if (this.#pending !== undefined) {
      this.#pending.blob.fill(0);
      this.#pending.held.key.fill(0);
    }
    for (const pushed of this.#queue) pushed.key.fill(0);
    this.#pending = undefined;
    this.#queue = [];
    this.#lifecycle = 'terminated';
  }
}
