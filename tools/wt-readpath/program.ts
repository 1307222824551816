import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { resolveHome, type HomeOptions } from './context.js';
import { classifyError, ExitCode, Output, UsageError, type ExitCodeValue } from './output.js';

/**
 * The `wt-readpath` command line: a thin layer of commander over the commands, which are thin
 * layers over the verification library. HOME is the positional argument, `-h HOME` (as `wt`
 * takes it, before or after the subcommand), or the current directory. Each command's module
 * is loaded only when it runs, so a run loads only what it needs.
 */

function packageVersion(): string {
  try {
    const text = readFileSync(new URL('../../../package.json', import.meta.url), 'utf8');
    return (JSON.parse(text) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** Runs one command body: sets the exit code, reports what stopped it. */
async function run(json: boolean | undefined, body: (output: Output) => Promise<ExitCodeValue>): Promise<void> {
  const output = new Output(json === true);
  let code: ExitCodeValue;
  try {
    code = await body(output);
  } catch (error) {
    const classified = classifyError(error);
    code = classified.code;
    output.diagnostic(`wt-readpath: ${classified.message}`);
    if (output.json) output.document({ ok: false, exitCode: code, error: classified.message });
  }
  output.clearProgress();
  await output.drain();
  process.exitCode = code;
}

function globalOptions(command: Command): HomeOptions {
  let root = command;
  while (root.parent) root = root.parent;
  return root.opts<HomeOptions>();
}

/** Options every home-reading subcommand takes. */
function homeCommand(program: Command, name: string, description: string): Command {
  return program.command(name)
    .description(description)
    .helpOption('--help', 'display help for the command')
    .option('-h, --home <dir>', 'database home (default: the current directory)')
    .option('--page-log <location>', 'page log: a directory, lmdb:PATH, postgres://USER:PASSWORD@HOST:PORT/DB or a store module (default: HOME/pagelog)')
    .option('--json', 'print one JSON document on stdout');
}

/** Builds the program; `main` parses the command line with it. */
export function buildProgram(): Command {
  const program = new Command('wt-readpath')
    .description('Reads a stopped database home directly: verifies, lists, dumps and decodes its files and page log.\n'
      + 'Exit codes: 0 clean, 1 could not run, 2 corruption found.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpOption('--help', 'display help for the command')
    .option('-h, --home <dir>', 'database home (default: the current directory)')
    .option('--page-log <location>', 'page log: a directory, lmdb:PATH, postgres://USER:PASSWORD@HOST:PORT/DB or a store module (default: HOME/pagelog)')
    .exitOverride()
    .showSuggestionAfterError();

  homeCommand(program, 'verify', 'check every structure of the home (or one table) and report each finding with its location')
    .argument('[home]', 'database home')
    .option('--uri <uri>', 'verify only this table (table:NAME, file:NAME.wt or NAME)')
    .option('--strict', 'count warnings as corruption (exit 2)')
    .action(async (home: string | undefined, options: HomeOptions & { uri?: string; strict?: boolean }, command: Command) => {
      const global = globalOptions(command);
      await run(options.json, async (output) => (await import('./commands/verify.js')).verifyCommand(resolveHome(home, options, global), { ...options, pageLog: options.pageLog ?? global.pageLog }, output));
    });

  homeCommand(program, 'list', 'list the metadata entries, local and shared, as wt list does')
    .argument('[home]', 'database home')
    .option('-v, --verbose', 'print each entry\'s configuration')
    .option('-c, --checkpoints', 'print each file\'s checkpoints')
    .option('--uri <prefix>', 'only entries whose key starts with this')
    .action(async (home: string | undefined, options: HomeOptions & { verbose?: boolean; checkpoints?: boolean; uri?: string }, command: Command) => {
      const global = globalOptions(command);
      await run(options.json, async (output) => (await import('./commands/list.js')).listCommand(resolveHome(home, options, global), { ...options, pageLog: options.pageLog ?? global.pageLog }, output));
    });

  homeCommand(program, 'dump', 'print a table\'s records in wt dump\'s format')
    .usage('[options] [HOME] URI')
    .argument('<args...>', '[HOME] URI')
    .option('-x, --hex', 'print keys and values in hex (wt dump -x)')
    .action(async (args: string[], options: HomeOptions & { hex?: boolean }, command: Command) => {
      const global = globalOptions(command);
      await run(options.json, async (output) => {
        if (args.length > 2) throw new UsageError('dump takes [HOME] URI');
        const [home, uri] = args.length === 2 ? [args[0], args[1]!] : [undefined, args[0]!];
        return (await import('./commands/dump.js')).dumpCommand(resolveHome(home, options, global), uri, { ...options, pageLog: options.pageLog ?? global.pageLog }, output);
      });
    });

  homeCommand(program, 'turtle', 'show the local turtle file, the completion records and a turtle page')
    .argument('[home]', 'database home')
    .option('--lsn <lsn>', 'the completion record or turtle page at this LSN (default: the newest)')
    .action(async (home: string | undefined, options: HomeOptions & { lsn?: string }, command: Command) => {
      const global = globalOptions(command);
      await run(options.json, async (output) => (await import('./commands/turtle.js')).turtleCommand(resolveHome(home, options, global), { ...options, pageLog: options.pageLog ?? global.pageLog }, output));
    });

  homeCommand(program, 'keys', 'show the key-provider pages: header fields, checksum status, key version, LSN history (never key bytes)')
    .argument('[home]', 'database home')
    .action(async (home: string | undefined, options: HomeOptions, command: Command) => {
      const global = globalOptions(command);
      await run(options.json, async (output) => (await import('./commands/keys.js')).keysCommand(resolveHome(home, options, global), { ...options, pageLog: options.pageLog ?? global.pageLog }, output));
    });

  homeCommand(program, 'page', 'decode one page of a .wt file or of the page log')
    .argument('[home]', 'database home')
    .option('--file <file>', '.wt file (relative to HOME)')
    .option('--offset <offset>', 'byte offset of the block')
    .option('--size <size>', 'block size in bytes')
    .option('--allocation-size <bytes>', 'allocation size of the file (default 4096)')
    .option('--table-id <id>', 'page-log table id')
    .option('--page-id <id>', 'page-log page id')
    .option('--lsn <lsn>', 'page-log LSN')
    .action(async (home: string | undefined, options: HomeOptions & Record<string, string | undefined>, command: Command) => {
      const global = globalOptions(command);
      await run(options.json as boolean | undefined, async (output) => (await import('./commands/page.js')).pageCommand(resolveHome(home, options, global), { ...options, pageLog: options.pageLog ?? global.pageLog }, output));
    });

  program.command('header')
    .description('show a .wt file\'s descriptor block and its first page headers (exit 0 when the descriptor is valid)')
    .helpOption('--help', 'display help for the command')
    .argument('<file>', '.wt file')
    .option('--allocation-size <bytes>', 'allocation size of the file (default 4096)')
    .option('--count <n>', 'how many block headers to show (default 10)')
    .option('--json', 'print one JSON document on stdout')
    .action(async (file: string, options: { json?: boolean; allocationSize?: string; count?: string }) => {
      await run(options.json, async (output) => (await import('./commands/header.js')).headerCommand(file, options, output));
    });

  homeCommand(program, 'log', 'list the page log\'s records by LSN (with --journal: the journal\'s records)')
    .argument('[home]', 'database home')
    .option('--from <lsn>', 'first LSN (default 1)')
    .option('--to <lsn>', 'last LSN (default: the last)')
    .option('--journal', 'print the journal (WiredTigerLog.*) records instead, as wt printlog does')
    .action(async (home: string | undefined, options: HomeOptions & { from?: string; to?: string; journal?: boolean }, command: Command) => {
      if (options.journal) {
        const global = globalOptions(command);
        await run(options.json, async (output) => (await import('./commands/journal.js')).journalCommand(resolveHome(home, options, global), output));
        return;
      }
      const global = globalOptions(command);
      await run(options.json, async (output) => (await import('./commands/log.js')).logCommand(resolveHome(home, options, global), { ...options, pageLog: options.pageLog ?? global.pageLog }, output));
    });

  homeCommand(program, 'stat', 'show the home\'s files, trees and page-log counts')
    .argument('[home]', 'database home')
    .action(async (home: string | undefined, options: HomeOptions, command: Command) => {
      const global = globalOptions(command);
      await run(options.json, async (output) => (await import('./commands/stat.js')).statCommand(resolveHome(home, options, global), { ...options, pageLog: options.pageLog ?? global.pageLog }, output));
    });

  for (const command of program.commands) command.exitOverride();
  return program;
}

/** Parses `argv` and runs the command; the exit code is left in `process.exitCode`. */
export async function main(argv: readonly string[]): Promise<void> {
  // A reader that stops early (`| head`) is not an error: stop writing and keep the exit code.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? ExitCode.Clean);
    throw error;
  });
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version asked for exit 0; help shown because the command line was wrong does not.
      const ok = error.exitCode === 0;
      if (!ok && argv.includes('--json')) process.stdout.write(`${JSON.stringify({ ok: false, exitCode: ExitCode.CouldNotRun, error: error.message })}\n`);
      process.exitCode = ok ? ExitCode.Clean : ExitCode.CouldNotRun;
      return;
    }
    throw error;
  }
}
