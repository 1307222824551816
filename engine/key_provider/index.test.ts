import { expect } from 'chai';
import * as keyProvider from './index.js';

describe('key_provider public entry', () => {
  it('exports exactly the documented values', () => {
    expect(Object.keys(keyProvider).sort()).to.deep.equal([
      'ExampleKeyBlobLayout',
      'KeyProviderPageLayout',
      'KeyProviderPageOffset',
      'MockKeyBlobLayout',
      'createExampleKeyProvider',
      'createMockKeyProvider',
      'createNoopKeyProvider',
      'decodeKeyProviderPage',
      'describeKeyBlob',
      'encodeKeyProviderPage',
      'inspectKeyProviderPage',
      'loadKeyProvider',
      'mockKeyBlob',
      'parseKeyProviderConfig',
      'persistProviderKey',
      'readPersistedKey',
      'shippedKeyProviderNames',
    ]);
  });

  it('describes a blob of each shipped module by its content', async () => {
    const example = keyProvider.createExampleKeyProvider();
    await example.loadKey(undefined);
    const exampleBlob = (await example.getKey({ timestamp: 1n })).blob;
    expect(keyProvider.describeKeyBlob(exampleBlob)).to.include({ module: 'example', keyVersion: 1 });
    expect(keyProvider.describeKeyBlob(keyProvider.mockKeyBlob(3))).to.include({ module: 'mock', keyVersion: 3 });
    expect(keyProvider.describeKeyBlob(Buffer.alloc(32))).to.include({ module: 'noop', keyVersion: 1 });
    expect(keyProvider.describeKeyBlob(Buffer.from('something else'))).to.deep.equal({ module: 'unknown', length: 14 });
  });
});
