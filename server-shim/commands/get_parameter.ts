import { CommandError, ErrorCodes } from '../errors/index.js';
import { isDocument } from '../values/index.js';
import { defineCommand } from './registry.js';

/** Read-only values `getParameter` also answers, as mongod does. */
const fixedParameters: Record<string, unknown> = {
  featureCompatibilityVersion: { version: '8.0' },
};

/** `getParameter`: `{getParameter: 1, name: 1}` or `{getParameter: "*"}`. */
export const getParameterCommand = defineCommand({
  name: 'getParameter',
  adminOnly: true,
  help: 'reads server parameters: {getParameter: 1, <name>: 1} or {getParameter: "*"}',
  run: (request, context) => {
    const parameters = context.server.parameters;
    const all = request.argument === '*' || (isDocument(request.argument) && request.argument.allParameters === true);
    const reply: Record<string, unknown> = {};
    if (all) {
      for (const name of parameters.names()) reply[name] = parameters.get(name);
      Object.assign(reply, fixedParameters);
      return reply;
    }
    for (const name of Object.keys(request.body)) {
      if (name === request.name || name.startsWith('$') || name === 'lsid' || name === 'comment') continue;
      if (name in fixedParameters) reply[name] = fixedParameters[name];
      else if (parameters.definition(name) !== undefined) reply[name] = parameters.get(name);
    }
    if (Object.keys(reply).length === 0) throw new CommandError(ErrorCodes.InvalidOptions, 'no option found to get');
    return reply;
  },
});
