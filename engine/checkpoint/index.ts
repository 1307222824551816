/** Checkpoints: writing every tree, the metadata and the turtle file at the stable timestamp (see README.md). */
export { runCheckpoint, type CheckpointTarget } from './checkpoint.js';
export { checkStorageIdentity, classifyStorageFailure, recordStorageIdentity, type StorageIdentity } from './storage_health.js';
