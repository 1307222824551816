import { ParameterError, ServerParameters } from './parameters.js';

/** The version this server reports (`buildInfo`, `--version`, `serverStatus`). */
export const serverVersion = '8.0.0-shim';

/** The server's options, after parsing and checking. */
export interface ServerOptions {
  dbpath: string;
  port: number;
  /** Addresses to listen on (`--bind_ip` is a comma-separated list, like mongod's). */
  bindIp: string[];
  storage: 'local' | 'disagg';
  keyProvider?: string;
  keyProviderConfig?: string;
  /** Parameters given with `--setParameter k=v`, as given (already applied to `parameters`). */
  setParameter: Record<string, string>;
  replSet?: string;
  magicRestore: boolean;
  repair: boolean;
  /** With `repair`: log every finding and the action it would take, change nothing. */
  dryRun: boolean;
  logpath?: string;
  /** Start the server in the background and exit once it accepts connections. */
  fork: boolean;
  /** Stop the server that holds the dbpath and exit. */
  shutdown: boolean;
  cacheSizeMB?: number;
  /** Completed checkpoints the page log keeps readable (the engine's `pageLogRetain`). */
  pageLogRetain?: number | 'all';
  /** The page log directory several nodes share (default `DBPATH/pagelog`). */
  pageLog?: string;
  /** `leader` (default) writes the shared collections and checkpoints; `follower` serves the leader's checkpoints. */
  disaggRole: 'leader' | 'follower';
  /** Follower: the checkpoint id to pick up at start-up (default the newest). */
  disaggCheckpoint?: string;
  /** The command line as given, for `getCmdLineOpts`. */
  argv: string[];
}

/** The outcome of parsing a command line. */
export type ParseResult =
  | { kind: 'run'; options: ServerOptions; parameters: ServerParameters }
  | { kind: 'exit'; exitCode: number; message: string; stream: 'stdout' | 'stderr' };

/** mongod's exit code for bad options. */
export const badOptionsExitCode = 2;

/** One option of the command line: a flag, or an option taking a value (`--name v` or `--name=v`). */
interface OptionSpec {
  name: string;
  /** The value's name in usage and errors (`<path>`); none for a flag. */
  value?: string;
  help: string;
  default?: string;
  choices?: readonly string[];
  repeatable?: boolean;
}

const optionSpecs: readonly OptionSpec[] = [
  { name: 'dbpath', value: 'path', help: 'directory for datafiles' },
  { name: 'port', value: 'port', help: 'specify port number - 0 picks a free port', default: '27017' },
  { name: 'bind_ip', value: 'addresses', help: 'comma separated list of ip addresses to listen on', default: '127.0.0.1' },
  { name: 'storage', value: 'mode', help: 'where shared tables keep their pages', choices: ['local', 'disagg'], default: 'disagg' },
  { name: 'keyProvider', value: 'nameOrPath', help: 'key provider module: example, mock or a path to an ES module' },
  { name: 'keyProviderConfig', value: 'config', help: 'key provider configuration string (key=value,...)' },
  { name: 'setParameter', value: 'name=value', help: 'set a configurable parameter (repeatable)', repeatable: true },
  { name: 'replSet', value: 'name', help: 'run as the single primary of replica set <name>' },
  { name: 'magicRestore', help: 'read a restore configuration and oplog entries from stdin, restore, and exit' },
  { name: 'repair', help: 'run the metadata repair worker and exit' },
  { name: 'dryRun', help: 'with --repair: log every finding and the action it would take, change nothing, exit 0' },
  { name: 'logpath', value: 'path', help: 'log file to send write to instead of stdout' },
  { name: 'fork', help: 'fork server process: exit once it accepts connections (needs --logpath)' },
  { name: 'shutdown', help: 'stop the server running with this dbpath and wait until it has ended' },
  { name: 'cacheSizeMB', value: 'megabytes', help: 'engine cache size in megabytes' },
  { name: 'pageLogRetain', value: 'count', help: 'completed checkpoints the page log keeps readable, or "all" (default 2)' },
  { name: 'pageLog', value: 'location', help: 'the page log several nodes share: a directory, lmdb:PATH, postgres://USER:PASSWORD@HOST:PORT/DB or a store module (default DBPATH/pagelog)' },
  { name: 'disaggRole', value: 'role', help: 'leader: writes shared collections and checkpoints; follower: serves the leader\'s checkpoints', choices: ['leader', 'follower'], default: 'leader' },
  { name: 'disaggCheckpoint', value: 'id', help: 'with --disaggRole follower: the checkpoint id to pick up at start-up (default the newest)' },
];

const specByName = new Map(optionSpecs.map((spec) => [spec.name, spec]));

/** `--name <value>` or `--name`, as usage and errors show an option. */
function optionFlags(spec: OptionSpec): string {
  return spec.value === undefined ? `--${spec.name}` : `--${spec.name} <${spec.value}>`;
}

/** The usage text of `--help`: every option with its help, wrapped at 80 columns. */
function usageText(): string {
  const rows: [string, string][] = [['--version', 'show version information']];
  for (const spec of optionSpecs) {
    const notes: string[] = [];
    if (spec.choices !== undefined) notes.push(`choices: ${spec.choices.map((choice) => `"${choice}"`).join(', ')}`);
    if (spec.default !== undefined) notes.push(`default: "${spec.default}"`);
    rows.push([optionFlags(spec), notes.length === 0 ? spec.help : `${spec.help} (${notes.join(', ')})`]);
  }
  rows.push(['-h, --help', 'show this usage information']);
  const width = Math.max(...rows.map(([flags]) => flags.length)) + 2;
  const lines = ['Usage: mongod-shim [options]', '', 'A small mongod-like server over the disaggregated-storage engine', '', 'Options:'];
  for (const [flags, help] of rows) {
    const wrapped: string[] = [];
    let line = '';
    for (const word of help.split(' ')) {
      if (line !== '' && 2 + width + line.length + 1 + word.length > 80) {
        wrapped.push(line);
        line = word;
      } else line = line === '' ? word : `${line} ${word}`;
    }
    wrapped.push(line);
    lines.push(`  ${flags.padEnd(width)}${wrapped[0]}`);
    for (const more of wrapped.slice(1)) lines.push(`${' '.repeat(2 + width)}${more}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The option names closest to an unknown one, for a "did you mean" hint. */
function closestOption(given: string): string | undefined {
  const name = given.replace(/^-+/, '');
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of [...specByName.keys(), 'version', 'help']) {
    const distance = editDistance(name, candidate);
    if (distance < bestDistance && distance <= Math.max(1, Math.floor(candidate.length * 0.4))) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best === undefined ? undefined : `--${best}`;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** Raw option values by name (strings, `true` for flags, arrays for repeatable ones), or a parse error. */
type RawValues = Map<string, string | true | string[]>;

/**
 * Splits `argv` into option values: `--name value` and `--name=value` for options taking a
 * value (the next argument is taken whatever it looks like), `--name` for flags. Returns the
 * values, `help` or `version` when asked for (they win over every other error), or an error
 * message in the style of the usage errors mongod-shim always printed.
 */
function scanArguments(argv: string[]): { kind: 'values'; values: RawValues } | { kind: 'help' } | { kind: 'version' } | { kind: 'error'; message: string } {
  const values: RawValues = new Map();
  let error: string | undefined;
  let operands = 0;
  const fail = (message: string): void => {
    error ??= message;
  };
  for (let i = 0; i < argv.length; i++) {
    const argument = argv[i]!;
    if (argument === '--help' || argument === '-h') return { kind: 'help' };
    if (argument === '--version') return { kind: 'version' };
    if (argument === '--') {
      operands += argv.length - i - 1;
      break;
    }
    if (!argument.startsWith('-') || argument === '-') {
      operands++;
      continue;
    }
    const equals = argument.startsWith('--') ? argument.indexOf('=') : -1;
    const spec = argument.startsWith('--') ? specByName.get(argument.slice(2, equals < 0 ? undefined : equals)) : undefined;
    if (spec === undefined || (equals >= 0 && spec.value === undefined)) {
      const hint = argument.startsWith('--') ? closestOption(equals >= 0 ? argument.slice(0, equals) : argument) : undefined;
      fail(`unknown option '${argument}'${hint === undefined ? '' : `\n(Did you mean ${hint}?)`}`);
      continue;
    }
    if (spec.value === undefined) {
      values.set(spec.name, true);
      continue;
    }
    let value: string;
    if (equals >= 0) value = argument.slice(equals + 1);
    else if (i + 1 < argv.length) value = argv[++i]!;
    else {
      fail(`option '${optionFlags(spec)}' argument missing`);
      continue;
    }
    if (spec.choices !== undefined && !spec.choices.includes(value)) {
      fail(`option '${optionFlags(spec)}' argument '${value}' is invalid. Allowed choices are ${spec.choices.join(', ')}.`);
      continue;
    }
    if (spec.repeatable) {
      const previous = values.get(spec.name);
      values.set(spec.name, [...(Array.isArray(previous) ? previous : []), value]);
    } else values.set(spec.name, value);
  }
  if (error !== undefined) return { kind: 'error', message: error };
  if (!values.has('dbpath')) return { kind: 'error', message: `required option '${optionFlags(specByName.get('dbpath')!)}' not specified` };
  if (operands > 0) return { kind: 'error', message: `too many arguments. Expected 0 arguments but got ${operands}.` };
  return { kind: 'values', values };
}

/**
 * Parses `argv` (without the node and script paths) mongod-style. Both `--port 1` and
 * `--port=1` forms work. Never exits the process: the caller prints `message` and exits with
 * `exitCode` (0 for `--help`/`--version`, 2 for a bad option, like mongod). A hand-written
 * scanner rather than an option library: loading one costs the start-up tens of milliseconds.
 */
export function parseCommandLine(argv: string[]): ParseResult {
  const scanned = scanArguments(argv);
  if (scanned.kind === 'help') return { kind: 'exit', exitCode: 0, message: usageText(), stream: 'stdout' };
  if (scanned.kind === 'version') return { kind: 'exit', exitCode: 0, message: `db version v${serverVersion}\n`, stream: 'stdout' };
  if (scanned.kind === 'error') {
    return { kind: 'exit', exitCode: badOptionsExitCode, message: `Error parsing command line: ${scanned.message}\ntry 'mongod-shim --help' for more information\n`, stream: 'stderr' };
  }
  const values = scanned.values;
  const text = (name: string): string | undefined => {
    const value = values.get(name);
    return typeof value === 'string' ? value : undefined;
  };
  const flag = (name: string): boolean => values.get(name) === true;
  const repeated = values.get('setParameter');
  const raw = {
    dbpath: text('dbpath')!,
    port: text('port') ?? '27017',
    bind_ip: text('bind_ip') ?? '127.0.0.1',
    storage: (text('storage') ?? 'disagg') as 'local' | 'disagg',
    keyProvider: text('keyProvider'),
    keyProviderConfig: text('keyProviderConfig'),
    setParameter: Array.isArray(repeated) ? repeated : [],
    replSet: text('replSet'),
    magicRestore: flag('magicRestore'),
    repair: flag('repair'),
    dryRun: flag('dryRun'),
    logpath: text('logpath'),
    fork: flag('fork'),
    shutdown: flag('shutdown'),
    cacheSizeMB: text('cacheSizeMB'),
    pageLogRetain: text('pageLogRetain'),
    pageLog: text('pageLog'),
    disaggRole: (text('disaggRole') ?? 'leader') as 'leader' | 'follower',
    disaggCheckpoint: text('disaggCheckpoint'),
  };

  const invalid = (message: string): ParseResult => ({
    kind: 'exit',
    exitCode: badOptionsExitCode,
    message: `Error parsing command line: ${message}\ntry 'mongod-shim --help' for more information\n`,
    stream: 'stderr',
  });

  if (!/^\d+$/.test(raw.port) || Number(raw.port) > 65535) return invalid(`bad value for --port: "${raw.port}" (0 to 65535)`);
  if (raw.dbpath.trim() === '') return invalid('--dbpath must not be empty');
  const bindIp = raw.bind_ip.split(',').map((address) => address.trim()).filter((address) => address !== '');
  if (bindIp.length === 0) return invalid('--bind_ip names no address');
  let cacheSizeMB: number | undefined;
  if (raw.cacheSizeMB !== undefined) {
    cacheSizeMB = Number(raw.cacheSizeMB);
    if (!Number.isFinite(cacheSizeMB) || cacheSizeMB <= 0) return invalid(`bad value for --cacheSizeMB: "${raw.cacheSizeMB}"`);
  }
  let pageLogRetain: number | 'all' | undefined;
  if (raw.pageLogRetain !== undefined) {
    pageLogRetain = raw.pageLogRetain === 'all' ? 'all' : Number(raw.pageLogRetain);
    if (pageLogRetain !== 'all' && !(Number.isSafeInteger(pageLogRetain) && pageLogRetain >= 1)) {
      return invalid(`bad value for --pageLogRetain: "${raw.pageLogRetain}" (a positive integer or "all")`);
    }
  }
  if (raw.replSet !== undefined && !/^[^/\s,]+$/.test(raw.replSet)) return invalid(`bad value for --replSet: "${raw.replSet}"`);
  if (raw.magicRestore && raw.repair) return invalid('--magicRestore and --repair cannot be used together');
  if (raw.dryRun && !raw.repair) return invalid('--dryRun is only valid with --repair');
  if (raw.fork && raw.logpath === undefined) return invalid('--fork has to be used with --logpath');
  if (raw.fork && (raw.magicRestore || raw.repair)) return invalid('--fork cannot be used with --magicRestore or --repair');
  if (raw.shutdown && (raw.fork || raw.magicRestore || raw.repair)) return invalid('--shutdown cannot be used with --fork, --magicRestore or --repair');
  if (raw.pageLog !== undefined && raw.pageLog.trim() === '') return invalid('--pageLog must not be empty');
  if ((raw.pageLog !== undefined || raw.disaggRole === 'follower') && raw.storage !== 'disagg') {
    return invalid('--pageLog and --disaggRole follower need --storage disagg');
  }
  if (raw.disaggRole === 'follower' && (raw.magicRestore || raw.repair)) {
    return invalid('--disaggRole follower cannot be used with --magicRestore or --repair: they write the shared collections, which only the leader does');
  }
  if (raw.disaggCheckpoint !== undefined) {
    if (raw.disaggRole !== 'follower') return invalid('--disaggCheckpoint is only valid with --disaggRole follower');
    if (!/^[1-9]\d{0,15}$/.test(raw.disaggCheckpoint)) return invalid(`bad value for --disaggCheckpoint: "${raw.disaggCheckpoint}" (a checkpoint id, as fsync and serverStatus report it)`);
  }

  const parameters = new ServerParameters();
  const setParameter: Record<string, string> = {};
  for (const assignment of raw.setParameter) {
    const equals = assignment.indexOf('=');
    if (equals <= 0) return invalid(`--setParameter takes name=value, got "${assignment}"`);
    const name = assignment.slice(0, equals);
    const value = assignment.slice(equals + 1);
    try {
      parameters.setFromStartupString(name, value);
    } catch (error) {
      if (error instanceof ParameterError) return invalid(error.message);
      throw error;
    }
    setParameter[name] = value;
  }

  return {
    kind: 'run',
    parameters,
    options: {
      dbpath: raw.dbpath,
      port: Number(raw.port),
      bindIp,
      storage: raw.storage,
      keyProvider: raw.keyProvider,
      keyProviderConfig: raw.keyProviderConfig,
      setParameter,
      replSet: raw.replSet,
      magicRestore: raw.magicRestore === true,
      repair: raw.repair === true,
      dryRun: raw.dryRun === true,
      logpath: raw.logpath,
      fork: raw.fork === true,
      shutdown: raw.shutdown === true,
      cacheSizeMB,
      ...(pageLogRetain === undefined ? {} : { pageLogRetain }),
      ...(raw.pageLog === undefined ? {} : { pageLog: raw.pageLog }),
      disaggRole: raw.disaggRole,
      ...(raw.disaggCheckpoint === undefined ? {} : { disaggCheckpoint: raw.disaggCheckpoint }),
      argv,
    },
  };
}
