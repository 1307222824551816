import { expect } from 'chai';
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dir } from 'tmp-promise';
import { freePort } from '../libs/index.js';
import { startPostgresServer } from '../../engine/testing/postgres_server.js';
import { repositoryRoot } from '../libs/report.js';

/**
 * The README's commands, run as a newcomer would paste them: every shell block under "Running
 * it by hand" runs whole, in order, from the repository root (with a temp dir for `/tmp/lab`
 * and free ports for 27017 and 27018); every `npm run` line elsewhere names a script that exists, with
 * flags its program accepts. `npm ci` and `npm test` themselves are what CI runs.
 */

interface ShellBlock {
  /** The `##` heading the block sits under. */
  section: string;
  lines: string[];
}

function shellBlocks(markdown: string): ShellBlock[] {
  const blocks: ShellBlock[] = [];
  let section = '';
  let current: ShellBlock | undefined;
  for (const line of markdown.split('\n')) {
    if (current !== undefined) {
      if (line.startsWith('```')) {
        blocks.push(current);
        current = undefined;
      } else {
        current.lines.push(line);
      }
    } else if (line.startsWith('## ')) {
      section = line.slice(3).trim();
    } else if (line.trim() === '```sh') {
      current = { section, lines: [] };
    }
  }
  return blocks;
}

const root = repositoryRoot();
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const blocks = shellBlocks(readme);
const packageScripts = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

describe('README: every command it shows works as written', function () {
  this.timeout(180_000);
  const forkedPids: number[] = [];

  after(() => {
    // A block that failed half-way may have left a forked server running.
    for (const pid of forkedPids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });

  it('starts with the set-up commands and the main job', () => {
    const first = blocks[0]?.lines.join('\n') ?? '';
    expect(first).to.match(/^npm ci\b/m);
    expect(first).to.match(/^npm test\b/m);
    expect(first).to.match(/^npm run jstests\b/m);
  });

  const byHand = blocks.filter((block) => block.section === 'Running it by hand');
  it('has blocks to run by hand', () => {
    expect(byHand.length).to.be.greaterThan(0);
  });

  byHand.forEach((block, index) => {
    it(`runs block ${index + 1} of "Running it by hand" whole: ${block.lines[1] ?? block.lines[0]}`, async () => {
      const lab = await dir({ prefix: 'readme-lab-', unsafeCleanup: true });
      // A block on a PostgreSQL page log runs against a server of its own, with the block's
      // database made (the README has the reader make it with createdb).
      const postgres = block.lines.some((line) => line.includes('postgres://')) ? await startPostgresServer() : undefined;
      try {
        const [port, secondPort] = [String(await freePort()), String(await freePort())];
        let script = block.lines.join('\n').replaceAll('/tmp/lab', lab.path).replaceAll('27017', port).replaceAll('27018', secondPort);
        if (postgres !== undefined) {
          await postgres.createDatabase('pagelog');
          expect(postgres.user, 'the README names the harness\'s user').to.equal('lab');
          script = script.replaceAll('127.0.0.1:5432', `127.0.0.1:${postgres.port}`).replaceAll('PGPASSWORD=secret', `PGPASSWORD=${postgres.password}`);
        }
        const result = await execa('bash', ['-euo', 'pipefail', '-c', script], {
          cwd: root, reject: false, timeout: 150_000, all: true, env: { MONGOSH_NO_UPDATE_CHECK: '1' },
        });
        for (const match of result.all.matchAll(/forked process: (\d+)/g)) forkedPids.push(Number(match[1]));
        expect(result.exitCode, result.all).to.equal(0);
        // What each command in the block claims to show, it shows.
        const text = block.lines.join('\n');
        if (text.includes('--fork')) expect(result.all).to.include('child process started successfully');
        if (text.includes('--shutdown')) expect(result.all).to.match(/killing process with pid: \d+/);
        if (text.includes('x: "hello"')) expect(result.all).to.include("x: 'hello'");
        if (/wt-readpath\/main\.js .* verify/.test(text)) expect(result.all).to.match(/wt-readpath verify: 0 error\(s\)/);
        if (/wt-readpath\/main\.js .* dump/.test(text)) expect(result.all).to.match(/^Data$/m);
        if (text.includes('--dryRun')) expect(result.all).to.include('Repair dry run completed: nothing was changed');
        if (/wt-readpath\/main\.js .* keys/.test(text)) expect(result.all).to.match(/keyVersion \d+/);
        if (text.includes('--disaggRole follower')) {
          // The follower served the leader's document and says it is not writable.
          expect(result.all.replace(/\s+/g, ' ')).to.include('[ { _id: 1 } ]');
          expect(result.all).to.match(/^false$/m);
        }
      } finally {
        await postgres?.destroy();
        await lab.cleanup();
      }
    });
  });

  it('names only npm scripts that exist, with flags their programs accept', async () => {
    const npmRuns = blocks.flatMap((block) => block.lines).map((line) => /^npm run (\S+)(?: -- (.*?))?\s*(?:#.*)?$/.exec(line)).filter((match) => match !== null);
    expect(npmRuns.length).to.be.greaterThan(3);
    for (const [, script, rest] of npmRuns) {
      expect(packageScripts, `npm run ${script}`).to.have.property(script!);
      const flags = (rest ?? '').split(/\s+/).filter((word) => word.startsWith('--'));
      if (script === 'jstests') {
        // The suite runner lists what it would run with these arguments.
        const listed = await execa(process.execPath, ['dist/jstests/suite_main.js', ...(rest ?? '').split(/\s+/).filter((word) => word !== ''), '--list'], { cwd: root, reject: false });
        expect(listed.exitCode, `npm run jstests -- ${rest}: ${listed.stderr}`).to.equal(0);
        expect(listed.stdout.trim()).to.not.equal('');
      } else if (flags.length > 0) {
        const program = /node (\S+\.js)/.exec(packageScripts[script!]!)?.[1];
        expect(program, `npm run ${script} runs a node program`).to.be.a('string');
        const help = await execa(process.execPath, [program!, '--help'], { cwd: root, reject: false });
        for (const flag of flags) expect(help.stdout, `npm run ${script} -- ${flag}`).to.include(flag);
      }
    }
  });
});
