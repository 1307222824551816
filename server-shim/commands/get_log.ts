import { CommandError, ErrorCodes } from '../errors/index.js';
import { defineCommand } from './registry.js';

/** `getLog`: recent log lines (`"global"`), start-up warnings, or the list of logs (`"*"`). */
export const getLogCommand = defineCommand({
  name: 'getLog',
  adminOnly: true,
  help: 'recent log lines: {getLog: "global" | "startupWarnings" | "*"}',
  run: (request, context) => {
    switch (request.argument) {
      case '*':
        return { names: ['global', 'startupWarnings'] };
      case 'global': {
        const lines = context.server.logger.recentLines();
        return { totalLinesWritten: context.server.logger.totalLinesWritten, log: lines };
      }
      case 'startupWarnings':
        return { totalLinesWritten: context.server.startupWarnings.length, log: context.server.startupWarnings };
      default:
        throw new CommandError(ErrorCodes.InvalidOptions, `No log named '${String(request.argument)}'`);
    }
  },
});
