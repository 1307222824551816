import { closeSync, openSync, writeSync } from 'node:fs';

/** mongod's severities: fatal, error, warning, informational, and debug levels 1 to 5. */
export type Severity = 'F' | 'E' | 'W' | 'I' | 'D1' | 'D2' | 'D3' | 'D4' | 'D5';

/** mongod's log components used by this server (engine components are passed through). */
export const LogComponent = {
  Control: 'CONTROL',
  Network: 'NETWORK',
  Command: 'COMMAND',
  Storage: 'STORAGE',
  Replication: 'REPL',
  Query: 'QUERY',
  Write: 'WRITE',
  Recovery: 'RECOVERY',
  Restore: 'RESTORE',
  Repair: 'REPAIR',
  Default: '-',
} as const;

/** One structured log line, as written (before JSON encoding). */
export interface LogEntry {
  t: { $date: string };
  s: Severity;
  c: string;
  id: number;
  ctx: string;
  msg: string;
  attr?: Record<string, unknown>;
}

/** Where log lines go. `write` receives one line without its newline. */
export interface LogSink {
  write(line: string): void;
  close(): void;
}

/** Writes to the process's standard output (synchronous for files and pipes on POSIX). */
export function standardOutputSink(): LogSink {
  return {
    write: (line) => {
      process.stdout.write(line + '\n');
    },
    close: () => {},
  };
}

/** Appends to a file, synchronously so that nothing is lost when the process exits. */
export function fileSink(path: string): LogSink {
  const fd = openSync(path, 'a');
  return {
    write: (line) => {
      writeSync(fd, line + '\n');
    },
    close: () => closeSync(fd),
  };
}

/** Keeps the last lines in memory (for `getLog`), like a sink that remembers. */
export function memorySink(): LogSink & { lines: string[] } {
  const lines: string[] = [];
  return { lines, write: (line) => void lines.push(line), close: () => {} };
}

export interface LoggerOptions {
  sink: LogSink;
  /** How many recent lines `getLog` can return (mongod keeps 1024). */
  recentLineCount?: number;
  /** Debug lines up to this level are written (mongod's `logLevel`, default 0). */
  verbosity?: number;
}

/**
 * State shared by a logger and every context view made from it: one sink, one ring of recent
 * lines, one verbosity.
 */
class LogCore {
  readonly sink: LogSink;
  readonly recentLineCount: number;
  readonly recent: string[] = [];
  verbosity: number;
  totalLinesWritten = 0;

  constructor(options: LoggerOptions) {
    this.sink = options.sink;
    this.recentLineCount = options.recentLineCount ?? 1024;
    this.verbosity = options.verbosity ?? 0;
  }
}

/**
 * A structured logger writing mongod's JSON log format, one object per line:
 * `{"t":{"$date":...},"s":"I","c":"NETWORK","id":23016,"ctx":"listener","msg":"...","attr":{...}}`.
 * `withContext` returns a view that writes the same lines under another `ctx` (a thread name in
 * mongod: `initandlisten`, `conn12`, `listener`, `Checkpointer`).
 */
/** The logger of the running server; see `setProcessLogger`. */
let processWideLogger: Logger | undefined;

/**
 * Names the logger that lines written by the process itself go to (an uncaught exception, an
 * unhandled rejection), so they reach `--logpath` like every other line; undefined once it is
 * closed, and before it exists: those lines then go to stdout.
 */
export function setProcessLogger(logger: Logger | undefined): void {
  processWideLogger = logger;
}

/** The logger `setProcessLogger` named, if any. */
export function processLogger(): Logger | undefined {
  return processWideLogger;
}

export class Logger {
  private readonly core: LogCore;
  /** The `ctx` field of this view's lines. */
  readonly context: string;

  private constructor(core: LogCore, context: string) {
    this.core = core;
    this.context = context;
  }

  /** A logger writing to `options.sink` under the context `context`. */
  static create(options: LoggerOptions, context = 'main'): Logger {
    return new Logger(new LogCore(options), context);
  }

  /** The same logger writing under `context`. */
  withContext(context: string): Logger {
    return new Logger(this.core, context);
  }

  get verbosity(): number {
    return this.core.verbosity;
  }

  set verbosity(level: number) {
    this.core.verbosity = level;
  }

  /** Writes one line. Debug lines above the verbosity are dropped. */
  log(severity: Severity, component: string, id: number, msg: string, attr?: Record<string, unknown>): void {
    if (severity.startsWith('D') && Number(severity.slice(1)) > this.core.verbosity) return;
    const entry: LogEntry = { t: { $date: logTimestamp(new Date()) }, s: severity, c: component, id, ctx: this.context, msg };
    if (attr !== undefined && Object.keys(attr).length > 0) entry.attr = attr;
    const line = JSON.stringify(entry, jsonReplacer);
    const core = this.core;
    core.totalLinesWritten += 1;
    core.recent.push(line);
    if (core.recent.length > core.recentLineCount) core.recent.shift();
    core.sink.write(line);
  }

  debug(component: string, id: number, msg: string, attr?: Record<string, unknown>, level = 1): void {
    this.log(`D${Math.min(Math.max(level, 1), 5)}` as Severity, component, id, msg, attr);
  }

  info(component: string, id: number, msg: string, attr?: Record<string, unknown>): void {
    this.log('I', component, id, msg, attr);
  }

  warning(component: string, id: number, msg: string, attr?: Record<string, unknown>): void {
    this.log('W', component, id, msg, attr);
  }

  error(component: string, id: number, msg: string, attr?: Record<string, unknown>): void {
    this.log('E', component, id, msg, attr);
  }

  fatal(component: string, id: number, msg: string, attr?: Record<string, unknown>): void {
    this.log('F', component, id, msg, attr);
  }

  /** The most recent lines, oldest first (what `getLog: "global"` returns). */
  recentLines(): string[] {
    return [...this.core.recent];
  }

  get totalLinesWritten(): number {
    return this.core.totalLinesWritten;
  }

  close(): void {
    this.core.sink.close();
  }
}

/**
 * `date` as `Date.prototype.toISOString` writes it (UTC, milliseconds, `Z`). V8's
 * `toISOString` sets up its date cache on first use, about a millisecond of the server's
 * start-up, which the `getUTC` fields do not; a year outside 1000 to 9999 (or an invalid date)
 * goes to `toISOString`, which writes (or refuses) it.
 */
export function logTimestamp(date: Date): string {
  const year = date.getUTCFullYear();
  if (!(year >= 1000 && year <= 9999)) return date.toISOString();
  const milliseconds = date.getUTCMilliseconds();
  return `${year}-${twoDigits(date.getUTCMonth() + 1)}-${twoDigits(date.getUTCDate())}T${twoDigits(date.getUTCHours())}:${twoDigits(date.getUTCMinutes())}:${twoDigits(date.getUTCSeconds())}.${milliseconds < 100 ? (milliseconds < 10 ? '00' : '0') : ''}${milliseconds}Z`;
}

function twoDigits(value: number): string {
  return value < 10 ? `0${value}` : `${value}`;
}

/**
 * Makes values JSON-friendly the way mongod prints them: bigints as numbers when exact,
 * timestamps as `{$timestamp: {t, i}}`, errors as `{code, codeName?, errmsg}`-like objects,
 * buffers by length (never their bytes: they may hold keys).
 */
function jsonReplacer(this: unknown, key: string, value: unknown): unknown {
  // `value` has been through toJSON already (a Buffer arrives as {type, data}); look at the original.
  const original = (this as Record<string, unknown> | undefined)?.[key];
  if (original instanceof Uint8Array) return { $binaryLength: original.length };
  const bsonType = (original as { _bsontype?: unknown } | undefined)?._bsontype;
  if (bsonType === 'Binary') return { $binaryLength: (original as { length(): number }).length() };
  if (bsonType === 'Timestamp') return { $timestamp: { t: (original as { t: number }).t, i: (original as { i: number }).i } };
  if (typeof value === 'bigint') {
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(value) : value.toString();
  }
  if (value instanceof Error) return describeError(value);
  return value;
}

/** A JSON-friendly description of an error: its name, code, message and location fields. */
export function describeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { errmsg: String(error) };
  const described: Record<string, unknown> = { name: error.name, errmsg: error.message };
  const withCode = error as Error & { code?: unknown; codeName?: unknown; toJSON?: () => Record<string, unknown> };
  if (withCode.code !== undefined) described.code = withCode.code;
  if (typeof withCode.codeName === 'string') described.codeName = withCode.codeName;
  if (typeof withCode.toJSON === 'function') {
    const json = withCode.toJSON();
    for (const [key, value] of Object.entries(json)) if (!(key in described) && key !== 'message') described[key] = value;
  }
  return described;
}
