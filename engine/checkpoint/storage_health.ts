import { statfsSync, statSync } from 'node:fs';
import { EngineError, ErrorCode, IoError, isDiskFull, systemErrorCode } from '../errors.js';

/** A path a connection opened, with its device and inode then. */
export interface StorageIdentity {
  path: string;
  dev: number;
  ino: number;
}

/** The device and inode of each of `paths` that exists now. */
export function recordStorageIdentity(paths: string[]): StorageIdentity[] {
  const identities: StorageIdentity[] = [];
  for (const path of paths) {
    try {
      const { dev, ino } = statSync(path);
      identities.push({ path, dev, ino });
    } catch {
      // Not there at open (a page log kept elsewhere without data.mdb yet): nothing to compare.
    }
  }
  return identities;
}

/**
 * Refuses to checkpoint into storage that is no longer the one opened (`STORAGE_REPLACED`): the
 * home or the page log deleted, replaced or unmounted while the connection ran. Writing there
 * would commit checkpoints nobody reads again (a deleted directory) or mix two databases.
 */
export function checkStorageIdentity(identities: readonly StorageIdentity[]): void {
  for (const opened of identities) {
    let now: { dev: number; ino: number } | undefined;
    try {
      now = statSync(opened.path);
    } catch {
      now = undefined;
    }
    if (now === undefined || now.dev !== opened.dev || now.ino !== opened.ino) {
      throw new IoError(
        now === undefined
          ? `${opened.path} no longer exists: it was deleted or unmounted since the home was opened; restart the server on the intended storage`
          : `${opened.path} is no longer the one opened (device and inode changed): it was replaced or remounted; restart the server on the intended storage`,
        { file: opened.path, expected: `${opened.dev}:${opened.ino}`, actual: now === undefined ? 'missing' : `${now.dev}:${now.ino}` },
        ErrorCode.StorageReplaced,
      );
    }
  }
}

/** Bytes free for unprivileged writers on the file system holding `path`; undefined when unknown. */
function freeBytes(path: string): number | undefined {
  try {
    const stats = statfsSync(path);
    return stats.bavail * stats.bsize;
  } catch {
    return undefined;
  }
}

/** Below this much free space a failed page-log commit (LMDB reports EIO, not ENOSPC) is taken for a full disk. */
const NEARLY_FULL_BYTES = 1024 * 1024;

/**
 * A failed checkpoint's error as callers branch on it: a full file system (`ENOSPC`, `EDQUOT`,
 * or a page-log commit that failed on a nearly full one) is `IoError` `NO_SPACE`, another raw
 * file-system error `IoError` `IO`; engine errors pass unchanged.
 */
export function classifyStorageFailure(error: unknown, home: string): unknown {
  const pageLogCommit = error instanceof EngineError && error.code === ErrorCode.PageLog;
  const free = freeBytes(home);
  if (isDiskFull(error) || (pageLogCommit && free !== undefined && free < NEARLY_FULL_BYTES)) {
    const file = error instanceof EngineError ? error.location.file ?? home : (error as NodeJS.ErrnoException).path ?? home;
    return new IoError(`the checkpoint failed: no space left on the device holding ${file} (${free ?? 'unknown'} bytes free); the last completed checkpoint stays readable`, {
      file, cause: error,
    }, ErrorCode.NoSpace);
  }
  if (error instanceof EngineError) return error;
  if (systemErrorCode(error) !== undefined) {
    return new IoError(`the checkpoint failed: ${error instanceof Error ? error.message : String(error)}`, { file: (error as NodeJS.ErrnoException).path ?? home, cause: error }, ErrorCode.Io);
  }
  return error;
}
