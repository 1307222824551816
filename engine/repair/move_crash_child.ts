/**
 * A child process for the page-move crash tests: opens a disaggregated home, moves
 * `table:orders` to file id 700 through the PIT path and reports on stdout when the copy
 * starts and when the mutations are applied; the parent kills it with SIGKILL at some moment
 * of the copy, before the checkpoint, or during it.
 */
import { ConnectionImpl } from '../connection/index.js';
import { pitWrite } from '../pit/index.js';

const [home, pauseArg] = process.argv.slice(2);
const connection = await ConnectionImpl.open(home!, { storage: 'disagg' });
process.stdout.write('moving\n');
await pitWrite(connection, {
  timestamp: connection.stableTimestamp,
  mutations: [{ kind: 'setFileId', uri: 'table:orders', id: 700 }],
  tables: ['table:orders'],
  beforeCheckpoint: async () => {
    process.stdout.write('applied\n');
    if (pauseArg === 'pause') await new Promise(() => {});
  },
});
process.stdout.write('done\n');
await connection.close();
