/** Process lifecycle: exit codes, fatal errors, the dbpath lock file, and running in the background. */
export { notifyLauncherReady, notifyParentReady, shutDownServerAt, startInBackground } from './background.js';
export type { BackgroundOutcome } from './background.js';
export { ExitCode, FatalError } from './exit_codes.js';
export type { ExitCodeValue } from './exit_codes.js';
export {
  acquireDbpathLock, currentProcessIdentity, formatLockFile, liveLockHolder, lockFileName, lockHolderRuns, parseLockFile, processIsAlive, processStartTime,
} from './lock_file.js';
export { ShutdownController } from './shutdown.js';
export type { DbpathLock, ProcessIdentity } from './lock_file.js';
