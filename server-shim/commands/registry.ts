import { CommandError, ErrorCodes } from '../errors/index.js';
import type { ServerParameters } from '../options/index.js';
import type { Document } from '../values/index.js';
import type { CommandContext, CommandRequest } from './context.js';

/**
 * Who may run a command beyond "anyone":
 * - `testCommands`: only with `--setParameter enableTestCommands=1`; otherwise the command does
 *   not exist (CommandNotFound, 59), like mongod's test-only commands;
 * - `repairCommands`: only with `--setParameter enableRepairCommands=1`; otherwise
 *   IllegalOperation (20) naming the parameter.
 */
export type CommandGate = 'testCommands' | 'repairCommands';

/** A command: its name, who may run it, and what it does. */
export interface CommandDefinition {
  /** The name clients send as the first field of the command document. */
  readonly name: string;
  /** Other names for the same command (`ismaster` for `isMaster`). */
  readonly aliases?: readonly string[];
  readonly gate?: CommandGate;
  /** Only on the `admin` database (Unauthorized, 13, elsewhere), like mongod's admin-only commands. */
  readonly adminOnly?: boolean;
  /** True for commands that write: `writeConcern` `j: true`, `fsync: true` or `w: 'majority'` then waits for the journal sync. */
  readonly writes?: boolean;
  /** One line for `listCommands`. */
  readonly help: string;
  /** Runs the command; returns the reply without `ok` (added as 1) or throws `CommandError`. */
  run(request: CommandRequest, context: CommandContext): Document | Promise<Document>;
}

/** Identity function that gives a command definition its type (one per command file). */
export function defineCommand(definition: CommandDefinition): CommandDefinition {
  return definition;
}

/** The commands of one server, by name and alias. */
export class CommandRegistry {
  private readonly byName = new Map<string, CommandDefinition>();

  constructor(definitions: readonly CommandDefinition[]) {
    for (const definition of definitions) {
      for (const name of [definition.name, ...(definition.aliases ?? [])]) {
        if (this.byName.has(name)) throw new Error(`command "${name}" is registered twice`);
        this.byName.set(name, definition);
      }
    }
  }

  /**
   * The definition for `name` if the server may run it: CommandNotFound for unknown names and
   * for test commands without `enableTestCommands`, IllegalOperation for repair commands without
   * `enableRepairCommands`.
   */
  resolve(name: string, parameters: ServerParameters): CommandDefinition {
    const definition = this.byName.get(name);
    const notFound = new CommandError(ErrorCodes.CommandNotFound, `no such command: '${name}'`);
    if (definition === undefined) throw notFound;
    if (definition.gate === 'testCommands' && !parameters.getBoolean('enableTestCommands')) throw notFound;
    if (definition.gate === 'repairCommands' && !parameters.getBoolean('enableRepairCommands')) {
      throw new CommandError(
        ErrorCodes.IllegalOperation,
        `${definition.name} requires the server to be started with --setParameter enableRepairCommands=1`,
      );
    }
    return definition;
  }

  /** Every definition once, by name. */
  definitions(): CommandDefinition[] {
    return [...new Set(this.byName.values())].sort((a, b) => (a.name < b.name ? -1 : 1));
  }
}
