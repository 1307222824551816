/**
 * The persisted page alone must be enough to restore a provider: a process that rotates keys
 * and is then killed without `terminate` leaves pages another process can open from.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { execa } from 'execa';
import { dir, type DirectoryResult } from 'tmp-promise';

/** Runs in a child process: the first run writes key pages and dies; the second reopens. */
const childScript = `
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
const [entry, home, mode, moduleName, config] = process.argv.slice(2);
const keyProvider = await import(entry);

if (mode === 'write') {
  const provider = await keyProvider.loadKeyProvider(moduleName, config);
  await provider.loadKey(undefined);
  let lsn;
  let nextLsn = 1;
  for (let timestamp = 10n; timestamp <= 30n; timestamp += 10n) {
    provider.requestRotation();
    const result = await keyProvider.persistProviderKey(provider, {
      timestamp,
      previousLsn: lsn,
      writePage: async (page) => {
        const written = nextLsn++;
        await writeFile(join(home, 'page-' + written), page);
        return written;
      },
    });
    lsn = result.lsn;
    await writeFile(join(home, 'last-lsn'), String(lsn));
  }
  process.kill(process.pid, 'SIGKILL');
} else {
  const lsn = Number(await readFile(join(home, 'last-lsn'), 'utf8'));
  const persisted = keyProvider.readPersistedKey(await readFile(join(home, 'page-' + lsn)), { lsn, tableId: 26, pageId: 1 });
  const provider = await keyProvider.loadKeyProvider(moduleName, config);
  await provider.loadKey(persisted);
  const update = await provider.getKey({ timestamp: 40n });
  console.log(JSON.stringify({
    lsn,
    timestamp: String(persisted.timestamp),
    status: provider.status(),
    changed: update.changed,
    blob: keyProvider.describeKeyBlob(persisted.blob),
  }));
  await provider.terminate();
}
`;

describe('restoring a key provider in a new process', () => {
  let temporary: DirectoryResult;
  const runningTypeScript = import.meta.url.endsWith('.ts');
  const entry = new URL(runningTypeScript ? './index.ts' : './index.js', import.meta.url).href;
  const loader = runningTypeScript ? ['--import', import.meta.resolve('tsx')] : [];

  beforeEach(async () => {
    temporary = await dir({ unsafeCleanup: true });
    await writeFile(join(temporary.path, 'child.mjs'), childScript);
  });

  afterEach(async () => {
    await temporary.cleanup();
  });

  function runChild(mode: string, moduleName: string, config: string) {
    return execa(process.execPath, [...loader, join(temporary.path, 'child.mjs'), entry, temporary.path, mode, moduleName, config], {
      reject: false,
      timeout: 30_000,
    });
  }

  for (const moduleName of ['example', 'mock'] as const) {
    it(`restores the ${moduleName} module's last rotated key after the writer is killed`, async () => {
      const writer = await runChild('write', moduleName, '');
      expect(writer.signal, writer.stderr).to.equal('SIGKILL');

      const reader = await runChild('read', moduleName, '');
      expect(reader.exitCode, reader.stderr).to.equal(0);
      const report = JSON.parse(reader.stdout) as Record<string, unknown>;
      expect(report).to.deep.include({ lsn: 3, timestamp: '30', status: { module: moduleName, keyVersion: 3 }, changed: false });
      expect(report.blob).to.include({ module: moduleName, valid: true, keyVersion: 3 });
    });
  }
});
