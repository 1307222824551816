import { hostname } from 'node:os';
import { CommandError, ErrorCodes } from '../errors/index.js';
import { serverVersion } from '../options/index.js';
import { isDocument, typeName, type Document } from '../values/index.js';
import { checkKnownFields } from './arguments.js';
import type { CommandRequest } from './context.js';
import type { Verbosity } from './query_plan.js';
import { defineCommand } from './registry.js';

const verbosities: readonly Verbosity[] = ['queryPlanner', 'executionStats', 'allPlansExecution'];

/** `verbosity` as mongod 8.0's parser reads it: a string naming a verbosity, `allPlansExecution` when missing. */
function parseVerbosity(value: unknown): Verbosity {
  if (value === undefined) return 'allPlansExecution';
  if (typeof value !== 'string') {
    throw new CommandError(ErrorCodes.TypeMismatch, `BSON field 'explain.verbosity' is the wrong type '${typeName(value)}', expected type 'string'`);
  }
  if (!(verbosities as readonly string[]).includes(value)) {
    throw new CommandError(ErrorCodes.BadValue, `Enumeration value '${value}' for field 'explain.verbosity' is not a valid value.`);
  }
  return value as Verbosity;
}

/**
 * `explain`: `{explain: {find | aggregate | count: ...}, verbosity}`, what the driver's
 * `.explain()` sends. The explained command is checked as it would be when run, then planned
 * with the plan it would run (`query_plan.ts`); at `executionStats` and `allPlansExecution` it
 * runs to the end, its results dropped, and the counters of each stage are reported. A command
 * that exists but has no explain is IllegalOperation (20), an unknown one CommandNotFound (59),
 * as in mongod.
 */
export const explainCommand = defineCommand({
  name: 'explain',
  help: 'explains how find, aggregate and count run',
  run: async (request, context) => {
    checkKnownFields(request, ['verbosity']);
    const explained = request.argument;
    if (!isDocument(explained)) {
      throw new CommandError(ErrorCodes.TypeMismatch, `BSON field 'explain.explain' is the wrong type '${typeName(explained)}', expected type 'object'`);
    }
    const verbosity = parseVerbosity(request.body.verbosity);
    const name = Object.keys(explained)[0] ?? '';
    let definition;
    try {
      definition = await context.server.commands.resolve(name, context.server.parameters);
    } catch (error) {
      if (error instanceof CommandError && error.code === ErrorCodes.CommandNotFound) {
        throw new CommandError(ErrorCodes.CommandNotFound, `Explain failed due to unknown command: ${name}`);
      }
      throw error;
    }
    if (definition.explain === undefined) throw new CommandError(ErrorCodes.IllegalOperation, `Cannot explain cmd: ${name}`);
    const command: Document = { ...explained, $db: request.db };
    const inner: CommandRequest = { name, argument: explained[name], body: command, db: request.db };
    const body = definition.explain(inner, context, verbosity);
    return {
      explainVersion: '1',
      ...body,
      command,
      serverInfo: { host: hostname(), port: context.server.port, version: serverVersion, gitVersion: 'none' },
    };
  },
});
