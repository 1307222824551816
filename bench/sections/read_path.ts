import { join } from 'node:path';
import type { StorageMode } from '../../engine/api.js';
import { openConnection } from '../../engine/index.js';
import { measureDump, measureVerify } from '../../tools/wt-readpath/index.js';
import { rateSlowerBy, type BenchRow, type BenchSection, type Reference } from '../types.js';

/** WiredTiger's `wt verify` and `wt dump` (C) on this kind of machine, 1,000,000 records. */
const WIREDTIGER = {
  verify: { value: 448, unit: 'MB/s', source: 'WiredTiger 12 (C), wt verify of 1M records' },
  dump: { value: 2_040_000, unit: 'records/s', source: 'WiredTiger 12 (C), wt dump of 1M records' },
} satisfies Record<string, Reference>;

/**
 * The read-path tool's throughput on a stopped home the engine wrote: `wt-readpath verify` (every
 * page read and checked) and `wt-readpath dump` of the table (text produced, not printed).
 */
export const readPathSection: BenchSection = {
  name: 'read_path',
  description: 'wt-readpath verify and dump throughput on an engine-written home, per storage mode',
  async run(context) {
    const count = context.quick ? 20_000 : 1_000_000;
    const rows: BenchRow[] = [];
    for (const storage of ['local', 'disagg'] as StorageMode[]) {
      const home = join(context.scratch, storage);
      context.log(`read path (${storage}): writing ${count.toLocaleString('en')} records`);
      const connection = await openConnection(home, { storage });
      connection.createTable('table:bench', 'key_format=S,value_format=u');
      const cursor = connection.openSession().openCursor('table:bench');
      const value = Buffer.alloc(100, 0x61);
      for (let i = 0; i < count; i++) {
        cursor.put(`key${String(i).padStart(12, '0')}`, value);
        if (i % 10_000 === 9_999) await new Promise((resolve) => setImmediate(resolve));
      }
      await connection.close();

      const verify = await measureVerify(home);
      if (verify.errors > 0) throw new Error(`verify found ${verify.errors} errors in the bench home: ${JSON.stringify(verify.findings.slice(0, 3))}`);
      const dump = await measureDump(home, 'table:bench');
      if (dump.records !== count) throw new Error(`dump returned ${dump.records} records, not ${count}`);
      const row = (figure: string, value: number, unit: string, reference?: Reference): BenchRow =>
        ({ section: 'read_path', figure, variant: storage, value, unit, reference, ratio: reference && rateSlowerBy(value, reference.value) });
      rows.push(
        row(`verify ${count.toLocaleString('en')} records`, verify.bytes / (1024 * 1024) / (verify.millis / 1000), 'MB/s', WIREDTIGER.verify),
        row('verify', verify.pages / (verify.millis / 1000), 'pages/s'),
        row(`dump ${count.toLocaleString('en')} records`, dump.records / (dump.millis / 1000), 'records/s', WIREDTIGER.dump),
        row('dump', dump.bytes / (1024 * 1024) / (dump.millis / 1000), 'MB/s'),
      );
    }
    return rows;
  },
};
