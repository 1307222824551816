/** Metadata: the schema entries, the metadata table and the local turtle file. */
export * from './schema.js';
export { MetadataStore } from './metadata.js';
export { readTurtleFile, writeTurtleFile, syncDirectory, writeFileDurably } from './turtle_file.js';
