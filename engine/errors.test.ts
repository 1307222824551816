import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorClass, ErrorCode, errorClassOf, isCorruption, PageLogError, StateError } from './errors.js';

const corruptionCodes = [
  ErrorCode.FormatInvalid, ErrorCode.FormatTruncated, ErrorCode.ChecksumMismatch, ErrorCode.Corruption,
  ErrorCode.PageLogMismatch, ErrorCode.CheckpointMetadataCorrupt, ErrorCode.KeyPageInvalid, ErrorCode.KeyPageChecksum,
  ErrorCode.LogCorrupt, ErrorCode.LogMismatch, ErrorCode.MetadataCheckpointMissing,
];

describe('errors: one classification of codes', () => {
  it('classes damaged or contradictory stored data as corruption, and nothing else', () => {
    for (const code of Object.values(ErrorCode)) {
      const expected = (corruptionCodes as string[]).includes(code) ? ErrorClass.Corruption : ErrorClass.CouldNotRun;
      expect(errorClassOf(code), code).to.equal(expected);
      expect(isCorruption(code), code).to.equal(expected === ErrorClass.Corruption);
    }
  });

  it('classes the states of a process and a failing key provider as could-not-run', () => {
    for (const code of [ErrorCode.Busy, ErrorCode.Closed, ErrorCode.ReadOnly, ErrorCode.KeyProvider, ErrorCode.MissingFile, ErrorCode.Io, ErrorCode.NoSpace, ErrorCode.StorageReplaced]) {
      expect(isCorruption(new StateError(code, 'x')), code).to.equal(false);
    }
    expect(isCorruption(new PageLogError('short', {}, ErrorCode.FormatTruncated))).to.equal(true);
    expect(errorClassOf('NO_SUCH_CODE')).to.equal(ErrorClass.CouldNotRun);
  });

  it('gives every code its class in the README table', () => {
    // dist/engine/errors.test.js or engine/errors.test.ts: the README is in engine/ of the source tree.
    const here = dirname(fileURLToPath(import.meta.url));
    const readme = readFileSync(join(here.replace(/\/dist\/engine$/, '/engine'), 'README.md'), 'utf8');
    for (const code of Object.values(ErrorCode)) {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${code}\` |`));
      expect(row, `README row for ${code}`).to.be.a('string');
      expect(row, code).to.include(`| ${errorClassOf(code)} |`);
    }
  });
});
