import { expect } from 'chai';
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const projectRoot = resolve(here, '..', '..', '..');

describe('jstests: the environment of the processes tests start', () => {
  it('both mocha configurations load test_environment.ts before any test file', () => {
    for (const config of ['.mocharc.json', join('jstests', '.mocharc.json')]) {
      const { require } = JSON.parse(readFileSync(join(projectRoot, config), 'utf8')) as { require?: string[] };
      expect(require, config).to.deep.equal(['./dist/jstests/libs/test_environment.js']);
    }
  });

  it('leaves NODE_EXTRA_CA_CERTS out of what a process started after it inherits', async () => {
    // A process that loads it, as mocha does, with the variable set, starts a child of its own.
    const child = "process.stdout.write(String(process.env.NODE_EXTRA_CA_CERTS))";
    const parent = `process.stdout.write(require('node:child_process').execFileSync(process.execPath, ['-e', ${JSON.stringify(child)}]))`;
    const { stdout } = await execa(process.execPath, ['--require', join(here, 'test_environment.js'), '-e', parent], {
      env: { NODE_EXTRA_CA_CERTS: '/nonexistent/certificates.pem' },
    });
    expect(stdout).to.equal('undefined');
  });
});
