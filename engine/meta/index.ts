/** Metadata: the schema entries, the metadata table and the local turtle file. */
export * from './schema.js';
export { MetadataStore } from './metadata.js';
export {
  readTurtleFile, writeTurtleFile, syncDirectory, writeFileDurably, turtleBackupState, refreshTurtleBackup, restoreTurtleFromBackup,
  homeDataEvidence, requireMetadataCheckpoint, type TurtleBackupState, type TurtleRestore,
} from './turtle_file.js';
