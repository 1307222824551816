#!/usr/bin/env node
/**
 * mongod-shim: a small mongod-like server over the disaggregated-storage engine.
 * `mongod-shim --dbpath DIR [--port N] [--replSet NAME] ...`; see `--help` and README.md.
 */
import { ExitCode } from './lifecycle/index.js';
import { runServer } from './run.js';

process.on('uncaughtException', (error) => {
  process.stdout.write(
    JSON.stringify({ t: { $date: new Date().toISOString() }, s: 'F', c: 'CONTROL', id: 23090, ctx: 'main', msg: 'Uncaught exception', attr: { error: String(error), stack: error.stack } }) + '\n',
  );
  process.exit(ExitCode.Uncaught);
});

// A promise rejected with nobody to handle it is a bug: logged as a fatal line (which the jstest
// harness fails a test on) and the process ends, as on an uncaught exception.
process.on('unhandledRejection', (reason) => {
  const error = reason instanceof Error ? reason : new Error(String(reason));
  process.stdout.write(
    JSON.stringify({ t: { $date: new Date().toISOString() }, s: 'F', c: 'CONTROL', id: 23090, ctx: 'main', msg: 'Unhandled promise rejection', attr: { error: String(error), stack: error.stack } }) + '\n',
  );
  process.exit(ExitCode.Uncaught);
});

const outcome = await runServer(process.argv.slice(2));
process.exit(outcome.exitCode);
