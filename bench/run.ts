/**
 * `npm run bench`: runs every section (or `--only NAME[,NAME]`), prints a table (figure, value,
 * unit, reference and its source, ratio) and writes the rows as JSON to `bench/results/latest.json`
 * (or `--json PATH`). `--quick` runs smaller sizes as a smoke test.
 */
import { mkdirSync, rmSync, writeFileSync, mkdtempSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { sections } from './sections/index.js';
import type { BenchRow } from './types.js';

interface Options {
  only: string[] | undefined;
  quick: boolean;
  json: string;
}

function parseArguments(argv: string[]): Options {
  const options: Options = { only: undefined, quick: false, json: join(process.cwd(), 'bench', 'results', 'latest.json') };
  for (let i = 0; i < argv.length; i++) {
    const argument = argv[i]!;
    if (argument === '--quick') options.quick = true;
    else if (argument === '--only') options.only = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (argument === '--json') options.json = argv[++i] ?? options.json;
    else throw new Error(`unknown argument "${argument}" (use --only NAME[,NAME], --quick, --json PATH)`);
  }
  return options;
}

/** Three significant digits, thousands separated. */
function formatNumber(value: number): string {
  if (value === 0) return '0';
  const digits = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(value))));
  return value.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

/** Each distinct reference source, numbered in order of first use: the table's cells name them by number. */
function referenceSources(rows: BenchRow[]): string[] {
  return [...new Set(rows.flatMap((r) => (r.reference ? [r.reference.source] : [])))];
}

function table(rows: BenchRow[]): string {
  const sources = referenceSources(rows);
  const header = ['section', 'figure', 'variant', 'value', 'unit', 'reference', 'ratio'];
  const body = rows.map((r) => [
    r.section, r.figure, r.variant ?? '', formatNumber(r.value), r.unit,
    r.reference ? `${formatNumber(r.reference.value)} ${r.reference.unit} [${sources.indexOf(r.reference.source) + 1}]` : '',
    r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}x`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((line) => line[i]!.length)));
  const numeric = new Set([3, 5, 6]);
  const format = (line: string[]): string => line.map((cell, i) => (numeric.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ');
  return [format(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(format)].join('\n');
}

async function main(): Promise<void> {
  const options = parseArguments(process.argv.slice(2));
  const chosen = options.only ? sections.filter((s) => options.only!.includes(s.name)) : sections;
  if (options.only && chosen.length !== options.only.length) {
    throw new Error(`unknown section in --only; sections: ${sections.map((s) => s.name).join(', ')}`);
  }
  const rows: BenchRow[] = [];
  const started = new Date();
  for (const section of chosen) {
    const scratch = mkdtempSync(join(tmpdir(), `bench-${section.name}-`));
    try {
      const sectionRows = await section.run({ scratch, quick: options.quick, log: (message) => process.stderr.write(`${message}\n`) });
      rows.push(...sectionRows);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }
  process.stdout.write(`${table(rows)}\n`);
  process.stdout.write('ratio: times slower (or larger) than the reference; against WiredTiger the goal is at most 3x.\n');
  for (const [index, source] of referenceSources(rows).entries()) process.stdout.write(`[${index + 1}] ${source}\n`);
  const result = {
    started: started.toISOString(),
    quick: options.quick,
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryBytes: totalmem(), node: process.version, platform: process.platform },
    rows,
  };
  mkdirSync(join(options.json, '..'), { recursive: true });
  writeFileSync(options.json, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`written to ${options.json}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${String((error as Error)?.stack ?? error)}\n`);
  process.exit(1);
});
