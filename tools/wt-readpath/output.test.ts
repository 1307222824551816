import { expect } from 'chai';
import { ErrorCode, PageLogError, StateError, KeyProviderError } from '../../engine/errors.js';
import { classifyError, ExitCode, UsageError } from './output.js';

describe('wt-readpath: exit code of an error', () => {
  it('exits 1 (could not run) for a busy, closed or read-only engine and a failing key provider', () => {
    for (const code of [ErrorCode.Busy, ErrorCode.Closed, ErrorCode.ReadOnly]) {
      expect(classifyError(new StateError(code, 'x')).code, code).to.equal(ExitCode.CouldNotRun);
    }
    expect(classifyError(new KeyProviderError('the key provider failed')).code).to.equal(ExitCode.CouldNotRun);
    expect(classifyError(new UsageError('bad usage')).code).to.equal(ExitCode.CouldNotRun);
    expect(classifyError(new Error('anything else')).code).to.equal(ExitCode.CouldNotRun);
  });

  it('exits 2 (corruption) for damaged stored data, as the engine classes it', () => {
    for (const code of [ErrorCode.FormatTruncated, ErrorCode.ChecksumMismatch, ErrorCode.Corruption, ErrorCode.CheckpointMetadataCorrupt, ErrorCode.PageLogMismatch]) {
      expect(classifyError(new PageLogError('damaged', {}, code)).code, code).to.equal(ExitCode.Corruption);
    }
  });
});
