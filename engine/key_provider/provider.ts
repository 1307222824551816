/**
 * The key-provider extension interface: what a module implements, and when the engine calls
 * each method. The engine treats the key blob as opaque bytes; only the module that wrote a
 * blob knows what is inside it.
 *
 * Call order for one connection, enforced by the shipped modules:
 *
 * ```
 * loadKey ─┬─> getKey ─(changed)──> onKeyUpdate ─┬─> getKey ... ─> terminate
 *          │          └(unchanged)───────────────┘
 *          └─> terminate
 * ```
 */

/** The key persisted by the last completed checkpoint, handed back to the provider at open. */
export interface PersistedKey {
  /** The blob exactly as the provider returned it from `getKey`. */
  blob: Buffer;
  /** LSN of the key-provider page holding the blob. */
  lsn: number;
  /**
   * The page's timestamp: the checkpoint's, or the one a pushed key was pushed at; 0n for a
   * version-1 page, which records none.
   */
  timestamp: bigint;
}

/** What `getKey` returns at a checkpoint. */
export interface KeyUpdate {
  /** False means "same key as the last persisted one": the engine writes no page. */
  changed: boolean;
  /** The blob to persist when `changed` is true; the shipped modules return an empty buffer otherwise. */
  blob: Buffer;
  /**
   * The timestamp the new key applies from, when it is not the checkpoint's: a key pushed with
   * `setKey` applies from the timestamp it was pushed at. The engine writes it into the page
   * header (absent: the checkpoint timestamp) and drops its own record of the pushed keys up to it.
   */
  timestamp?: bigint;
}

/** What the engine tells the provider after trying to persist a changed key. */
export type KeyUpdateOutcome = { lsn: number } | { error: Error };

/** Non-secret provider status for serverStatus and logs. Never holds key bytes. */
export interface KeyProviderStatus {
  /** The module name (`example`, `mock`, `noop`, or a loaded module's own name). */
  module: string;
  /** Version of the key currently in force; 0 before any key has been persisted. */
  keyVersion: number;
}

/**
 * A key-provider module. Methods are called one at a time: the engine never starts a call
 * before the previous one settles.
 */
export interface KeyProvider {
  /** The module's name, used in errors and status. */
  readonly name: string;

  /**
   * Restores the provider's state at open.
   *
   * - Called: once per connection, before any other lifecycle method, after the engine has
   *   read and validated the key-provider page referenced by the last completed checkpoint.
   * - Input: that page's blob, LSN and timestamp, or `undefined` for a new database or a
   *   checkpoint written without a key provider.
   * - Output: none; afterwards `status().keyVersion` reports the restored key version.
   * - Errors: rejects when the blob is not one of this module's blobs or cannot be used; the
   *   engine fails the open. Must not echo blob bytes in the error.
   */
  loadKey(persisted: PersistedKey | undefined): Promise<void>;

  /**
   * Returns the key to persist with the checkpoint being taken.
   *
   * - Called: at every checkpoint, after the shared metadata btree is written and before the
   *   turtle page is built (DESIGN 3.4 step 3).
   * - Input: the checkpoint timestamp (the stable timestamp it records).
   * - Output: `{changed: false}` to keep the key persisted last time (the engine reuses that
   *   page's LSN and calls nothing else), or `{changed: true, blob}`: the engine writes a
   *   key-provider page holding `blob` and then must call `onKeyUpdate` exactly once.
   * - Errors: a rejection fails this checkpoint; the previous checkpoint stays current and
   *   `onKeyUpdate` is not called.
   */
  getKey(checkpoint: { timestamp: bigint }): Promise<KeyUpdate>;

  /**
   * Reports what became of the blob returned by the last `getKey` with `changed: true`.
   *
   * - Called: exactly once after each such `getKey`, once the engine has tried to put the
   *   key-provider page (DESIGN 3.4 step 5), before the turtle page is built.
   * - Input: `{lsn}` of the written page, or `{error}` when encoding or writing it failed.
   * - Output: none. With `{lsn}` the provider adopts the new key; with `{error}` it keeps the
   *   previous key and version, so the next checkpoint offers the change again.
   * - Blob ownership: the provider may overwrite the blob it returned (the shipped modules
   *   zero it), so the engine must be done with it before this call.
   * - Errors: a rejection fails this checkpoint; the provider has then kept its previous key.
   */
  onKeyUpdate(outcome: KeyUpdateOutcome): Promise<void>;

  /**
   * Releases the provider at close.
   *
   * - Called: once, when the connection closes (after its last checkpoint), or when open
   *   fails after `loadKey`.
   * - Output: none; key material held in memory is wiped. Later lifecycle calls reject with
   *   `CLOSED`. A second call does nothing.
   */
  terminate(): Promise<void>;

  /**
   * Push mode (optional): queues a key the application supplies; the first checkpoint whose
   * timestamp reaches `timestamp` persists it (as the module's blob built from `key`).
   *
   * - Called: by the application at any time before `terminate`.
   * - Errors: throws synchronously when the key is unusable (wrong length for the module).
   */
  setKey?(key: Buffer, timestamp: bigint): void;

  /** Asks for a rotation at the next checkpoint (the server's test-only rotateKey command). */
  requestRotation?(): void;

  /** Non-secret status for serverStatus and logs: never key bytes. Callable in any state. */
  status(): KeyProviderStatus;

  /**
   * Non-secret description of a blob this module wrote (key version and similar), for the
   * read-path tool. Never throws and never returns key bytes; a blob the module does not
   * recognise is described as `{ valid: false, problem }`. Callable in any state, including
   * on a provider that was never loaded.
   */
  describeBlob?(blob: Buffer): Record<string, unknown>;
}

/**
 * What an ES-module key provider exports, as its default export or as `createKeyProvider`.
 * `config` is the parsed `key=value` configuration string. It may return a promise when the
 * module needs asynchronous set-up.
 */
export type KeyProviderFactory = (config: Record<string, string>) => KeyProvider | Promise<KeyProvider>;
