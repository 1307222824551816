import { LogComponent, LogId } from '../log/index.js';
import { defineCommand } from './registry.js';

/**
 * `shutdown`: a clean shutdown (final checkpoint, exit 0). Like mongod, no reply is sent: the
 * connection closes, which the shell and the drivers expect.
 */
export const shutdownCommand = defineCommand({
  name: 'shutdown',
  adminOnly: true,
  help: 'shuts the server down cleanly',
  run: (_request, context) => {
    context.logger.info(LogComponent.Command, LogId.ShutdownCommand, 'Terminating via shutdown command', { remote: context.client.remote });
    context.client.closeWithoutReply();
    context.server.requestShutdown('shutdown command');
    return {};
  },
});
