import { CommandError, ErrorCodes } from '../errors/index.js';
import { ParameterError } from '../options/index.js';
import { defineCommand } from './registry.js';
import { genericFields } from './arguments.js';

/** `setParameter`: `{setParameter: 1, <name>: <value>}`; replies with the previous value as `was`. */
export const setParameterCommand = defineCommand({
  name: 'setParameter',
  adminOnly: true,
  help: 'changes run-time settable server parameters: {setParameter: 1, <name>: <value>}',
  run: (request, context) => {
    const parameters = context.server.parameters;
    const names = Object.keys(request.body).filter((name) => name !== request.name && !genericFields.has(name));
    if (names.length === 0) throw new CommandError(ErrorCodes.InvalidOptions, 'no option found to set, use help:true to see options ');
    if (names.length > 1) throw new CommandError(ErrorCodes.InvalidOptions, 'only one parameter can be set at a time');
    const name = names[0]!;
    try {
      const was = parameters.definition(name) ? parameters.get(name) : undefined;
      parameters.setAtRuntime(name, request.body[name]);
      return { was };
    } catch (error) {
      if (error instanceof ParameterError) {
        throw new CommandError(error.reason === 'invalid' ? ErrorCodes.BadValue : ErrorCodes.InvalidOptions, error.message);
      }
      throw error;
    }
  },
});
