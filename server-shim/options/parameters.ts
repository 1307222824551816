/**
 * Server parameters: the values `--setParameter k=v`, `getParameter` and `setParameter` read
 * and write, each with a type and with when it may be set (at start-up, at run time or both),
 * like mongod's `ServerParameter`s.
 */

/** What a parameter holds. */
export type ParameterType = 'boolean' | 'integer' | 'string';

export type ParameterValue = boolean | number | string;

export interface ParameterDefinition {
  readonly name: string;
  readonly type: ParameterType;
  readonly defaultValue: ParameterValue;
  /** Settable with `--setParameter` at start-up. */
  readonly atStartup: boolean;
  /** Settable with the `setParameter` command. */
  readonly atRuntime: boolean;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly description: string;
}

/** Every parameter the server knows. */
export const parameterDefinitions: readonly ParameterDefinition[] = [
  {
    name: 'enableTestCommands',
    type: 'boolean',
    defaultValue: false,
    atStartup: true,
    atRuntime: false,
    description: 'Enables test-only commands (rotateKey, injectFault).',
  },
  {
    name: 'enableRepairCommands',
    type: 'boolean',
    defaultValue: false,
    atStartup: true,
    atRuntime: false,
    description: 'Enables the metadata repair commands (repairMetadata).',
  },
  {
    name: 'checkpointIntervalSecs',
    type: 'integer',
    defaultValue: 60,
    atStartup: true,
    atRuntime: true,
    minimum: 0,
    maximum: 86400,
    description: 'Seconds between periodic checkpoints; 0 turns them off.',
  },
  {
    name: 'journalCommitIntervalMs',
    type: 'integer',
    defaultValue: 100,
    atStartup: true,
    atRuntime: false,
    minimum: 1,
    maximum: 500,
    description: 'Milliseconds between background journal flushes: how long a w:1 write may stay undurable.',
  },
  {
    name: 'disaggPickUpIntervalMs',
    type: 'integer',
    defaultValue: 500,
    atStartup: true,
    atRuntime: true,
    minimum: 0,
    maximum: 3_600_000,
    description: 'Follower: milliseconds between looks for a newer checkpoint of the shared page log; 0 turns periodic pick-up off.',
  },
  {
    name: 'disaggLeaseMs',
    type: 'integer',
    defaultValue: 10_000,
    atStartup: true,
    atRuntime: false,
    minimum: 100,
    maximum: 3_600_000,
    description: 'Lease of this node in the shared page log: how long its role (leader) or the checkpoints it reads (follower) outlive a kill -9.',
  },
  {
    name: 'cursorTimeoutMillis',
    type: 'integer',
    defaultValue: 600000,
    atStartup: true,
    atRuntime: true,
    minimum: 0,
    description: 'Idle time after which a cursor is closed.',
  },
  {
    name: 'clientCursorMonitorFrequencySecs',
    type: 'integer',
    defaultValue: 4,
    atStartup: true,
    atRuntime: false,
    minimum: 1,
    description: 'Seconds between sweeps for idle cursors.',
  },
  {
    name: 'logLevel',
    type: 'integer',
    defaultValue: 0,
    atStartup: true,
    atRuntime: true,
    minimum: 0,
    maximum: 5,
    description: 'Debug log verbosity (0 to 5).',
  },
];

/** A parameter value that does not parse or is out of range; the message says why. */
export class ParameterError extends Error {
  constructor(
    message: string,
    /** `unknown` for an unrecognized name, `invalid` for a bad value, `notSettable` for the wrong phase. */
    readonly reason: 'unknown' | 'invalid' | 'notSettable',
  ) {
    super(message);
    this.name = 'ParameterError';
  }
}

type Listener = (value: ParameterValue) => void;

/** The parameter values of one server. */
export class ServerParameters {
  private readonly values = new Map<string, ParameterValue>();
  private readonly listeners = new Map<string, Listener[]>();

  constructor(private readonly definitions: readonly ParameterDefinition[] = parameterDefinitions) {
    for (const definition of definitions) this.values.set(definition.name, definition.defaultValue);
  }

  /** The definition of `name`, if there is one. */
  definition(name: string): ParameterDefinition | undefined {
    return this.definitions.find((definition) => definition.name === name);
  }

  names(): string[] {
    return this.definitions.map((definition) => definition.name);
  }

  get(name: string): ParameterValue {
    const value = this.values.get(name);
    if (value === undefined) throw new ParameterError(`no option found to get: ${name}`, 'unknown');
    return value;
  }

  getBoolean(name: string): boolean {
    return this.get(name) === true;
  }

  getInteger(name: string): number {
    return Number(this.get(name));
  }

  /** Sets a parameter from a `--setParameter k=v` string. */
  setFromStartupString(name: string, text: string): void {
    const definition = this.definition(name);
    if (definition === undefined) throw new ParameterError(`Illegal --setParameter parameter: "${name}"`, 'unknown');
    if (!definition.atStartup) throw new ParameterError(`Cannot use --setParameter to set "${name}" at startup`, 'notSettable');
    this.assign(definition, parseText(definition, text));
  }

  /** Sets a parameter from a `setParameter` command value. */
  setAtRuntime(name: string, value: unknown): void {
    const definition = this.definition(name);
    if (definition === undefined) {
      throw new ParameterError(`attempted to set unrecognized parameter [${name}], use help:true to see options `, 'unknown');
    }
    if (!definition.atRuntime) throw new ParameterError(`not allowed to change [${name}] at runtime`, 'notSettable');
    this.assign(definition, parseValue(definition, value));
  }

  /** Calls `listener` after every change of `name`. */
  onChange(name: string, listener: Listener): void {
    const list = this.listeners.get(name) ?? [];
    list.push(listener);
    this.listeners.set(name, list);
  }

  private assign(definition: ParameterDefinition, value: ParameterValue): void {
    if (typeof value === 'number') {
      if (definition.minimum !== undefined && value < definition.minimum) {
        throw new ParameterError(`Invalid value for parameter ${definition.name}: ${value} is less than ${definition.minimum}`, 'invalid');
      }
      if (definition.maximum !== undefined && value > definition.maximum) {
        throw new ParameterError(`Invalid value for parameter ${definition.name}: ${value} is greater than ${definition.maximum}`, 'invalid');
      }
    }
    this.values.set(definition.name, value);
    for (const listener of this.listeners.get(definition.name) ?? []) listener(value);
  }
}

function parseText(definition: ParameterDefinition, text: string): ParameterValue {
  switch (definition.type) {
    case 'boolean':
      if (text === '1' || text === 'true') return true;
      if (text === '0' || text === 'false') return false;
      break;
    case 'integer':
      if (/^-?\d+$/.test(text)) return Number(text);
      break;
    case 'string':
      return text;
  }
  throw new ParameterError(`Bad value for parameter "${definition.name}": "${text}" is not a valid ${definition.type}`, 'invalid');
}

function parseValue(definition: ParameterDefinition, value: unknown): ParameterValue {
  const plain = numericOrSelf(value);
  if (definition.type === 'boolean' && (typeof plain === 'boolean' || plain === 0 || plain === 1)) return Boolean(plain);
  if (definition.type === 'integer' && typeof plain === 'number' && Number.isInteger(plain)) return plain;
  if (definition.type === 'string' && typeof plain === 'string') return plain;
  if (typeof plain === 'string') return parseText(definition, plain);
  throw new ParameterError(`Invalid value for parameter ${definition.name}: expected a ${definition.type}`, 'invalid');
}

/** BSON numeric wrappers (Int32, Double, Long) as plain numbers; anything else unchanged. */
function numericOrSelf(value: unknown): unknown {
  if (value !== null && typeof value === 'object' && '_bsontype' in value) {
    const type = (value as { _bsontype: string })._bsontype;
    if (type === 'Int32' || type === 'Double' || type === 'Long') return Number((value as { valueOf(): unknown }).valueOf?.() ?? NaN);
  }
  return value;
}
