/** Connections, sessions and cursors: the engine's entry point. */
export { ConnectionImpl } from './connection.js';
export { SessionImpl } from './session.js';
export { CursorImpl } from './cursor.js';
export { TableHandle } from './table.js';
export { readLastCheckpoint } from './shared_storage.js';
export type { SharedStorage } from './shared_storage.js';
