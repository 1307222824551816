/**
 * A child process for the journal crash tests. Opens HOME with the journal on, makes a local
 * table `table:local` (and in disaggregated mode a shared `table:shared`, written in the same
 * transactions, the way the server commits a write with its oplog entry), then commits key i
 * with value `value-i` at commit timestamp i + 1 for ever, moving the stable timestamp along.
 * After every `syncEvery` commits it waits for the journal and prints `{"acked": i}`: every
 * key up to i is then durable. Every `checkpointEvery` commits (0: never) it checkpoints.
 * Usage: journal_child.js HOME STORAGE JOURNAL_FILE_MAX SYNC_EVERY CHECKPOINT_EVERY [START]
 */
import type { StorageMode } from '../api.js';
import { ConnectionImpl } from '../connection/index.js';

const [home, storage, fileMax, syncEvery, checkpointEvery, start] = process.argv.slice(2);
const connection = await ConnectionImpl.open(home!, {
  storage: storage as StorageMode, journal: true, journalFileMax: Number(fileMax), journalCommitIntervalMs: 0,
});
const shared = storage === 'disagg';
if (!connection.hasTable('table:local')) connection.createTable('table:local', 'key_format=q,value_format=S', { shared: false });
if (shared && !connection.hasTable('table:shared')) connection.createTable('table:shared', 'key_format=q,value_format=S');
const session = connection.openSession();
const local = session.openCursor('table:local');
const sharedCursor = shared ? session.openCursor('table:shared') : undefined;
process.stdout.write(JSON.stringify({ ready: true }) + '\n');
for (let i = Number(start ?? 0); ; i++) {
  const ts = BigInt(i + 1);
  session.beginTransaction();
  local.put(BigInt(i), `value-${i}`);
  sharedCursor?.put(BigInt(i), `shared-${i}`);
  session.commitTransaction({ commitTimestamp: ts });
  connection.setTimestamps({ stable: ts });
  if ((i + 1) % Number(syncEvery) === 0) {
    await connection.syncJournal();
    process.stdout.write(JSON.stringify({ acked: i }) + '\n');
  }
  if (Number(checkpointEvery) > 0 && (i + 1) % Number(checkpointEvery) === 0) {
    await connection.checkpoint();
    process.stdout.write(JSON.stringify({ checkpoint: i }) + '\n');
  }
}
