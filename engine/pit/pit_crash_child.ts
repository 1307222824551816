/**
 * A child process for the PIT crash tests: opens a home, runs a point-in-time write of many
 * records and reports on stdout when the mutations are applied; the parent kills it with
 * SIGKILL at that moment or a little later, during the checkpoint.
 */
import { ConnectionImpl } from '../connection/index.js';
import { pitWrite } from './pit_write.js';

const [home, storage, pauseArg] = process.argv.slice(2);
const connection = await ConnectionImpl.open(home!, { storage: storage as 'local' | 'disagg' });
const mutations = [];
for (let i = 0; i < 20000; i++) mutations.push({ kind: 'put' as const, uri: 'table:t', key: `pit${String(i).padStart(6, '0')}`, value: 'y'.repeat(100) });
mutations.push({ kind: 'createTable' as const, uri: 'table:created', config: 'key_format=S,value_format=S', shared: storage === 'disagg' });
await pitWrite(connection, {
  timestamp: 10n,
  mutations,
  beforeCheckpoint: async () => {
    process.stdout.write('applied\n');
    if (pauseArg === 'pause') await new Promise(() => {});
  },
});
process.stdout.write('done\n');
await connection.close();
