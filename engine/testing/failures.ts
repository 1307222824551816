import { expect } from 'chai';
import { EngineError } from '../errors.js';

/** The `EngineError` that `work` rejects with; fails the test when it resolves or throws anything else. */
export async function engineFailure(work: () => Promise<unknown>): Promise<EngineError> {
  try {
    await work();
  } catch (error) {
    expect(error, String((error as Error)?.stack)).to.be.instanceOf(EngineError);
    return error as EngineError;
  }
  return expect.fail('expected an EngineError');
}

/** The `EngineError` that `action` throws synchronously; fails the test when it returns or throws anything else. */
export function engineFailureNow(action: () => unknown): EngineError {
  try {
    action();
  } catch (error) {
    expect(error, String((error as Error)?.stack)).to.be.instanceOf(EngineError);
    return error as EngineError;
  }
  return expect.fail('expected an EngineError');
}
