import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES } from '../../engine/verify/testing.js';
import { measureDump, measureVerify } from './index.js';

describe('wt-readpath as a library (for benchmarks)', () => {
  const home = join(FIXTURES, 'small', 'home');

  it('measures a verification: bytes and pages read, records met, no findings', async () => {
    const measured = await measureVerify(home);
    expect(measured).to.include({ errors: 0, warnings: 0, records: 16, pages: 8, bytes: 8 * 4096 });
    expect(measured.millis).to.be.a('number');
  });

  it('measures a dump and hands over exactly the text the command prints', async () => {
    let text = '';
    const measured = await measureDump(home, 'strings', { write: (chunk) => { text += chunk; } });
    const expected = readFileSync(join(FIXTURES, 'small', 'expected', 'dump.txt'), 'utf8');
    expect(text === expected).to.equal(true);
    expect(measured).to.include({ records: 10, bytes: Buffer.byteLength(expected), errors: 0 });
  });

  it('refuses a table that does not exist', async () => {
    let thrown: unknown;
    try {
      await measureDump(home, 'absent');
    } catch (error) {
      thrown = error;
    }
    expect((thrown as { code?: string }).code).to.equal('NOT_FOUND');
  });
});
