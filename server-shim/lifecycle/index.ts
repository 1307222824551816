/** Process lifecycle: exit codes, fatal errors and the dbpath lock file. */
export { ExitCode, FatalError } from './exit_codes.js';
export type { ExitCodeValue } from './exit_codes.js';
export {
  acquireDbpathLock, currentProcessIdentity, formatLockFile, liveLockHolder, lockFileName, lockHolderRuns, parseLockFile, processIsAlive, processStartTime,
} from './lock_file.js';
export { ShutdownController } from './shutdown.js';
export type { DbpathLock, ProcessIdentity } from './lock_file.js';
