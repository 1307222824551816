/**
 * The scenario harness: start, stop, kill and restart mongod-shim on temporary dbpaths, connect
 * the official driver, run wt-readpath and mongod-shim command lines, and keep the files of
 * failed scenarios.
 */
export { isUncaughtErrorLine, ShimProcess, ShimStateError } from './shim_process.js';
export type { ShimExit, ShimOptions, ShimState } from './shim_process.js';
export { shimsPerSuite, shimsPerTest } from './mocha_hooks.js';
export type { ShimFixture } from './mocha_hooks.js';
export { parseLogLine, parseLogLines, runReadPath, runShim } from './run_tool.js';
export type { LogLine, RunOptions, ToolResult } from './run_tool.js';
export { builtPaths } from './paths.js';
export { freePort } from '../../engine/testing/ports.js';
export { sendRaw } from './raw_socket.js';
export { allDocuments, copyDbpath, oplogAfter, restoreStream } from './restore.js';
export { closeBackupCursor, copyBackupFiles, copyDbpathSlowly, dataFileHashes, filesUnder, openBackupCursor } from './backup.js';
export type { BackupCursor, BackupFile } from './backup.js';
export { checkpointOn, disaggStatus, expectStartFailure, fatalLine, launchFollower, pageLogOf, waitForPickUp, waitUntil } from './nodes.js';
export { serverError } from './driver_clients.js';
