import { join, resolve } from 'node:path';
import { ErrorCode, PageLogError } from '../../engine/errors.js';
import { displayLocation, openPageLog, probePageLog, type PageLog } from '../../engine/page_log/index.js';
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
    session.reader = await HomeReader.open(home, session.sink, { pageLogPath: options.pageLog });
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

/**
 * The page log of `home`, opened read-only; undefined when the home has none and needs none
 * (local storage). A home whose metadata pairs with a checkpoint of a page log needs one: its
 * absence is `CHECKPOINT_METADATA_CORRUPT` (exit 2), as `verify` and the server judge it. A page
 * log that does not read is `CORRUPTION` when a file stands where its directory should be,
 * `IO` otherwise.
 */
export async function openPageLogOf(home: string, options: HomeOptions): Promise<PageLog | undefined> {
  const location = options.pageLog ?? join(home, PAGE_LOG_DIRECTORY);
  const presence = await probePageLog(location);
  if (presence.state === 'unreadable') {
    throw new PageLogError(`the page log at ${displayLocation(location)} does not read: ${presence.reason}`, { file: presence.file }, presence.code === 'CORRUPTION' ? ErrorCode.Corruption : ErrorCode.Io);
  }
  if (presence.state === 'absent') {
    if (options.pageLog !== undefined) throw new UsageError(`no page log at ${displayLocation(location)}`);
    const paired = HomeReader.pairedCheckpointOf(home, new FindingSink());
    if (paired !== undefined) {
      throw new PageLogError(`${home} pairs with the checkpoint completed at LSN ${paired.lsn} of a page log, but ${presence.file} is missing`, {
        file: presence.file, lsn: paired.lsn,
      }, ErrorCode.CheckpointMetadataCorrupt);
    }
    return undefined;
  }
  if (presence.state === 'empty' && options.pageLog === undefined && HomeReader.pairedCheckpointOf(home, new FindingSink()) === undefined) {
    // As the engine does: a store LMDB never initialised, which no checkpoint depends on, holds nothing.
    return undefined;
  }
  return openPageLog(location, { readOnly: true });
}

/** Prints a sink's findings as diagnostics; returns 2 when any is an error, else 0. */
export function reportFindings(sink: FindingSink, output: Output, findings: Finding[] = []): ExitCodeValue {
  for (const finding of sink.drain()) {
    findings.push(finding);
    output.finding(finding);
  }
  return findings.some((f) => f.severity === 'error') ? ExitCode.Corruption : ExitCode.Clean;
}
