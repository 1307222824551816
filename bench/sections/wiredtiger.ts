import { execa } from 'execa';
import { createWriteStream, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchKey, benchValue } from '../records.js';
import { rateSlowerBy, slowerBy, type BenchRow, type BenchSection, type Reference } from '../types.js';

const distRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const engineLoad = join(distRoot, 'bench', 'engine_load.js');
const readPath = join(distRoot, 'tools', 'wt-readpath', 'main.js');

/** Runs of each command; the median is reported (and the fastest, for the record). */
const RUNS = 3;

/**
 * WiredTiger 12's `wt` (C, Release build, this kind of machine) on 1,000,000 records, recorded
 * once: used when no `wt` binary is given.
 */
const RECORDED = {
  load: { value: 1.85, unit: 's', source: 'WiredTiger 12 (C), wt load of 1M records + close, recorded' },
  verify: { value: 0.30, unit: 's', source: 'WiredTiger 12 (C), wt verify of 1M records, recorded' },
  dump: { value: 0.63, unit: 's', source: 'WiredTiger 12 (C), wt dump -f FILE of 1M records, recorded' },
} satisfies Record<string, Reference>;

interface Timing {
  median: number;
  fastest: number;
}

/** One command to time, and what to do before each run of it. */
interface Timed {
  command: string;
  args: string[];
  before?: () => void;
}

/**
 * Times each command `runs` times, the commands taking turns (A, B, A, B...): on a machine
 * whose load changes from second to second, both sides of a ratio then see the same load.
 */
async function timeInTurns(runs: number, commands: Timed[]): Promise<Timing[]> {
  const seconds: number[][] = commands.map(() => []);
  for (let run = 0; run < runs; run++) {
    for (const [i, { command, args, before }] of commands.entries()) {
      before?.();
      const started = performance.now();
      await execa(command, args, { stdin: 'ignore', stdout: 'ignore', stderr: 'inherit' });
      seconds[i]!.push((performance.now() - started) / 1000);
    }
  }
  return seconds.map((times) => {
    times.sort((a, b) => a - b);
    return { median: times[Math.floor(times.length / 2)]!, fastest: times[0]! };
  });
}

/**
 * Writes the bench records as a `wt dump` file (print format) that `wt load` reads. A
 * `key_format=S` key is stored with its NUL terminator (what `set_key` of the string stores),
 * and the print format shows that byte as `\00`, so the file writes it that way.
 */
async function writeDumpFile(path: string, count: number): Promise<void> {
  const out = createWriteStream(path);
  out.write('WiredTiger Dump (WiredTiger Version 12.0.0)\nFormat=print\nHeader\ntable:bench\nkey_format=S,value_format=u\nData\n');
  const value = benchValue().toString('latin1');
  for (let i = 0; i < count; i++) {
    if (!out.write(`${benchKey(i)}\\00\n${value}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

function fileBytes(path: string): number {
  return statSync(path).size;
}

function homeBytes(home: string): number {
  return readdirSync(home).reduce((sum, name) => sum + statSync(join(home, name)).size, 0);
}

/**
 * The engine beside WiredTiger's own `wt` utility on the same 1,000,000 records, each command
 * timed as a whole process (start-up included, as a user runs it), median of three runs:
 * load plus checkpoint (`wt load` against the engine's cursor load, local mode), `verify`,
 * `dump` to a file, and the table file's size. `WT=/path/to/wt npm run bench` runs WiredTiger
 * here in the same run; without it the ratios use WiredTiger's recorded figures, and the rows
 * say so.
 */
export const wiredTigerSection: BenchSection = {
  name: 'wiredtiger',
  description: 'load + checkpoint, verify and dump beside WiredTiger`s wt (WT=/path/to/wt), and file size',
  async run(context) {
    const count = context.quick ? 50_000 : 1_000_000;
    const runs = context.quick ? 1 : RUNS;
    const wt = process.env['WT'];
    const rows: BenchRow[] = [];
    const label = `${count.toLocaleString('en')} records`;
    const engineHome = join(context.scratch, 'engine');
    const wtHome = join(context.scratch, 'wiredtiger');

    const withWt = wt !== undefined && wt !== '';
    const wtBinary = wt ?? 'wt';
    context.log(`wiredtiger: load, verify and dump of ${label}, ${runs} runs each${withWt ? `, taking turns with ${wt}` : ''}`);
    // Every load starts from an empty home.
    const resetHome = (home: string) => (): void => {
      rmSync(home, { recursive: true, force: true });
      mkdirSync(home, { recursive: true });
    };
    const engineDumpFile = join(context.scratch, 'engine.dump');
    const wtDumpFile = join(context.scratch, 'wt.dump');
    const dumpInput = join(context.scratch, 'input.dump');
    if (withWt) await writeDumpFile(dumpInput, count);
    const commands = {
      load: [
        { command: process.execPath, args: [engineLoad, engineHome, String(count)], before: resetHome(engineHome) },
        { command: wtBinary, args: ['-h', wtHome, '-C', 'create,cache_size=100MB', 'load', '-f', dumpInput], before: resetHome(wtHome) },
      ],
      verify: [
        { command: process.execPath, args: [readPath, '-h', engineHome, 'verify'] },
        { command: wtBinary, args: ['-h', wtHome, 'verify', 'table:bench'] },
      ],
      dump: [
        { command: 'sh', args: ['-c', `"${process.execPath}" "${readPath}" -h "${engineHome}" dump table:bench > "${engineDumpFile}"`] },
        { command: wtBinary, args: ['-h', wtHome, 'dump', '-f', wtDumpFile, 'table:bench'] },
      ],
    } satisfies Record<string, Timed[]>;
    const measure = (timed: Timed[]): Promise<Timing[]> => timeInTurns(runs, withWt ? timed : timed.slice(0, 1));
    const [engineLoadTime, wtLoad] = await measure(commands.load);
    const [engineVerify, wtVerify] = await measure(commands.verify);
    const [engineDump, wtDump] = await measure(commands.dump);
    const engineTableBytes = fileBytes(join(engineHome, 'bench.wt'));

    let reference: { load: Reference; verify: Reference; dump: Reference; tableBytes?: number };
    if (withWt) {
      const source = (what: string): string => `WiredTiger ${wt}: ${what}, same run, runs taking turns`;
      reference = {
        load: { value: wtLoad!.median, unit: 's', source: source('wt load + close') },
        verify: { value: wtVerify!.median, unit: 's', source: source('wt verify') },
        dump: { value: wtDump!.median, unit: 's', source: source('wt dump -f FILE') },
        tableBytes: fileBytes(join(wtHome, 'bench.wt')),
      };
      // The two dumps must hold the same records, or the comparison compares nothing.
      const records = (path: string): Buffer => {
        const text = readFileSync(path);
        return text.subarray(text.indexOf('\nData\n') + 6);
      };
      if (!records(engineDumpFile).equals(records(wtDumpFile))) {
        throw new Error('the records of the engine`s dump and of wt dump differ: the figures would compare different work');
      }
    } else {
      context.log('wiredtiger: no WT=/path/to/wt given: ratios use the recorded WiredTiger figures');
      reference = RECORDED;
    }

    const row = (figure: string, value: number, unit: string, ref?: Reference, ratio?: number): BenchRow =>
      ({ section: 'wiredtiger', figure, variant: 'local', value, unit, reference: ref, ratio });
    rows.push(
      row(`load ${label} + checkpoint (process)`, engineLoadTime.median, 's', reference.load, slowerBy(engineLoadTime.median, reference.load.value)),
      row(`verify ${label} (process)`, engineVerify.median, 's', reference.verify, slowerBy(engineVerify.median, reference.verify.value)),
      row(`dump ${label} to a file (process)`, engineDump.median, 's', reference.dump, slowerBy(engineDump.median, reference.dump.value)),
      row('  dump rate', count / engineDump.median, 'records/s', { value: count / reference.dump.value, unit: 'records/s', source: reference.dump.source }, rateSlowerBy(count / engineDump.median, count / reference.dump.value)),
      row('  engine home size', homeBytes(engineHome) / (1024 * 1024), 'MB'),
    );
    if (reference.tableBytes !== undefined) {
      rows.push(row('table file size', engineTableBytes / (1024 * 1024), 'MB', { value: reference.tableBytes / (1024 * 1024), unit: 'MB', source: 'WiredTiger, same records, same run' }, slowerBy(engineTableBytes, reference.tableBytes)));
    } else {
      rows.push(row('table file size', engineTableBytes / (1024 * 1024), 'MB'));
    }
    return rows;
  },
};
