import { CommandError, ErrorCodes } from '../errors/index.js';
import { cursorIdString } from '../cursors/index.js';
import { collectionNamespace, requiredArray } from './arguments.js';
import { defineCommand } from './registry.js';

/** `killCursors`: closes cursors and reports which existed. */
export const killCursorsCommand = defineCommand({
  name: 'killCursors',
  help: 'closes cursors',
  run: (request, context) => {
    // Cursors of collection-less commands live on `db.$cmd.<command>` (the $backupCursor's on
    // `admin.$cmd.aggregate`), which is not a valid user namespace.
    if (typeof request.argument !== 'string' || !request.argument.startsWith('$cmd.')) collectionNamespace(request);
    const ids = requiredArray(request, 'cursors');
    const killed: unknown[] = [];
    const notFound: unknown[] = [];
    for (const id of ids) {
      if (cursorIdString(id) === '0') throw new CommandError(ErrorCodes.BadValue, 'Cursor id 0 is not valid');
      (context.server.cursors.kill(id) ? killed : notFound).push(id);
    }
    return { cursorsKilled: killed, cursorsNotFound: notFound, cursorsAlive: [], cursorsUnknown: [] };
  },
});
