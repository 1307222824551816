import { execa } from 'execa';
import { fileURLToPath } from 'node:url';
import type { BenchRow, BenchSection } from '../types.js';

/** The jstests mocha configuration, from `dist/bench/sections/`. */
const jstestsConfig = fileURLToPath(new URL('../../../jstests/.mocharc.json', import.meta.url));
const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** Scenarios whose wall time is worth following from one version to the next. */
const scenarios = [
  { figure: 'magic_restore_clean_params (headline scenario)', grep: 'magic_restore_clean_params' },
  { figure: 'repair scenarios (jstests/repair)', grep: 'repairMetadata through the server' },
];

/**
 * Wall time of whole scenarios: mocha runs each one in a child process, with the real
 * mongod-shim and wt-readpath processes it starts, exactly as `npm run jstests -- --grep` does.
 */
export const scenariosSection: BenchSection = {
  name: 'scenarios',
  description: 'wall time of the headline jstest scenarios',
  async run(context) {
    const rows: BenchRow[] = [];
    for (const scenario of context.quick ? scenarios.slice(0, 1) : scenarios) {
      context.log(`running ${scenario.figure}`);
      const started = process.hrtime.bigint();
      const result = await execa('npx', ['mocha', '--config', jstestsConfig, '--grep', scenario.grep, '--reporter', 'dot'], {
        cwd: repositoryRoot, reject: false,
      });
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (result.exitCode !== 0) throw new Error(`${scenario.figure} failed:\n${String(result.stdout).slice(-2000)}`);
      rows.push({ section: 'scenarios', figure: scenario.figure, value: seconds, unit: 's' });
    }
    return rows;
  },
};
