/**
 * A child process for the addon's tests: one of several processes sharing an LMDB environment
 * at `argv[3]` for `argv[4]` milliseconds, loading lmdb as the page log does.
 *
 * - `writer`: commits a counter, read and increased in each write transaction, and counts the
 *   transactions that did not read the value it committed last (a lost commit);
 * - `opener`: opens the environment read-only, reads the counter and closes it, again and again.
 *
 * Prints one JSON line: what it did, and the lmdb addon it had mapped.
 */
import { open } from 'lmdb';
import { nativeAddonsMapped } from './installed_addon.js';

const [role, path, milliseconds] = process.argv.slice(2);
const COUNTER = Buffer.from('counter');
const options = { path: path!, overlappingSync: false, cache: false, compression: false, keyEncoding: 'binary', encoding: 'binary' } as const;

function lmdbAddonsMapped(): string[] | undefined {
  return nativeAddonsMapped()?.filter((file) => file.includes('lmdb'));
}

const end = Date.now() + Number(milliseconds);
if (role === 'writer') {
  // Unsynced commits: many of them, so that opens in the other processes overlap them.
  const root = open<Buffer, Buffer>({ ...options, noSync: true });
  let committed = 0;
  let transactions = 0;
  let lost = 0;
  while (Date.now() < end) {
    root.transactionSync(() => {
      const value = root.getBinary(COUNTER);
      const read = value === undefined ? 0 : value.readUInt32LE(0);
      if (read !== committed) lost += 1;
      const next = Buffer.alloc(4);
      next.writeUInt32LE(read + 1);
      root.putSync(COUNTER, next);
      committed = read + 1;
    });
    transactions += 1;
  }
  await root.close();
  process.stdout.write(`${JSON.stringify({ transactions, lost, addons: lmdbAddonsMapped() })}\n`);
} else {
  let opens = 0;
  let addons: string[] | undefined;
  while (Date.now() < end) {
    const root = open<Buffer, Buffer>({ ...options, readOnly: true });
    root.getBinary(COUNTER);
    if (opens === 0) addons = lmdbAddonsMapped();
    await root.close();
    opens += 1;
  }
  process.stdout.write(`${JSON.stringify({ opens, addons })}\n`);
}
