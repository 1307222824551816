import { expect } from 'chai';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ExampleKeyBlobLayout, readPersistedKey } from '../../engine/key_provider/index.js';
import { KEY_PROVIDER_TABLE_ID, openPageLog } from '../../engine/page_log/index.js';
import { runReadPath, shimsPerTest } from '../libs/index.js';

/** The ways a key could be printed: hex (either case), base64, base64url, raw. */
function printedForms(key: Buffer): string[] {
  const hex = key.toString('hex');
  return [hex, hex.toUpperCase(), key.toString('base64'), key.toString('base64url'), hex.slice(0, 32), hex.slice(32), key.toString('base64').slice(0, 20)];
}

/** Where in `text` a form of one of the keys appears (also with separators between hex pairs removed). */
function leaks(text: string, keys: Buffer[]): string[] {
  const found: string[] = [];
  const compact = text.replace(/(?:0x|[\s:,\-'"[\]])/gi, '');
  const raw = Buffer.from(text, 'latin1');
  keys.forEach((key, index) => {
    for (const form of printedForms(key)) {
      if (text.includes(form) || compact.includes(form)) found.push(`key ${index + 1} as ${form.slice(0, 12)}...`);
    }
    if (raw.includes(key)) found.push(`key ${index + 1} as raw bytes`);
  });
  return found;
}

describe('security: key bytes never appear in logs or tool output', function () {
  const shims = shimsPerTest();

  it('keeps every key of the example provider out of the server logs, replies and every wt-readpath command', async () => {
    // Every page version kept: each rotated-out key stays in the log for the checks below.
    const shim = await shims.launch({ replSet: 'rs0', keyProvider: 'example', setParameters: { enableTestCommands: 1, logLevel: 5 }, args: ['--pageLogRetain', 'all'] });
    const outputs = new Map<string, string>();
    let client = await shim.client();
    const admin = client.db('admin');
    await client.db('app').collection('c').insertMany(Array.from({ length: 200 }, (_, index) => ({ _id: index, text: `document ${index}` })) as never[]);
    for (let rotation = 0; rotation < 3; rotation++) outputs.set(`rotateKey ${rotation}`, JSON.stringify(await admin.command({ rotateKey: 1, checkpoint: true })));
    await admin.command({ rotateKey: 1 });
    outputs.set('fsync', JSON.stringify(await admin.command({ fsync: 1 })));
    outputs.set('serverStatus', JSON.stringify(await admin.command({ serverStatus: 1 })));
    outputs.set('getLog', JSON.stringify(await admin.command({ getLog: 'global' })));
    outputs.set('getCmdLineOpts', JSON.stringify(await admin.command({ getCmdLineOpts: 1 })));
    await shim.stop();
    // A restart hands the persisted key back to the provider (loadKey): logged too.
    await shim.start();
    client = await shim.client();
    outputs.set('serverStatus after restart', JSON.stringify(await client.db('admin').command({ serverStatus: 1 })));
    await shim.stop();

    // The keys, read the way the engine reads them: key-provider pages by LSN, then the blob.
    const keyPages = JSON.parse((await runReadPath(['keys', '--json', shim.dbpath])).stdout) as { pages: { lsn: number }[] };
    const keys: Buffer[] = [];
    const log = await openPageLog(join(shim.dbpath, 'pagelog'), { readOnly: true });
    try {
      for (const { lsn } of keyPages.pages) {
        const record = log.openHandle(KEY_PROVIDER_TABLE_ID).get(1, lsn).find((candidate) => candidate.lsn === lsn);
        expect(record, `key-provider page at LSN ${lsn}`).to.not.equal(undefined);
        const { blob } = readPersistedKey(record!.image, { lsn });
        keys.push(Buffer.from(blob.subarray(ExampleKeyBlobLayout.keyOffset, ExampleKeyBlobLayout.keyOffset + ExampleKeyBlobLayout.keySize)));
      }
    } finally {
      await log.close();
    }
    expect(keys.length, 'the first key and three rotations at least').to.be.at.least(4);
    expect(new Set(keys.map((key) => key.toString('hex'))).size, 'distinct keys').to.equal(keys.length);

    for (const file of await readdir(shim.directory!)) {
      if (file.endsWith('.log')) outputs.set(file, await readFile(join(shim.directory!, file), 'utf8'));
    }
    const home = shim.dbpath;
    const commands: string[][] = [
      ['verify', home], ['verify', '--json', home], ['list', '-v', home], ['list', '-c', home], ['list', '-v', '--json', home],
      ['turtle', home], ['turtle', '--json', home], ['keys', home], ['keys', '--json', home], ['log', home], ['log', '--json', home],
      ['stat', home], ['stat', '--json', home], ['dump', home, 'table:app.c'], ['dump', '-x', home, 'table:local.oplog.rs'],
      ['header', join(home, 'local.oplog.rs.wt')],
      ...keyPages.pages.flatMap(({ lsn }) => [
        ['page', home, '--table-id', String(KEY_PROVIDER_TABLE_ID), '--page-id', '1', '--lsn', String(lsn)],
        ['page', home, '--json', '--table-id', String(KEY_PROVIDER_TABLE_ID), '--page-id', '1', '--lsn', String(lsn)],
      ]),
    ];
    for (const args of commands) {
      const result = await runReadPath(args);
      expect(result.exitCode, `wt-readpath ${args.join(' ')}: ${result.stderr}`).to.equal(0);
      outputs.set(`wt-readpath ${args.join(' ')}`, result.stdout + result.stderr);
    }

    const found = [...outputs].flatMap(([source, text]) => leaks(text, keys).map((leak) => `${leak} in ${source}`));
    expect(found).to.deep.equal([]);
    // The checks above would see a printed key: the keys are in the page log and the forms are right.
    expect(leaks(`key ${keys[0]!.toString('hex')}`, keys)).to.not.be.empty;
  });
});
