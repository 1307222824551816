/**
 * A child process for the key-rotation crash tests: checkpoints in a loop with a key that
 * expires at every checkpoint, reporting each completed checkpoint's key-provider page LSN
 * and key version on stdout, until the parent kills it.
 */
import { ConnectionImpl } from './connection.js';

const [home] = process.argv.slice(2);
const connection = await ConnectionImpl.open(home!, { storage: 'disagg', keyProvider: 'example', keyProviderConfig: 'key_expires=0' });
if (!connection.hasTable('table:t')) connection.createTable('table:t', 'key_format=q,value_format=S');
const cursor = connection.openSession().openCursor('table:t');
for (let i = 0n; ; i++) {
  cursor.put(i, 'v'.repeat(200));
  const checkpoint = await connection.checkpoint();
  const status = connection.keyProviderStatus()!;
  process.stdout.write(JSON.stringify({ id: checkpoint.id, keyPageLsn: checkpoint.keyProviderPageLsn, keyVersion: status.keyVersion }) + '\n');
}
