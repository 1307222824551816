/** mongod's exit codes, which scripts and tests rely on. */
export const ExitCode = {
  /** Clean shutdown. */
  Clean: 0,
  /** Bad command-line options. */
  BadOptions: 2,
  /** A fatal start-up or runtime failure (engine open failure, dbpath in use, failed restore). */
  Fatal: 6,
  /** Could not listen (address in use). */
  NetworkError: 48,
  /** An uncaught exception, or a missing data directory as mongod reports it. */
  Uncaught: 100,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * A failure that ends the process with a specific exit code after a fatal log line. The line
 * has the generic fatal id unless `logId` names the one mongod uses for the same failure.
 */
export class FatalError extends Error {
  readonly logId: number | undefined;

  constructor(
    message: string,
    readonly exitCode: ExitCodeValue,
    /** Extra log attributes (the error code and location, for instance). */
    readonly attributes: Record<string, unknown> = {},
    options?: { cause?: unknown; logId?: number },
  ) {
    super(message, options);
    this.name = 'FatalError';
    this.logId = options?.logId;
  }
}
