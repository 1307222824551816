import { Command, CommanderError, Option } from 'commander';
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

/**
 * Parses `argv` (without the node and script paths) mongod-style. Both `--port 1` and
 * `--port=1` forms work. Never exits the process: the caller prints `message` and exits with
 * `exitCode` (0 for `--help`/`--version`, 2 for a bad option, like mongod).
 */
export function parseCommandLine(argv: string[]): ParseResult {
  let output = '';
  const program = new Command('mongod-shim')
    .description('A small mongod-like server over the disaggregated-storage engine')
    .version(`db version v${serverVersion}`, '--version', 'show version information')
    .helpOption('-h, --help', 'show this usage information')
    .requiredOption('--dbpath <path>', 'directory for datafiles')
    .option('--port <port>', 'specify port number - 0 picks a free port', '27017')
    .option('--bind_ip <addresses>', 'comma separated list of ip addresses to listen on', '127.0.0.1')
    .addOption(new Option('--storage <mode>', 'where shared tables keep their pages').choices(['local', 'disagg']).default('disagg'))
    .option('--keyProvider <nameOrPath>', 'key provider module: example, mock or a path to an ES module')
    .option('--keyProviderConfig <config>', 'key provider configuration string (key=value,...)')
    .option('--setParameter <name=value>', 'set a configurable parameter (repeatable)', collect, [] as string[])
    .option('--replSet <name>', 'run as the single primary of replica set <name>')
    .option('--magicRestore', 'read a restore configuration and oplog entries from stdin, restore, and exit')
    .option('--repair', 'run the metadata repair worker and exit')
    .option('--dryRun', 'with --repair: log every finding and the action it would take, change nothing, exit 0')
    .option('--logpath <path>', 'log file to send write to instead of stdout')
    .option('--fork', 'fork server process: exit once it accepts connections (needs --logpath)')
    .option('--shutdown', 'stop the server running with this dbpath and wait until it has ended')
    .option('--cacheSizeMB <megabytes>', 'engine cache size in megabytes')
    .option('--pageLogRetain <count>', 'completed checkpoints the page log keeps readable, or "all" (default 2)')
    .option('--pageLog <location>', 'the page log several nodes share: a directory, lmdb:PATH, postgres://USER:PASSWORD@HOST:PORT/DB or a store module (default DBPATH/pagelog)')
    .addOption(new Option('--disaggRole <role>', 'leader: writes shared collections and checkpoints; follower: serves the leader\'s checkpoints').choices(['leader', 'follower']).default('leader'))
    .option('--disaggCheckpoint <id>', 'with --disaggRole follower: the checkpoint id to pick up at start-up (default the newest)')
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => {
        output += text;
      },
      writeErr: (text) => {
        output += text;
      },
    });

  try {
    program.parse(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      const helpOrVersion = error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help';
      return helpOrVersion
        ? { kind: 'exit', exitCode: 0, message: output, stream: 'stdout' }
        : { kind: 'exit', exitCode: badOptionsExitCode, message: `Error parsing command line: ${output.replace(/^error: /, '').trim()}\ntry 'mongod-shim --help' for more information\n`, stream: 'stderr' };
    }
    throw error;
  }

  const raw = program.opts<{
    dbpath: string;
    port: string;
    bind_ip: string;
    storage: 'local' | 'disagg';
    keyProvider?: string;
    keyProviderConfig?: string;
    setParameter: string[];
    replSet?: string;
    magicRestore?: boolean;
    repair?: boolean;
    dryRun?: boolean;
    logpath?: string;
    fork?: boolean;
    shutdown?: boolean;
    cacheSizeMB?: string;
    pageLogRetain?: string;
    pageLog?: string;
    disaggRole: 'leader' | 'follower';
    disaggCheckpoint?: string;
  }>();

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

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
