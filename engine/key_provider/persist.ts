/**
 * The engine's side of the protocol: persisting the provider's key during a checkpoint
 * (DESIGN 3.4 steps 3 to 5) and handing the persisted key back at open.
 */
import { EngineError, KeyProviderError } from '../errors.js';
import { decodeKeyProviderPage, encodeKeyProviderPage, type KeyProviderPageLocation } from './page.js';
import type { KeyProvider, PersistedKey } from './provider.js';

/** What the checkpoint supplies to `persistProviderKey`. */
export interface KeyPersistenceRequest {
  /**
   * The checkpoint timestamp, passed to `getKey`; written into the page header unless the
   * provider's update names the timestamp its key applies from (a pushed key).
   */
  timestamp: bigint;
  /**
   * LSN of the key-provider page holding the provider's current key: the page loaded at
   * open, or the one the last successful `persistProviderKey` returned in this connection,
   * even if that checkpoint later failed. Undefined when no key has been persisted.
   */
  previousLsn: number | undefined;
  /**
   * Puts the page to the page log (table 26, page 1) and resolves to its LSN. The page's
   * backlink is the previous key-provider page.
   */
  writePage(page: Buffer, links: { backlinkLsn: number | undefined }): Promise<number>;
  /**
   * Told which step failed before the error is thrown (`getKey`, `writePage` or
   * `onKeyUpdate`), so the engine can log it. The error is the provider's or the write's.
   */
  onFailure?(step: KeyPersistenceStep, error: unknown): void;
}

/** The steps of `persistProviderKey`, as `onFailure` names them. */
export type KeyPersistenceStep = 'getKey' | 'writePage' | 'onKeyUpdate';

/** The key-provider page the turtle page must reference. */
export interface KeyPersistenceResult {
  /** LSN for `key_provider=(page.1=(page_id=1,lsn=...))`. */
  lsn: number;
  /** Whether a new page was written at this checkpoint. */
  changed: boolean;
  /** The timestamp in the new page's header (the key's own, or the checkpoint's); absent when unchanged. */
  keyTimestamp?: bigint;
  /** True when the new key is one the application pushed (`KeyUpdate.timestamp` was set). */
  pushed?: boolean;
}

function providerFailure(provider: KeyProvider, step: string, cause: unknown, lsn?: number): KeyProviderError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new KeyProviderError(`key provider "${provider.name}" failed in ${step}: ${detail}`, lsn === undefined ? { cause } : { lsn, cause });
}

/**
 * Runs the key steps of a checkpoint: `getKey`; when the key changed, encode and write the
 * key-provider page, then `onKeyUpdate` with its LSN (or with the error that stopped it).
 * Any rejection means the checkpoint must fail and the previous one stay current.
 *
 * @throws KeyProviderError when `getKey` or `onKeyUpdate` rejects (the provider's error is
 *   the `cause`), or when the provider reports no change but no key was ever persisted. A
 *   write failure is rethrown after the provider has been told: an `EngineError` (such as
 *   the page log's) as it is, anything else wrapped in a KeyProviderError.
 */
export async function persistProviderKey(provider: KeyProvider, request: KeyPersistenceRequest): Promise<KeyPersistenceResult> {
  let update;
  try {
    update = await provider.getKey({ timestamp: request.timestamp });
  } catch (error) {
    request.onFailure?.('getKey', error);
    throw providerFailure(provider, 'getKey', error);
  }
  if (!update.changed) {
    if (request.previousLsn === undefined) {
      throw new KeyProviderError(`key provider "${provider.name}" reported an unchanged key, but no key has been persisted`);
    }
    return { lsn: request.previousLsn, changed: false };
  }

  const keyTimestamp = update.timestamp ?? request.timestamp;
  let lsn: number;
  try {
    const page = encodeKeyProviderPage({ blob: update.blob, timestamp: keyTimestamp });
    lsn = await request.writePage(page, { backlinkLsn: request.previousLsn });
  } catch (writeError) {
    request.onFailure?.('writePage', writeError);
    try {
      await provider.onKeyUpdate({ error: writeError instanceof Error ? writeError : new Error(String(writeError)) });
    } catch {
      // The write error is what failed the checkpoint; the provider has kept its old key.
    }
    if (writeError instanceof EngineError) throw writeError;
    throw new KeyProviderError(`could not write the key-provider page: ${writeError instanceof Error ? writeError.message : String(writeError)}`, { cause: writeError });
  }

  try {
    await provider.onKeyUpdate({ lsn });
  } catch (error) {
    request.onFailure?.('onKeyUpdate', error);
    throw providerFailure(provider, 'onKeyUpdate', error, lsn);
  }
  return { lsn, changed: true, keyTimestamp, pushed: update.timestamp !== undefined };
}

/**
 * Decodes the key-provider page read at open into what `loadKey` takes. A version-1 page
 * has no timestamp, so its `timestamp` is 0n.
 *
 * @throws KeyProviderError from `decodeKeyProviderPage` when the page fails a reader check.
 */
export function readPersistedKey(page: Uint8Array, where: KeyProviderPageLocation): PersistedKey {
  const decoded = decodeKeyProviderPage(page, where);
  return { blob: decoded.blob, lsn: where.lsn, timestamp: decoded.timestamp ?? 0n };
}
