import { expect } from 'chai';
import { EngineError, ErrorCode, isCorruption, PageLogError, StateError } from '../../engine/index.js';
import { ErrorCodes } from '../errors/index.js';
import { engineErrorToCommandError } from './engine_errors.js';

describe('storage: engine errors as command replies', () => {
  it('replies DataCorruptionDetected exactly for the codes the engine classes as corruption', () => {
    for (const code of Object.values(ErrorCode)) {
      const reply = engineErrorToCommandError(new EngineError(code, 'x', { file: 'f.wt' }));
      expect(reply.code === ErrorCodes.DataCorruptionDetected, code).to.equal(isCorruption(code));
      expect(reply.extra, code).to.deep.include({ engineError: { code, file: 'f.wt' } });
    }
  });

  it('replies DataCorruptionDetected for a truncated page-log store, and not for a busy or read-only engine', () => {
    expect(engineErrorToCommandError(new PageLogError('short', { file: 'data.mdb', expected: 8192, actual: 100 }, ErrorCode.FormatTruncated)).code)
      .to.equal(ErrorCodes.DataCorruptionDetected);
    expect(engineErrorToCommandError(new StateError(ErrorCode.Busy, 'busy')).code).to.equal(ErrorCodes.InternalError);
    expect(engineErrorToCommandError(new StateError(ErrorCode.ReadOnly, 'read-only')).code).to.equal(ErrorCodes.InternalError);
    expect(engineErrorToCommandError(new StateError(ErrorCode.Closed, 'closed')).code).to.equal(ErrorCodes.InterruptedAtShutdown);
  });
});
