import { spawn, type ChildProcess } from 'node:child_process';

/** A live process that does nothing for two minutes: a PID a lock file can name that is not a server. */
export async function startIdleProcess(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 120000)'], { stdio: 'ignore' });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  return child;
}
