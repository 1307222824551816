import { writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { dir, type DirectoryResult } from 'tmp-promise';
import { ErrorCode, KeyProviderError } from '../errors.js';
import { loadKeyProvider } from './load.js';

async function rejection(promise: Promise<unknown>): Promise<KeyProviderError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(KeyProviderError);
    return error as KeyProviderError;
  }
  expect.fail('expected a rejection');
}

/** A third-party module in plain JavaScript, as a user would write one. */
const thirdPartyModule = `
export default function createKeyProvider(config) {
  let version = 0;
  let offered = false;
  return {
    name: 'fixture',
    config,
    async loadKey(persisted) { version = persisted === undefined ? 0 : persisted.blob[0]; },
    async getKey() {
      if (version > 0) return { changed: false, blob: Buffer.alloc(0) };
      offered = true;
      return { changed: true, blob: Buffer.from([1]) };
    },
    async onKeyUpdate(outcome) { if (offered && 'lsn' in outcome) version = 1; offered = false; },
    async terminate() {},
    status() { return { module: 'fixture', keyVersion: version }; },
  };
}
`;

describe('loading key providers', () => {
  let temporary: DirectoryResult;

  beforeEach(async () => {
    temporary = await dir({ unsafeCleanup: true });
  });

  afterEach(async () => {
    await temporary.cleanup();
  });

  async function writeModule(name: string, source: string): Promise<string> {
    const path = join(temporary.path, name);
    await writeFile(path, source);
    return path;
  }

  it('loads the shipped modules by name with their configuration', async () => {
    const example = await loadKeyProvider('example', 'key_expires=30');
    expect(example.keyExpiresSeconds).to.equal(30);
    const mock = await loadKeyProvider('mock', 'rotate_every=2');
    expect(mock.calls).to.deep.equal([]);
    expect((await loadKeyProvider('noop')).name).to.equal('noop');
  });

  it('rejects an unknown module name, listing the shipped ones', async () => {
    const error = await rejection(loadKeyProvider('vault'));
    expect(error.code).to.equal(ErrorCode.KeyProvider);
    expect(error.message).to.include('"vault"').and.include('example, mock, noop');
  });

  it('loads an ES module from an absolute path through its default export', async () => {
    const path = await writeModule('provider.mjs', thirdPartyModule);
    const provider = await loadKeyProvider(path, 'region=eu,label="a,b"');
    expect(provider.name).to.equal('fixture');
    expect((provider as unknown as { config: unknown }).config).to.deep.equal({ region: 'eu', label: 'a,b' });
    await provider.loadKey(undefined);
    const update = await provider.getKey({ timestamp: 1n });
    expect(update.changed).to.equal(true);
    await provider.onKeyUpdate({ lsn: 3 });
    expect(provider.status()).to.deep.equal({ module: 'fixture', keyVersion: 1 });
  });

  it('loads an ES module from a path relative to the working directory', async () => {
    const path = await writeModule('relative.mjs', thirdPartyModule);
    const relativePath = relative(process.cwd(), path);
    const provider = await loadKeyProvider(relativePath.startsWith('.') ? relativePath : `./${relativePath}`);
    expect(provider.name).to.equal('fixture');
  });

  it('accepts a named createKeyProvider export', async () => {
    const path = await writeModule('named.mjs', thirdPartyModule.replace('export default function', 'export function'));
    expect((await loadKeyProvider(path)).name).to.equal('fixture');
  });

  it('accepts a factory that resolves asynchronously', async () => {
    const path = await writeModule('async.mjs', `${thirdPartyModule.replace('export default function', 'function')}
export default async (config) => createKeyProvider(config);`);
    expect((await loadKeyProvider(path)).name).to.equal('fixture');
  });

  it('loads the reference noop module from its file', async () => {
    const extension = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
    const path = fileURLToPath(new URL(`./noop.${extension}`, import.meta.url));
    const provider = await loadKeyProvider(path);
    expect(provider.name).to.equal('noop');
  });

  it('rejects a module without a factory, naming the path', async () => {
    const path = await writeModule('empty.mjs', 'export const version = 1;\n');
    const error = await rejection(loadKeyProvider(path));
    expect(error.message).to.include('does not export a factory');
    expect(error.location.file).to.equal(path);
    expect(error.message).to.include(path);
  });

  it('rejects a module that cannot be imported, naming the path', async () => {
    const path = await writeModule('broken.mjs', 'export default function (\n');
    const error = await rejection(loadKeyProvider(path));
    expect(error.message).to.include('could not import');
    expect(error.location.file).to.equal(path);
    expect(error.cause).to.be.instanceOf(SyntaxError);
  });

  it('rejects a path that does not exist with MISSING_FILE', async () => {
    const path = join(temporary.path, 'absent.mjs');
    const error = await rejection(loadKeyProvider(path));
    expect(error.code).to.equal(ErrorCode.MissingFile);
    expect(error.location.file).to.equal(path);
  });

  it('rejects a factory result that lacks interface methods, naming the method', async () => {
    const path = await writeModule('partial.mjs', "export default () => ({ name: 'partial', async loadKey() {} });\n");
    const error = await rejection(loadKeyProvider(path));
    expect(error.message).to.include('getKey()');
    expect(error.location.file).to.equal(path);
  });

  it('wraps an error thrown by a module factory, naming the path', async () => {
    const path = await writeModule('throws.mjs', "export default () => { throw new TypeError('missing region'); };\n");
    const error = await rejection(loadKeyProvider(path));
    expect(error.message).to.include('missing region');
    expect(error.location.file).to.equal(path);
  });

  it('rejects a malformed configuration string before loading anything', async () => {
    const error = await rejection(loadKeyProvider('example', 'key_expires="30'));
    expect(error.code).to.equal(ErrorCode.ConfigInvalid);
  });
});
