import { expect } from 'chai';
import { execa } from 'execa';

describe('jstests: the environment of the processes tests start', () => {
  it('has no NODE_EXTRA_CA_CERTS (see test_environment.ts)', async () => {
    const { stdout } = await execa(process.execPath, ['-e', 'process.stdout.write(String(process.env.NODE_EXTRA_CA_CERTS))']);
    expect(stdout).to.equal('undefined');
  });
});
