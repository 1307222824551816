import { CommandError, ErrorCodes } from '../errors/index.js';
import { checkDatabaseName } from '../storage/index.js';
import { defineCommand } from './registry.js';

/** `dropDatabase`: drops every collection of the database. */
export const dropDatabaseCommand = defineCommand({
  name: 'dropDatabase',
  writes: true,
  help: 'drops every collection of a database',
  run: async (request, context) => {
    const db = checkDatabaseName(request.db);
    if (db === 'local') throw new CommandError(ErrorCodes.IllegalOperation, "Cannot drop 'local' database while replication is active");
    await context.storage.write(() => context.storage.dropDatabase(db));
    return { dropped: db };
  },
});
