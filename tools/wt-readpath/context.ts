import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openPageLog, type PageLog } from '../../engine/page_log/index.js';
import { FindingSink, HomeReader, PAGE_LOG_DIRECTORY, requireHome, type Finding } from '../../engine/verify/index.js';
import { refuseLiveHome } from './lock.js';
import { ExitCode, UsageError, type ExitCodeValue, type Output } from './output.js';

/**
 * What every command that reads a home shares: finding the home (`[HOME]`, `-h HOME`, or the
 * current directory), refusing a home a running server holds, opening it read-only, and
 * turning findings met along the way into diagnostics and an exit code.
 */

/** Options every home-reading command accepts. */
export interface HomeOptions {
  home?: string;
  json?: boolean;
  pageLog?: string;
}

/** The home a command works on: the positional argument, `-h`, or the current directory. */
export function resolveHome(positional: string | undefined, options: HomeOptions, global: HomeOptions): string {
  return resolve(positional ?? options.home ?? global.home ?? '.');
}

/** Checks that `home` can be read: a database home no running server holds. */
export function checkHome(home: string): void {
  requireHome(home);
  refuseLiveHome(home);
}

/** An open home and the findings met while reading it. */
export class HomeSession {
  readonly sink = new FindingSink();
  readonly findings: Finding[] = [];
  reader!: HomeReader;

  private constructor(readonly home: string, private readonly output: Output) {}

  static async open(home: string, output: Output, options: HomeOptions): Promise<HomeSession> {
    checkHome(home);
    const session = new HomeSession(home, output);
    session.reader = await HomeReader.open(home, session.sink, { pageLogPath: options.pageLog === undefined ? undefined : resolve(options.pageLog) });
    session.report();
    return session;
  }

  /** Prints the findings reported since the last call as diagnostics and keeps them. */
  report(): void {
    for (const finding of this.sink.drain()) {
      this.findings.push(finding);
      this.output.finding(finding);
    }
  }

  /** 2 when any error was found, else 0. */
  get exitCode(): ExitCodeValue {
    this.report();
    return this.findings.some((f) => f.severity === 'error') ? ExitCode.Corruption : ExitCode.Clean;
  }

  async close(): Promise<void> {
    await this.reader.close();
  }
}

/** The page log of `home`, opened read-only; undefined when the home has none. */
export async function openPageLogOf(home: string, options: HomeOptions): Promise<PageLog | undefined> {
  const path = options.pageLog === undefined ? join(home, PAGE_LOG_DIRECTORY) : resolve(options.pageLog);
  if (!existsSync(join(path, 'data.mdb'))) {
    if (options.pageLog !== undefined) throw new UsageError(`no page log at ${path}`);
    return undefined;
  }
  return openPageLog(path, { readOnly: true });
}

/** Prints a sink's findings as diagnostics; returns 2 when any is an error, else 0. */
export function reportFindings(sink: FindingSink, output: Output, findings: Finding[] = []): ExitCodeValue {
  for (const finding of sink.drain()) {
    findings.push(finding);
    output.finding(finding);
  }
  return findings.some((f) => f.severity === 'error') ? ExitCode.Corruption : ExitCode.Clean;
}
