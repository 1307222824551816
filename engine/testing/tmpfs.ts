import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A real tmpfs of `megabytes` mounted for one test, so that a full disk is a full disk and not
 * an injected error. Needs root: without it the test fails, naming why. `unmount` detaches it
 * lazily and removes the mount point.
 */
export function mountTmpfs(megabytes: number, prefix = 'tmpfs-'): { path: string; unmount: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${megabytes}m`, 'tmpfs', path], { stdio: 'pipe' });
  } catch (error) {
    rmSync(path, { recursive: true, force: true });
    throw new Error(`this test mounts a ${megabytes} MB tmpfs and needs root for it: mount -t tmpfs failed: ${(error as Error).message}`);
  }
  return {
    path,
    unmount: () => {
      execFileSync('umount', ['-l', path], { stdio: 'pipe' });
      rmSync(path, { recursive: true, force: true });
    },
  };
}
