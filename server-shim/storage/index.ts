/**
 * The storage layer: the only code that talks to the engine. Collections, the catalog, the
 * oplog and the logical clock, checkpoints and the write gate.
 */
export { catalogRecord, catalogUri, collectionTableConfig, duplicateKeyError, maxTimeExpired, notWritablePrimary, oplogNamespace, Storage } from './storage.js';
export type { BackupFileEntry, OpenBackup, OperationState } from './storage.js';
export type { CollectionEntry, EncodedDocument, OplogOperation, StorageFailure } from './storage.js';
export { engineConfig, forwardEngineEvents, openEngine, openStorage } from './open.js';
export type { OpenStorageOptions } from './open.js';
export { engineErrorToCommandError, isEngineError } from './engine_errors.js';
export { bigIntToTimestamp, LogicalClock, timestampToBigInt } from './clock.js';
export { checkCollectionName, checkDatabaseName, checkNamespace, namespaceString, parseNamespace, tableUriFor } from './namespace.js';
export type { Namespace } from './namespace.js';
