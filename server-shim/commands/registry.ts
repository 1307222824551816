import { CommandError, ErrorCodes } from '../errors/index.js';
import type { ServerParameters } from '../options/index.js';
import type { Document } from '../values/index.js';
import type { CommandContext, CommandRequest } from './context.js';
import type { Verbosity } from './query_plan.js';

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
  /**
   * True for commands that write: they take `writeConcern` (others refuse it with
   * InvalidOptions, 72) and the dispatcher waits for it after they run.
   */
  readonly writes?: boolean;
  /** One line for `listCommands`. */
  readonly help: string;
  /** Runs the command; returns the reply without `ok` (added as 1) or throws `CommandError`. */
  run(request: CommandRequest, context: CommandContext): Document | Promise<Document>;
  /**
   * For commands `explain` takes (`find`, `aggregate`, `count`): plans the command and, at the
   * executing verbosities, runs it to the end without replying its results; returns the explain
   * reply's body (`queryPlanner`, `executionStats` or `stages`). `explain` adds the rest.
   */
  explain?(request: CommandRequest, context: CommandContext, verbosity: Verbosity): Document;
}

/** Identity function that gives a command definition its type (one per command file). */
export function defineCommand(definition: CommandDefinition): CommandDefinition {
  return definition;
}

/**
 * A command the registry knows by name before its module is loaded: `load` imports the module
 * and returns its definition, whose name and aliases must be the entry's.
 */
export interface CommandEntry {
  readonly name: string;
  readonly aliases?: readonly string[];
  load(): Promise<CommandDefinition>;
}

/**
 * The commands of one server, by name and alias. Each command's module is loaded the first time
 * it is resolved (one load shared by concurrent callers), so start-up loads none of them.
 */
export class CommandRegistry {
  private readonly byName = new Map<string, CommandEntry>();
  private readonly loaded = new Map<CommandEntry, Promise<CommandDefinition>>();

  constructor(entries: readonly CommandEntry[]) {
    for (const entry of entries) {
      for (const name of [entry.name, ...(entry.aliases ?? [])]) {
        if (this.byName.has(name)) throw new Error(`command "${name}" is registered twice`);
        this.byName.set(name, entry);
      }
    }
  }

  /**
   * The definition for `name` if the server may run it: CommandNotFound for unknown names and
   * for test commands without `enableTestCommands`, IllegalOperation for repair commands without
   * `enableRepairCommands`.
   */
  async resolve(name: string, parameters: ServerParameters): Promise<CommandDefinition> {
    const entry = this.byName.get(name);
    const notFound = new CommandError(ErrorCodes.CommandNotFound, `no such command: '${name}'`);
    if (entry === undefined) throw notFound;
    const definition = await this.load(entry);
    if (definition.gate === 'testCommands' && !parameters.getBoolean('enableTestCommands')) throw notFound;
    if (definition.gate === 'repairCommands' && !parameters.getBoolean('enableRepairCommands')) {
      throw new CommandError(
        ErrorCodes.IllegalOperation,
        `${definition.name} requires the server to be started with --setParameter enableRepairCommands=1`,
      );
    }
    return definition;
  }

  /** Every definition once, by name (loading every command). */
  async definitions(): Promise<CommandDefinition[]> {
    const definitions = await Promise.all([...new Set(this.byName.values())].map((entry) => this.load(entry)));
    return definitions.sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  private load(entry: CommandEntry): Promise<CommandDefinition> {
    let loading = this.loaded.get(entry);
    if (loading === undefined) {
      loading = entry.load().then((definition) => {
        const sameNames = definition.name === entry.name && (definition.aliases ?? []).join() === (entry.aliases ?? []).join();
        if (!sameNames) throw new Error(`command module for "${entry.name}" defines "${definition.name}" (aliases ${(definition.aliases ?? []).join()})`);
        return definition;
      });
      this.loaded.set(entry, loading);
    }
    return loading;
  }
}
