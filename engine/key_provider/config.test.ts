import { expect } from 'chai';
import { ErrorCode, KeyProviderError } from '../errors.js';
import { parseKeyProviderConfig, rejectUnknownConfigKeys } from './config.js';

function configError(action: () => unknown): KeyProviderError {
  try {
    action();
  } catch (error) {
    expect(error).to.be.instanceOf(KeyProviderError);
    return error as KeyProviderError;
  }
  expect.fail('expected a KeyProviderError');
}

describe('key-provider configuration strings', () => {
  it('parses key=value pairs, trimming spaces', () => {
    expect(parseKeyProviderConfig(' key_expires = 30 , rotate_every=2')).to.deep.equal({ key_expires: '30', rotate_every: '2' });
  });

  it('gives an empty record for an absent or blank string', () => {
    expect(parseKeyProviderConfig(undefined)).to.deep.equal({});
    expect(parseKeyProviderConfig('  ')).to.deep.equal({});
  });

  it('reads a bare key as true, as WiredTiger does', () => {
    expect(parseKeyProviderConfig('verbose,level=2')).to.deep.equal({ verbose: 'true', level: '2' });
  });

  it('keeps commas inside quoted values and unescapes quotes', () => {
    expect(parseKeyProviderConfig('path="/a,b/c",label="say \\"hi\\""')).to.deep.equal({ path: '/a,b/c', label: 'say "hi"' });
  });

  it('keeps a parenthesised value as raw text', () => {
    expect(parseKeyProviderConfig('servers=(a=1,b=2),x=3')).to.deep.equal({ servers: '(a=1,b=2)', x: '3' });
  });

  it('lets a later duplicate key win and skips empty items', () => {
    expect(parseKeyProviderConfig('a=1,,a=2,')).to.deep.equal({ a: '2' });
  });

  it('stores a "__proto__" key as an ordinary entry', () => {
    const parsed = parseKeyProviderConfig('__proto__=x');
    expect(Object.keys(parsed)).to.deep.equal(['__proto__']);
    expect(Object.getPrototypeOf(parsed)).to.equal(Object.prototype);
  });

  it('rejects malformed strings with CONFIG_INVALID and an offset', () => {
    for (const [text, offset] of [
      ['a=1,=2', 4],
      ['a="open', 2],
      ['a=(1,b=2', 2],
      ['a=1)', 3],
      ['a="x"y', 2],
      ['bad key=1', 0],
    ] as const) {
      const error = configError(() => parseKeyProviderConfig(text));
      expect(error.code, text).to.equal(ErrorCode.ConfigInvalid);
      expect(error.location.offset, text).to.equal(offset);
    }
  });

  it('names the first unknown key', () => {
    const error = configError(() => rejectUnknownConfigKeys('example', { key_expires: '1', keyexpires: '2' }, ['key_expires']));
    expect(error.code).to.equal(ErrorCode.ConfigUnknownKey);
    expect(error.location.key).to.equal('keyexpires');
    expect(error.message).to.include('it accepts key_expires');
  });
});
