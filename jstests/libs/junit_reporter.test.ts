import { expect } from 'chai';
import { execa } from 'execa';
import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { dir } from 'tmp-promise';
import { repositoryRoot } from './report.js';

describe('jstests: the JUnit file CI reads', function () {
  this.timeout(120_000);

  it('names every test, the failure with its stack, and the dbpath and log a failed scenario kept', async () => {
    const root = repositoryRoot();
    const out = await dir({ unsafeCleanup: true });
    const output = join(out.path, 'reports', 'junit.xml');
    try {
      const mocha = createRequire(import.meta.url).resolve('mocha/bin/mocha.js');
      const run = await execa(process.execPath, [
        mocha, '--no-config', '--reporter', './dist/jstests/libs/junit_reporter.cjs', '--reporter-option', `output=${output}`,
        'dist/jstests/libs/cases/failing_scenario.js',
      ], { cwd: root, reject: false, all: true });
      expect(run.exitCode, run.all).to.equal(1);
      expect(run.all, 'the spec output is still printed').to.include('1 passing');
      const xml = readFileSync(output, 'utf8');
      expect(xml).to.match(/<testsuites name="mocha" tests="3" failures="1"/);
      expect(xml).to.match(/<testsuite name="dist\/jstests\/libs\/cases\/failing_scenario\.js" [^>]*tests="3" failures="1" errors="0" skipped="1"/);
      expect(xml).to.match(/<testcase classname="a scenario that fails on purpose" name="skips itself" [^>]*>\s*<skipped\/>/);
      expect(xml).to.match(/<testcase classname="a scenario that fails on purpose" name="passes" [^>]*\/>/);
      expect(xml).to.include('<failure message="expected &lt;failure&gt; &amp; kept files" type="Error">');
      const dbpath = /<property name="kept.dbpath" value="([^"]+)"\/>/.exec(xml)?.[1];
      const log = /<property name="kept.log" value="([^"]+)"\/>/.exec(xml)?.[1];
      expect(dbpath, xml).to.be.a('string');
      expect(existsSync(dbpath!), 'the named dbpath exists').to.equal(true);
      expect(readFileSync(log!, 'utf8'), 'the named log is the server log').to.include('Waiting for connections');
      expect(xml).to.include(`[[ATTACHMENT|${dbpath}]]`);
      await rm(/<property name="kept.runDirectory" value="([^"]+)"\/>/.exec(xml)![1]!, { recursive: true, force: true });
    } finally {
      await out.cleanup();
    }
  });
});
