import { CommandError, ErrorCodes } from '../errors/index.js';
import { checkClusterParameterName, knownClusterParameters, readClusterParameter } from './cluster_parameters.js';
import { defineCommand } from './registry.js';

/** `getClusterParameter: <name> | [<names>] | "*"`: stored values, or defaults for unset ones. */
export const getClusterParameterCommand = defineCommand({
  name: 'getClusterParameter',
  adminOnly: true,
  help: 'reads cluster parameters',
  run: (request, context) => {
    const parameters = context.server.parameters;
    let names: string[];
    if (request.argument === '*') names = knownClusterParameters(parameters);
    else if (typeof request.argument === 'string') names = [request.argument];
    else if (Array.isArray(request.argument) && request.argument.every((name) => typeof name === 'string')) names = request.argument as string[];
    else throw new CommandError(ErrorCodes.TypeMismatch, "BSON field 'getClusterParameter.getClusterParameter' is the wrong type, expected types '[string, array]'");
    for (const name of names) checkClusterParameterName(name, parameters);
    return { clusterParameters: names.map((name) => readClusterParameter(context.storage, name)) };
  },
});
