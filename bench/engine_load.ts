/**
 * `node dist/bench/engine_load.js HOME COUNT`: loads COUNT records (`key%012d`, 100-byte values)
 * into `table:bench` of a new local-mode home through a cursor, checkpoints and closes: the
 * engine's side of `wt load` in the side-by-side section, timed as a whole process as WiredTiger's is.
 */
import { openConnection } from '../engine/index.js';
import { benchKey, benchValue } from './records.js';

const [home, countText] = process.argv.slice(2);
if (home === undefined || countText === undefined) throw new Error('usage: engine_load HOME COUNT');
const count = Number(countText);
const value = benchValue();
const connection = await openConnection(home, { storage: 'local' });
connection.createTable('table:bench', 'key_format=S,value_format=u');
const cursor = connection.openSession().openCursor('table:bench');
for (let i = 0; i < count; i++) {
  cursor.put(benchKey(i), value);
  if (i % 10_000 === 9_999) await new Promise((resolve) => setImmediate(resolve));
}
await connection.checkpoint();
await connection.close();
