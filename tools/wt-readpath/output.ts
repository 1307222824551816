import { EngineError, isCorruption } from '../../engine/errors.js';
import { formatFinding, type Finding } from '../../engine/verify/index.js';

/**
 * How commands talk to the user: data on stdout (text, or one JSON document with `--json`),
 * diagnostics on stderr, progress on stderr only when it is a terminal, and the exit code.
 */

/** Exit codes, as pg_amcheck uses them. */
export const ExitCode = {
  /** Everything read was sound. */
  Clean: 0,
  /** Could not run: bad usage, a missing home or file, a home a running server holds. */
  CouldNotRun: 1,
  /** Corruption found. */
  Corruption: 2,
} as const;

/** One of the `ExitCode` values. */
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** A condition that stops a command before it can read anything: exit code 1. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** JSON with bigints as decimal strings and Buffers as hex. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    if (v !== null && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) {
      return Buffer.from((v as { data: number[] }).data).toString('hex');
    }
    return v;
  }, 2);
}

/** One command run's output channel. */
export class Output {
  private progressShown = false;
  private readonly chunks: string[] = [];
  private chunkBytes = 0;
  /** Whether stdout refused more since the last `drain` (its buffer is full). */
  private pushedBack = false;

  constructor(readonly json: boolean) {}

  /** Writes data text to stdout (buffered; flushed in large writes). */
  out(text: string): void {
    this.chunks.push(text);
    this.chunkBytes += text.length;
    if (this.chunkBytes >= 1 << 16) this.flushChunks();
  }

  /** Writes data bytes to stdout after the text before them; the caller gives `bytes` up. */
  bytes(bytes: Buffer): void {
    this.flushChunks();
    if (!process.stdout.write(bytes)) this.pushedBack = true;
  }

  /** Writes a line of data text. */
  line(text = ''): void {
    this.out(`${text}\n`);
  }

  private flushChunks(): boolean {
    if (this.chunks.length === 0) return true;
    const text = this.chunks.join('');
    this.chunks.length = 0;
    this.chunkBytes = 0;
    return process.stdout.write(text);
  }

  /** Flushes buffered data, waiting for stdout when it pushes back. */
  async drain(): Promise<void> {
    const flushed = this.flushChunks() && !this.pushedBack;
    this.pushedBack = false;
    if (!flushed) await new Promise<void>((resolve) => process.stdout.once('drain', () => resolve()));
  }

  /** Writes the command's one JSON document. */
  document(value: unknown): void {
    this.line(toJson(value));
  }

  /** A diagnostic line on stderr. */
  diagnostic(text: string): void {
    this.clearProgress();
    process.stderr.write(`${text}\n`);
  }

  /** A finding met while doing something else (dump, list...): always a diagnostic. */
  finding(finding: Finding): void {
    this.diagnostic(`wt-readpath: ${formatFinding(finding)}`);
  }

  /** A progress line, shown only on a terminal and overwritten by the next. */
  progress(text: string): void {
    if (!process.stderr.isTTY) return;
    const width = Math.max(20, (process.stderr.columns ?? 80) - 1);
    process.stderr.write(`\r${text.slice(0, width).padEnd(width)}`);
    this.progressShown = true;
  }

  clearProgress(): void {
    if (!this.progressShown) return;
    process.stderr.write(`\r${' '.repeat(Math.max(20, (process.stderr.columns ?? 80) - 1))}\r`);
    this.progressShown = false;
  }
}

/**
 * The exit code and message for an error a command threw: 2 for an engine error the engine
 * classes as corruption (`isCorruption`), 1 for anything else.
 */
export function classifyError(error: unknown): { code: ExitCodeValue; message: string } {
  if (error instanceof UsageError) return { code: ExitCode.CouldNotRun, message: error.message };
  if (error instanceof EngineError) {
    // The engine's classification, the one the server's replies use too.
    return { code: isCorruption(error) ? ExitCode.Corruption : ExitCode.CouldNotRun, message: error.message };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: ExitCode.CouldNotRun, message };
}
