import { defineCommand } from './registry.js';
import { sessionIds } from './end_sessions.js';

/** `killSessions`: closes the cursors of the named sessions. */
export const killSessionsCommand = defineCommand({
  name: 'killSessions',
  help: 'kills logical sessions and their cursors',
  run: (request, context) => {
    context.server.cursors.killSessions(sessionIds(request.argument));
    return {};
  },
});
