import { compileFilter } from '../query/index.js';
import type { Document } from '../values/index.js';
import { checkKnownFields, optionalBoolean, optionalDocument } from './arguments.js';
import { defineCommand } from './registry.js';

/** `listDatabases`: the databases holding collections. Sizes are not tracked and read as 0. */
export const listDatabasesCommand = defineCommand({
  name: 'listDatabases',
  adminOnly: true,
  help: 'lists databases',
  run: (request, context) => {
    checkKnownFields(request, ['nameOnly', 'filter', 'authorizedDatabases']);
    const nameOnly = optionalBoolean(request, 'nameOnly') ?? false;
    const matcher = compileFilter(optionalDocument(request, 'filter'));
    const databases: Document[] = context.storage
      .databases()
      .map((name) => (nameOnly ? { name } : { name, sizeOnDisk: 0, empty: false }))
      .filter((database) => matcher(database));
    return nameOnly ? { databases } : { databases, totalSize: 0, totalSizeMb: 0 };
  },
});
