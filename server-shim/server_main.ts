/**
 * mongod-shim's program: the entry of the server bundle (`dist/server-shim/server.cjs`) that
 * `main.cts` runs. `mongod-shim --dbpath DIR [--port N] [--replSet NAME] ...`; see `--help`.
 */
import { ExitCode } from './lifecycle/index.js';
import { LogComponent, LogId, logTimestamp, processLogger } from './log/index.js';
import { runServer } from './run.js';

/** A fatal line for a failure nothing caught, in the server's log (`--logpath` included), then exit. */
function fatalExit(msg: string, error: Error): never {
  const attr = { error: String(error), stack: error.stack };
  const logger = processLogger();
  if (logger !== undefined) {
    logger.withContext('main').fatal(LogComponent.Control, LogId.UncaughtException, msg, attr);
  } else {
    process.stdout.write(JSON.stringify({ t: { $date: logTimestamp(new Date()) }, s: 'F', c: 'CONTROL', id: LogId.UncaughtException, ctx: 'main', msg, attr }) + '\n');
  }
  process.exit(ExitCode.Uncaught);
}

process.on('uncaughtException', (error) => fatalExit('Uncaught exception', error));

// A promise rejected with nobody to handle it is a bug: logged as a fatal line (which the jstest
// harness fails a test on) and the process ends, as on an uncaught exception.
process.on('unhandledRejection', (reason) => fatalExit('Unhandled promise rejection', reason instanceof Error ? reason : new Error(String(reason))));

void runServer(process.argv.slice(2)).then((outcome) => process.exit(outcome.exitCode));
