import { execa } from 'execa';
import { builtPaths } from './paths.js';

/** What a finished command line gave back. */
export interface ToolResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** The signal that ended it, if one did. */
  signal?: string;
}

export interface RunOptions {
  /** Bytes (or text) written to the process's standard input, which is then closed. */
  input?: Uint8Array | string;
  cwd?: string;
  /** Kills the process after this long (default 120 s). */
  timeoutMs?: number;
  env?: Record<string, string>;
}

async function runNode(script: string, args: string[], options: RunOptions): Promise<ToolResult> {
  const result = await execa('node', [script, ...args], {
    reject: false,
    input: options.input,
    cwd: options.cwd,
    timeout: options.timeoutMs ?? 120_000,
    env: options.env,
    stripFinalNewline: false,
  });
  return {
    exitCode: result.exitCode ?? -1,
    stdout: String(result.stdout ?? ''),
    stderr: String(result.stderr ?? ''),
    ...(result.signal ? { signal: result.signal } : {}),
  };
}

/** Runs `wt-readpath ARGS` to completion (exit code 0 clean, 1 could not run, 2 corruption). */
export function runReadPath(args: string[], options: RunOptions = {}): Promise<ToolResult> {
  return runNode(builtPaths.wtReadpath, args, options);
}

/**
 * Runs `mongod-shim ARGS` to completion with optional stdin bytes: for modes that exit on their
 * own (`--magicRestore`, `--repair`) and for option errors.
 */
export function runShim(args: string[], options: RunOptions = {}): Promise<ToolResult> {
  return runNode(builtPaths.mongodShim, args, options);
}

/** The JSON log lines of a mongod-shim output (lines that are not JSON are skipped). */
export function parseLogLines(output: string): LogLine[] {
  const lines: LogLine[] = [];
  for (const line of output.split('\n')) {
    const parsed = parseLogLine(line);
    if (parsed) lines.push(parsed);
  }
  return lines;
}

/** One structured log line of mongod-shim. */
export interface LogLine {
  t: { $date: string };
  s: string;
  c: string;
  id: number;
  ctx: string;
  msg: string;
  attr?: Record<string, unknown>;
}

/** Parses one log line; undefined when it is not a structured log object. */
export function parseLogLine(line: string): LogLine | undefined {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{')) return undefined;
  try {
    const parsed = JSON.parse(trimmed) as Partial<LogLine>;
    return typeof parsed.msg === 'string' && typeof parsed.s === 'string' ? (parsed as LogLine) : undefined;
  } catch {
    return undefined;
  }
}
