#!/usr/bin/env node
/**
 * `npm run jstests -- [--shard K/N] [--list] [--record-timings] [FILE.test.js ...] [mocha flags]`:
 * runs the scenario suite with mocha (`jstests/.mocharc.json`).
 *
 * - Files named on the command line replace the suite's list (they do not add to it).
 * - `--shard K/N` runs the K-th of N shards, balanced by `jstests/timings.json` (see
 *   `libs/suite_shards.ts`); the union of shards 1..N is the whole list.
 * - `--list` prints the files that would run and exits.
 * - `--record-timings` merges how long each file took into `jstests/timings.json`.
 * Every other argument (`--grep`, `--bail`, `--reporter-option output=junit.xml`, ...) goes to
 * mocha as it is. The exit code is mocha's.
 */
import { execa } from 'execa';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { file as temporaryFile } from 'tmp-promise';
import { repositoryRoot } from './libs/report.js';
import { listScenarioFiles, parseShard, readTimings, sourcePathOf, splitIntoShards, type ShardSpec, type SuiteTimings } from './libs/suite_shards.js';

const root = repositoryRoot();
const timingsPath = join(root, 'jstests', 'timings.json');

interface SuiteArguments {
  shard?: ShardSpec;
  list: boolean;
  recordTimings: boolean;
  files: string[];
  mochaArguments: string[];
}

function parseArguments(argv: string[]): SuiteArguments {
  const parsed: SuiteArguments = { list: false, recordTimings: false, files: [], mochaArguments: [] };
  for (let index = 0; index < argv.length; index += 1) {
    const argument = argv[index]!;
    if (argument === '--shard' || argument.startsWith('--shard=')) {
      const value = argument === '--shard' ? argv[(index += 1)] : argument.slice('--shard='.length);
      if (value === undefined) throw new Error('--shard takes K/N (for example 2/4)');
      parsed.shard = parseShard(value);
    } else if (argument === '--list') {
      parsed.list = true;
    } else if (argument === '--record-timings') {
      parsed.recordTimings = true;
    } else if (!argument.startsWith('-') && argument.endsWith('.js')) {
      parsed.files.push(argument);
    } else {
      parsed.mochaArguments.push(argument);
    }
  }
  return parsed;
}

/** Seconds per file from the JUnit file the reporter wrote (one `<testsuite>` per file). */
function timingsFromJUnit(path: string): SuiteTimings {
  const timings: SuiteTimings = {};
  for (const match of readFileSync(path, 'utf8').matchAll(/<testsuite name="([^"]+)"[^>]* time="([\d.]+)"/g)) {
    timings[sourcePathOf(match[1]!)] = Number(match[2]);
  }
  return timings;
}

async function main(): Promise<number> {
  let options: SuiteArguments;
  try {
    options = parseArguments(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`jstests: ${(error as Error).message}\n`);
    return 2;
  }
  let files = options.files.length > 0 ? options.files : listScenarioFiles(root, join(root, 'dist', 'jstests'));
  if (options.shard !== undefined) files = splitIntoShards(files, readTimings(timingsPath), options.shard.count)[options.shard.index - 1]!;
  if (options.list) {
    process.stdout.write(files.map((file) => `${file}\n`).join(''));
    return 0;
  }
  if (files.length === 0) {
    process.stderr.write('jstests: no test file to run\n');
    return 2;
  }
  const junit = options.recordTimings ? await temporaryFile({ postfix: '.xml' }) : undefined;
  const mocha = createRequire(import.meta.url).resolve('mocha/bin/mocha.js');
  const result = await execa(process.execPath, [
    mocha, '--config', join(root, 'jstests', '.mocharc.json'),
    ...(junit === undefined ? [] : ['--reporter-option', `output=${junit.path}`]),
    ...options.mochaArguments, ...files,
  ], { cwd: root, stdio: 'inherit', reject: false });
  if (junit !== undefined) {
    const merged = { ...readTimings(timingsPath), ...timingsFromJUnit(junit.path) };
    const sorted = Object.fromEntries(Object.entries(merged).sort(([a], [b]) => (a < b ? -1 : 1)).map(([file, seconds]) => [file, Math.round(seconds * 10) / 10]));
    writeFileSync(timingsPath, JSON.stringify(sorted, null, 2) + '\n');
    process.stderr.write(`jstests: recorded the run time of ${Object.keys(timingsFromJUnit(junit.path)).length} file(s) in ${timingsPath}\n`);
    await junit.cleanup();
  }
  return result.exitCode ?? 1;
}

process.exit(await main());
