import { cpSync, mkdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { dir, type DirectoryResult } from 'tmp-promise';
import { openConnection } from '../../engine/index.js';
import { testHomes } from '../../engine/testing/homes.js';
import { writeSampleHome } from '../../engine/verify/testing.js';
import { runCli, runCliJson } from './testing.js';

interface VerifyDocument {
  exitCode: number;
  findings: Array<{ severity: string; code: string; message: string; location: { file?: string } }>;
}

/** Every subcommand that reads a whole home. */
const HOME_COMMANDS: string[][] = [['verify'], ['list'], ['dump', 'table:t'], ['stat'], ['turtle'], ['keys'], ['log']];

describe('wt-readpath: a disaggregated home without a sound page log is corruption', function () {
  this.timeout(180_000);
  const homes = testHomes('readpath-soundness-');
  let pristine: string;

  let pristineDirectory: DirectoryResult;

  before(async () => {
    // One sample home for the suite, copied per case.
    pristineDirectory = await dir({ unsafeCleanup: true, prefix: 'readpath-soundness-' });
    pristine = pristineDirectory.path;
    const connection = await writeSampleHome(openConnection, pristine, { storage: 'disagg' });
    await connection.close();
  });
  after(() => pristineDirectory.cleanup());

  async function damaged(damage: (home: string) => void): Promise<string> {
    const home = join(await homes.directory(), 'home');
    cpSync(pristine, home, { recursive: true });
    damage(home);
    return home;
  }

  it('verifies the pristine home clean', async () => {
    const home = await damaged(() => undefined);
    expect((await runCli(['verify', home])).exitCode).to.equal(0);
  });

  it('exits 2 with PAGE_LOG_MISSING when pagelog/ is gone', async () => {
    const home = await damaged((h) => rmSync(join(h, 'pagelog'), { recursive: true }));
    const verify = await runCliJson<VerifyDocument>(['verify', home]);
    expect(verify.exitCode, verify.stderr).to.equal(2);
    const finding = verify.document.findings.find((f) => f.code === 'PAGE_LOG_MISSING');
    expect(finding, JSON.stringify(verify.document.findings)).to.include({ severity: 'error' });
    expect(finding!.location.file).to.equal('pagelog');
    for (const command of HOME_COMMANDS) {
      const result = await runCli([command[0]!, home, ...command.slice(1)]);
      expect(result.exitCode, `${command.join(' ')}: ${result.stdout}${result.stderr}`).to.equal(2);
      expect(result.stdout + result.stderr, command.join(' ')).to.include('data.mdb').and.include('LSN');
    }
    expect((await runCli(['dump', home, 'table:local'])).exitCode).to.equal(2);
  });

  it('exits 2 with PAGE_LOG_UNREADABLE when pagelog is a file or data.mdb a directory', async () => {
    const asFile = await damaged((h) => {
      rmSync(join(h, 'pagelog'), { recursive: true });
      writeFileSync(join(h, 'pagelog'), 'not a directory');
    });
    const asDirectory = await damaged((h) => {
      rmSync(join(h, 'pagelog', 'data.mdb'));
      mkdirSync(join(h, 'pagelog', 'data.mdb'));
    });
    for (const home of [asFile, asDirectory]) {
      const verify = await runCliJson<VerifyDocument>(['verify', home]);
      expect(verify.exitCode, verify.stderr).to.equal(2);
      expect(verify.document.findings.map((f) => f.code)).to.include('PAGE_LOG_UNREADABLE');
      for (const command of HOME_COMMANDS) {
        const result = await runCli([command[0]!, home, ...command.slice(1)]);
        expect(result.exitCode, `${command.join(' ')}: ${result.stdout}${result.stderr}`).to.equal(2);
      }
    }
  });

  it('exits 2 from every subcommand, never by a signal, on a truncated data.mdb, naming the file and both sizes', async () => {
    const size = statSync(join(pristine, 'pagelog', 'data.mdb')).size;
    for (const cut of [0, 5000, Math.floor(size / 2), size - 1]) {
      const home = await damaged((h) => truncateSync(join(h, 'pagelog', 'data.mdb'), cut));
      for (const command of HOME_COMMANDS) {
        const result = await runCli([command[0]!, home, ...command.slice(1)]);
        expect(result.exitCode, `${command.join(' ')} on data.mdb cut to ${cut}: ${result.stderr}`).to.equal(2);
        expect(result.stdout + result.stderr, command.join(' ')).to.include('data.mdb').and.include(`${cut} bytes`);
        expect(result.stderr, 'no stack trace').not.to.match(/\n\s+at /);
      }
    }
  });

  it('warns of an empty data.mdb only in a home that pairs with no checkpoint, as the engine opens it as new; exit 2 where one is paired', async () => {
    const unpaired = await homes.directory();
    await (await openConnection(unpaired, { create: true, storage: 'local' })).close();
    mkdirSync(join(unpaired, 'pagelog'));
    writeFileSync(join(unpaired, 'pagelog', 'data.mdb'), '');
    const verify = await runCliJson<VerifyDocument>(['verify', unpaired]);
    expect(verify.exitCode, verify.stdout).to.equal(0);
    expect(verify.document.findings.map((f) => `${f.severity} ${f.code}`)).to.deep.equal(['warning PAGE_LOG_EMPTY']);
    expect((await runCli(['log', unpaired])).exitCode).to.equal(0);

    const paired = await damaged((h) => truncateSync(join(h, 'pagelog', 'data.mdb'), 0));
    expect((await runCli(['verify', paired])).exitCode).to.equal(2);
    expect((await runCli(['log', paired])).exitCode).to.equal(2);
  });

  it('exits 2 on a garbage data.mdb', async () => {
    const size = statSync(join(pristine, 'pagelog', 'data.mdb')).size;
    const home = await damaged((h) => writeFileSync(join(h, 'pagelog', 'data.mdb'), Buffer.alloc(size, 0x5a)));
    for (const command of HOME_COMMANDS) {
      const result = await runCli([command[0]!, home, ...command.slice(1)]);
      expect(result.exitCode, `${command.join(' ')}: ${result.stderr}`).to.equal(2);
      expect(result.stdout + result.stderr).to.include('data.mdb').and.include('magic');
    }
  });
});
