import { expect } from 'chai';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { testHomes } from '../../engine/testing/homes.js';
import { copyFixture, FIXTURES } from '../../engine/verify/testing.js';
import { currentProcessIdentity, formatLockFile } from '../../server-shim/lifecycle/lock_file.js';
import { runCli, runCliJson } from './testing.js';

const SMALL = join(FIXTURES, 'small', 'home');

describe('wt-readpath exit codes', () => {
  const homes = testHomes('readpath-exit-');

  it('exits 0 for --help and --version, on the program and on a subcommand', async () => {
    const help = await runCli(['--help']);
    expect(help.exitCode).to.equal(0);
    expect(help.stdout).to.contain('Usage: wt-readpath').and.contain('verify').and.contain('Exit codes: 0 clean, 1 could not run, 2 corruption found');
    const verifyHelp = await runCli(['verify', '--help']);
    expect(verifyHelp.exitCode).to.equal(0);
    expect(verifyHelp.stdout).to.contain('--strict').and.contain('-h, --home <dir>');
    const version = await runCli(['--version']);
    expect(version.exitCode).to.equal(0);
    const { version: expected } = JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8')) as { version: string };
    expect(version.stdout.trim()).to.equal(expected);
  });

  it('exits 1 for bad usage', async () => {
    for (const args of [
      [],
      ['frobnicate'],
      ['verify', SMALL, '--no-such-option'],
      ['dump', SMALL],
      ['dump', SMALL, 'table:strings', 'extra'],
      ['page', SMALL],
      ['page', SMALL, '--file', 'strings.wt', '--table-id', '3'],
      ['page', SMALL, '--file', 'strings.wt', '--offset', 'x', '--size', '4096'],
      ['log', SMALL, '--from', 'abc'],
      ['turtle', SMALL, '--lsn', '5'],
      ['header'],
    ]) {
      const result = await runCli(args);
      expect(result.exitCode, `${args.join(' ')}: ${result.stderr}`).to.equal(1);
      expect(result.stderr.length, args.join(' ')).to.be.above(0);
    }
  });

  it('exits 1, with one JSON document under --json, for a missing home or a directory that is not a home', async () => {
    const empty = await homes.directory();
    for (const home of [join(empty, 'absent'), empty]) {
      for (const command of ['verify', 'list', 'turtle', 'keys', 'log', 'stat']) {
        const result = await runCliJson<{ ok: boolean; exitCode: number; error: string }>([command, home]);
        expect(result.exitCode, `${command} ${home}`).to.equal(1);
        expect(result.document).to.include({ ok: false, exitCode: 1 });
        expect(result.stderr).to.contain(home);
      }
    }
  });

  it('exits 1 for a table or file that does not exist', async () => {
    const dump = await runCli(['dump', SMALL, 'table:absent']);
    expect(dump.exitCode).to.equal(1);
    expect(dump.stderr).to.contain('table:absent: No such object exists');
    expect(dump.stdout).to.equal('');
    expect((await runCli(['verify', SMALL, '--uri', 'absent'])).exitCode).to.equal(1);
    expect((await runCli(['header', join(SMALL, 'absent.wt')])).exitCode).to.equal(1);
    expect((await runCli(['page', SMALL, '--file', 'absent.wt', '--offset', '4096', '--size', '4096'])).exitCode).to.equal(1);
  });

  it('exits 1 while a running server holds the home, and ignores a stale or empty mongod.lock or one naming a bare live PID', async () => {
    const home = copyFixture('small', await homes.directory());
    // This test process stands for the server: the lock names it exactly.
    writeFileSync(join(home, 'mongod.lock'), formatLockFile(currentProcessIdentity()));
    for (const args of [['verify', home], ['list', home], ['dump', home, 'strings'], ['turtle', home], ['keys', home], ['log', home], ['stat', home],
      ['page', home, '--file', 'strings.wt', '--offset', '4096', '--size', '4096']]) {
      const result = await runCli(args);
      expect(result.exitCode, args.join(' ')).to.equal(1);
      expect(result.stderr).to.contain(`live process ${process.pid}`);
    }
    const exited = execa(process.execPath, ['-e', 'process.exit(0)']);
    await exited;
    writeFileSync(join(home, 'mongod.lock'), `${exited.pid}\n`);
    expect((await runCli(['verify', home])).exitCode).to.equal(0);
    writeFileSync(join(home, 'mongod.lock'), '');
    expect((await runCli(['verify', home])).exitCode).to.equal(0);
    // A live PID that is not the lock's process (PID reuse after a crash): nothing holds the home.
    writeFileSync(join(home, 'mongod.lock'), '1\n');
    expect((await runCli(['verify', home])).exitCode).to.equal(0);
    writeFileSync(join(home, 'mongod.lock'), `${process.pid}\n`);
    expect((await runCli(['verify', home])).exitCode).to.equal(0);
  });

  it('does not treat WiredTiger.lock as a running server', async () => {
    expect(readFileSync(join(SMALL, 'WiredTiger.lock'), 'utf8')).to.equal('WiredTiger lock file\n');
    expect((await runCli(['verify', SMALL])).exitCode).to.equal(0);
  });

  it('exits 0 on warnings and 2 with --strict', async () => {
    const home = copyFixture('small', await homes.directory());
    writeFileSync(join(home, 'stray.wt'), readFileSync(join(home, 'WiredTigerHS.wt')));
    const loose = await runCliJson<{ ok: boolean; warnings: number; findings: Array<{ code: string; location: { file: string } }> }>(['verify', home]);
    expect(loose.exitCode).to.equal(0);
    expect(loose.document.warnings).to.equal(1);
    expect(loose.document.findings[0]).to.deep.include({ code: 'FILE_UNREFERENCED' });
    expect(loose.document.findings[0]!.location.file).to.equal('stray.wt');
    const strict = await runCli(['verify', home, '--strict']);
    expect(strict.exitCode).to.equal(2);
    expect(strict.stdout).to.contain('warning FILE_UNREFERENCED: stray.wt is named by no metadata entry (file stray.wt)');
  });

  it('warns of a damaged old page in free space, which no checkpoint reads, and exits 2 on it with --strict', async () => {
    // small/home: WiredTiger.wt keeps an old page at 24576 that no checkpoint references.
    const home = copyFixture('small', await homes.directory());
    const path = join(home, 'WiredTiger.wt');
    const bytes = readFileSync(path);
    bytes[24576 + 44] = bytes[24576 + 44]! ^ 0xa5;
    writeFileSync(path, bytes);
    const loose = await runCliJson<{ ok: boolean; errors: number; warnings: number; findings: Array<{ code: string; location: { file: string; offset: number } }> }>(['verify', home]);
    expect(loose.exitCode, loose.stderr).to.equal(0);
    expect(loose.document.errors).to.equal(0);
    expect(loose.document.findings.map((f) => [f.code, f.location.file, f.location.offset])).to.deep.equal([['FREE_SPACE_DAMAGED', 'WiredTiger.wt', 24576]]);
    const strict = await runCli(['verify', home, '--strict']);
    expect(strict.exitCode).to.equal(2);
    expect(strict.stdout).to.contain('warning FREE_SPACE_DAMAGED: ').and.contain('in space no checkpoint uses');
  });

  it('exits 0 and 2 from header and page on sound and damaged blocks', async () => {
    const home = copyFixture('small', await homes.directory());
    const sound = await runCli(['page', home, '--file', 'strings.wt', '--offset', '4096', '--size', '4096']);
    expect(sound.exitCode, sound.stderr).to.equal(0);
    expect(sound.stdout).to.contain('checksum 0x').and.contain('(ok)').and.contain('cells (20):');
    expect(sound.stdout).to.contain('Key (short), 11 bytes, "key000000\\00"');
    const bytes = readFileSync(join(home, 'strings.wt'));
    bytes[4096 + 60] = bytes[4096 + 60]! ^ 1;
    writeFileSync(join(home, 'strings.wt'), bytes);
    const damaged = await runCli(['page', home, '--file', 'strings.wt', '--offset', '4096', '--size', '4096']);
    expect(damaged.exitCode).to.equal(2);
    expect(damaged.stdout).to.contain('MISMATCH');
    expect((await runCli(['header', join(home, 'strings.wt')])).exitCode).to.equal(0);
  });

  it('reads a home given by a relative path and a page log at a custom path', async () => {
    const directory = await homes.directory();
    copyFixture('small', directory);
    expect((await runCli(['verify', 'small'], { cwd: directory })).exitCode).to.equal(0);
    mkdirSync(join(directory, 'nowhere'));
    const result = await runCli(['log', 'small', '--page-log', 'nowhere'], { cwd: directory });
    expect(result.exitCode).to.equal(1);
    expect(result.stderr).to.contain('no page log');
  });
});
