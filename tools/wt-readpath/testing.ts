import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';

/**
 * Running the compiled `wt-readpath` as a real child process, for the command-line tests.
 */

/** The compiled executable (tests run from the repository root after `tsc`). */
export const CLI = join(process.cwd(), 'dist', 'tools', 'wt-readpath', 'main.js');

/** A finished run of the tool. */
export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs `wt-readpath ARGS`; never rejects on a non-zero exit, fails the test on a hang. */
export async function runCli(args: readonly string[], options: { cwd?: string; timeout?: number } = {}): Promise<CliResult> {
  const result = await execa(process.execPath, [CLI, ...args], {
    reject: false, timeout: options.timeout ?? 60_000, cwd: options.cwd, stripFinalNewline: false, env: { NO_COLOR: '1' },
  });
  if (result.timedOut) throw new Error(`wt-readpath ${args.join(' ')} did not finish within its time limit`);
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** Runs with `--json` appended and parses the one JSON document on stdout. */
export async function runCliJson<T = Record<string, unknown>>(args: readonly string[], options: { cwd?: string } = {}): Promise<CliResult & { document: T }> {
  const result = await runCli([...args, '--json'], options);
  let document: T;
  try {
    document = JSON.parse(result.stdout) as T;
  } catch (error) {
    throw new Error(`wt-readpath ${args.join(' ')} --json printed no single JSON document: ${result.stdout.slice(0, 200)} / ${result.stderr.slice(0, 500)}`, { cause: error });
  }
  return { ...result, document };
}

/** Name, size and modification time of every file under `directory`, to show nothing wrote there. */
export function snapshot(directory: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(directory).sort()) {
    const path = join(directory, name);
    const stat = statSync(path);
    out.push(stat.isDirectory() ? `${name}/ ${snapshot(path).join(' ')}` : `${name} ${stat.size} ${stat.mtimeMs}`);
  }
  return out;
}
