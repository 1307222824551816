import { execa, type ResultPromise } from 'execa';
import { MongoClient, type MongoClientOptions } from 'mongodb';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { dir } from 'tmp-promise';
import { builtPaths } from './paths.js';
import { parseLogLine, type LogLine } from './run_tool.js';

/** Where a ShimProcess is in its life. */
export type ShimState = 'new' | 'starting' | 'running' | 'stopped';

export interface ShimOptions {
  /** Use this dbpath instead of a fresh temporary one (it is then never deleted). */
  dbpath?: string;
  /** `--storage` (default: the server's default, disagg). */
  storage?: 'local' | 'disagg';
  /** `--replSet NAME`. */
  replSet?: string;
  /** `--setParameter k=v` for each entry. */
  setParameters?: Record<string, string | number | boolean>;
  keyProvider?: string;
  keyProviderConfig?: string;
  /** `--pageLog PATH`: a page log several servers share (default: the server's, `DBPATH/pagelog`). */
  pageLog?: string;
  /** `--disaggRole` (default: the server's, leader). */
  disaggRole?: 'leader' | 'follower';
  /** `--disaggCheckpoint ID` (a follower's first checkpoint). */
  disaggCheckpoint?: string;
  /** More command-line arguments, appended as given. */
  args?: string[];
  /** How long start() waits for the ready line (default 30 s). */
  startTimeoutMs?: number;
  /** How long stop() waits for a clean exit before SIGKILL (default 30 s). */
  stopTimeoutMs?: number;
}

/** A call made in a state that does not allow it. */
export class ShimStateError extends Error {
  constructor(operation: string, state: ShimState) {
    super(`cannot ${operation} a mongod-shim that is ${state}`);
    this.name = 'ShimStateError';
  }
}

/** How a server process ended. */
export interface ShimExit {
  exitCode: number | undefined;
  signal: string | undefined;
}

/**
 * Whether a log line reports an uncaught exception or an unhandled promise rejection (the
 * server's handlers in `server-shim/server_main.ts` and `run.ts` log both under id 23090).
 */
export function isUncaughtErrorLine(line: LogLine | undefined): boolean {
  return line !== undefined && line.s === 'F' && (line.id === 23090 || line.msg === 'Uncaught exception' || line.msg === 'Unhandled promise rejection');
}

/** Last lines kept in memory per process (the whole log is in the log file). */
const recentLineLimit = 2000;

/**
 * One mongod-shim server process for a scenario, in the style of mongodb-memory-server: an
 * explicit lifecycle (new -> starting -> running -> stopped, and start again from stopped), a
 * start that resolves on the server's structured "Waiting for connections" log line and rejects
 * on early exit or timeout, a single-flight stop that expects exit code 0, a kill that crashes
 * the server, and a run directory holding the dbpath and the log file.
 *
 * The run directory is `<tmp>/jstest-XXXX/` with `db/` (the dbpath) and `mongod-N.log` (one log
 * file per start, N counting from 1).
 */
export class ShimProcess {
  private currentState: ShimState = 'new';
  private runDirectory: string | undefined;
  private databasePath: string | undefined;
  private subprocess: ResultPromise | undefined;
  private exited: Promise<ShimExit> | undefined;
  private stopping: Promise<void> | undefined;
  private listeningPort: number | undefined;
  private readonly recent: { line: string; parsed?: LogLine }[] = [];
  private readonly clients = new Set<MongoClient>();
  private startCount = 0;
  private logFile: WriteStream | undefined;
  private lastExit: ShimExit | undefined;
  /** Log lines of any run reporting an uncaught exception or an unhandled promise rejection. */
  private uncaught: string[] = [];

  constructor(readonly options: ShimOptions = {}) {}

  get state(): ShimState {
    return this.currentState;
  }

  /** The dbpath (available once started at least once). */
  get dbpath(): string {
    if (this.databasePath === undefined) throw new ShimStateError('read the dbpath of', this.currentState);
    return this.databasePath;
  }

  /** The directory holding the dbpath and logs. */
  get directory(): string | undefined {
    return this.runDirectory;
  }

  /** The log file of the latest start. */
  get logPath(): string | undefined {
    return this.runDirectory === undefined ? undefined : join(this.runDirectory, `mongod-${this.startCount}.log`);
  }

  get port(): number {
    if (this.currentState !== 'running' || this.listeningPort === undefined) throw new ShimStateError('read the port of', this.currentState);
    return this.listeningPort;
  }

  /** `mongodb://127.0.0.1:PORT/?directConnection=true`. */
  get uri(): string {
    return `mongodb://127.0.0.1:${this.port}/?directConnection=true`;
  }

  /** How the previous run ended (after stop, kill or a crash). */
  get exit(): ShimExit | undefined {
    return this.lastExit;
  }

  /** The structured log lines seen (most recent `recentLineLimit`) of the current or last run. */
  logLines(): LogLine[] {
    return this.recent.flatMap((entry) => (entry.parsed ? [entry.parsed] : []));
  }

  /**
   * The lines, over every run so far, in which the server reported an uncaught exception or an
   * unhandled promise rejection: always a bug. `stop()` and the fixtures of `mocha_hooks.ts`
   * fail the test when there is one.
   */
  uncaughtErrors(): string[] {
    return [...this.uncaught];
  }

  /**
   * Forgets the uncaught errors seen so far and returns them: for a test that provokes one on
   * purpose and checks it was reported.
   */
  takeUncaughtErrors(): string[] {
    return this.uncaught.splice(0);
  }

  private checkNoUncaughtErrors(): void {
    if (this.uncaught.length > 0) {
      throw new Error(`mongod-shim reported ${this.uncaught.length} uncaught exception(s) or unhandled rejection(s):\n${this.uncaught.join('\n')}`);
    }
  }

  /** The last `count` raw output lines (stdout and stderr), for error messages. */
  tail(count = 30): string {
    return this.recent
      .slice(-count)
      .map((entry) => entry.line)
      .join('\n');
  }

  /** The command line the server is started with. */
  commandLine(): string[] {
    const args = ['--dbpath', this.dbpath, '--port', '0'];
    const options = this.options;
    if (options.storage) args.push('--storage', options.storage);
    if (options.replSet) args.push('--replSet', options.replSet);
    if (options.keyProvider) args.push('--keyProvider', options.keyProvider);
    if (options.keyProviderConfig) args.push('--keyProviderConfig', options.keyProviderConfig);
    if (options.pageLog) args.push('--pageLog', options.pageLog);
    if (options.disaggRole) args.push('--disaggRole', options.disaggRole);
    if (options.disaggCheckpoint) args.push('--disaggCheckpoint', options.disaggCheckpoint);
    for (const [name, value] of Object.entries(options.setParameters ?? {})) {
      args.push('--setParameter', `${name}=${typeof value === 'boolean' ? (value ? 1 : 0) : value}`);
    }
    args.push(...(options.args ?? []));
    return args;
  }

  /**
   * Starts the server on the dbpath (a fresh temporary one the first time) with `--port 0`, and
   * resolves with the port once it logs "Waiting for connections". Rejects, with the exit code
   * and the last log lines, if it exits first or does not get ready in time.
   */
  async start(): Promise<number> {
    if (this.currentState !== 'new' && this.currentState !== 'stopped') throw new ShimStateError('start', this.currentState);
    this.currentState = 'starting';
    try {
      await this.prepareDirectories();
      this.startCount += 1;
      this.recent.length = 0;
      this.logFile = createWriteStream(this.logPath!, { flags: 'a' });
      const subprocess = execa('node', [builtPaths.mongodShim, ...this.commandLine()], {
        reject: false,
        buffer: false,
        stdin: 'ignore',
        cleanup: true,
      });
      this.subprocess = subprocess;
      this.exited = subprocess.then(
        (result) => ({ exitCode: result.exitCode, signal: result.signal }),
        (error: { exitCode?: number; signal?: string }) => ({ exitCode: error.exitCode, signal: error.signal }),
      );
      const ready = this.watchOutput(subprocess);
      const timeoutMs = this.options.startTimeoutMs ?? 30_000;
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        ready.then((port) => ({ kind: 'ready' as const, port })),
        this.exited.then((exit) => ({ kind: 'exited' as const, exit })),
        new Promise<{ kind: 'timeout' }>((resolve) => (timer = setTimeout(() => resolve({ kind: 'timeout' }), timeoutMs))),
      ]);
      clearTimeout(timer);
      if (outcome.kind === 'ready') {
        this.listeningPort = outcome.port;
        this.currentState = 'running';
        // A crash while running moves the state to stopped too.
        void this.exited.then((exit) => this.onExit(exit, subprocess));
        return outcome.port;
      }
      if (outcome.kind === 'exited') {
        await this.flushOutput();
        this.onExit(outcome.exit, subprocess);
        throw new Error(`mongod-shim exited during start-up with code ${outcome.exit.exitCode}${outcome.exit.signal ? ` (${outcome.exit.signal})` : ''}; last log lines:\n${this.tail()}`);
      }
      subprocess.kill('SIGKILL');
      this.onExit(await this.exited, subprocess);
      throw new Error(`mongod-shim was not ready within ${timeoutMs} ms; last log lines:\n${this.tail()}`);
    } catch (error) {
      if (this.currentState === 'starting') this.currentState = 'stopped';
      throw error;
    }
  }

  private async prepareDirectories(): Promise<void> {
    if (this.databasePath !== undefined) return;
    const run = await dir({ prefix: 'jstest-', keep: true });
    this.runDirectory = run.path;
    this.databasePath = this.options.dbpath ?? join(run.path, 'db');
    await mkdir(this.databasePath, { recursive: true });
  }

  /** Copies output to the log file and memory; resolves with the port of the ready line. */
  private watchOutput(subprocess: ResultPromise): Promise<number> {
    return new Promise((resolve) => {
      const remember = (line: string): void => {
        const parsed = parseLogLine(line);
        this.recent.push(parsed ? { line, parsed } : { line });
        if (this.recent.length > recentLineLimit) this.recent.shift();
        this.logFile?.write(line + '\n');
        if (isUncaughtErrorLine(parsed)) this.uncaught.push(line);
        if (parsed?.msg === 'Waiting for connections' && typeof parsed.attr?.port === 'number') resolve(parsed.attr.port);
      };
      for (const stream of [subprocess.stdout, subprocess.stderr]) {
        if (stream) createInterface({ input: stream, crlfDelay: Infinity }).on('line', remember);
      }
    });
  }

  private async flushOutput(): Promise<void> {
    // Let the line readers deliver what the process wrote just before it exited.
    await new Promise((resolve) => setImmediate(resolve));
  }

  /** Records the end of `subprocess` (ignored if a newer process has started since). */
  private onExit(exit: ShimExit, subprocess: ResultPromise | undefined): void {
    if (this.subprocess === undefined || this.subprocess !== subprocess) return;
    this.lastExit = exit;
    this.subprocess = undefined;
    this.listeningPort = undefined;
    this.currentState = 'stopped';
    this.logFile?.end();
    this.logFile = undefined;
  }

  /**
   * A connected driver client (`directConnection=true`); closed by stop, kill and cleanup.
   */
  async client(options: MongoClientOptions = {}): Promise<MongoClient> {
    if (this.currentState !== 'running') throw new ShimStateError('connect to', this.currentState);
    const client = new MongoClient(this.uri, { serverSelectionTimeoutMS: 10_000, ...options });
    await client.connect();
    this.clients.add(client);
    return client;
  }

  private async closeClients(): Promise<void> {
    const clients = [...this.clients];
    this.clients.clear();
    await Promise.all(clients.map((client) => client.close(true).catch(() => undefined)));
  }

  /**
   * Stops the server cleanly: SIGTERM (or the shutdown command with `useShutdownCommand`), then
   * waits for it to exit. Rejects if it exits with a code other than 0, or if it has not exited
   * within the stop timeout (it is then killed). Concurrent calls share one stop.
   */
  stop(options: { useShutdownCommand?: boolean } = {}): Promise<void> {
    if (this.stopping) return this.stopping;
    if (this.currentState !== 'running') return Promise.reject(new ShimStateError('stop', this.currentState));
    this.stopping = this.stopOnce(options).finally(() => {
      this.stopping = undefined;
    });
    return this.stopping;
  }

  private async stopOnce(options: { useShutdownCommand?: boolean }): Promise<void> {
    const subprocess = this.subprocess!;
    const exited = this.exited!;
    if (options.useShutdownCommand) {
      const client = new MongoClient(this.uri, { serverSelectionTimeoutMS: 5_000 });
      try {
        await client.connect();
        // The server closes the connection instead of answering, as mongod does.
        await client.db('admin').command({ shutdown: 1 }).catch(() => undefined);
      } finally {
        await client.close(true).catch(() => undefined);
      }
    } else {
      await this.closeClients();
      subprocess.kill('SIGTERM');
    }
    await this.closeClients();
    const timeoutMs = this.options.stopTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const exit = await Promise.race([exited, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs)))]);
    clearTimeout(timer);
    if (exit === undefined) {
      subprocess.kill('SIGKILL');
      await exited;
      throw new Error(`mongod-shim did not exit within ${timeoutMs} ms of being asked to stop and was killed; last log lines:\n${this.tail()}`);
    }
    await this.flushOutput();
    this.onExit(exit, subprocess);
    this.checkNoUncaughtErrors();
    if (exit.exitCode !== 0) {
      throw new Error(`mongod-shim stopped with exit code ${exit.exitCode}${exit.signal ? ` (${exit.signal})` : ''} instead of 0; last log lines:\n${this.tail()}`);
    }
  }

  /** Crashes the server: SIGKILL, no checkpoint. Resolves once it has exited. */
  async kill(): Promise<ShimExit> {
    if (this.currentState !== 'running' && this.currentState !== 'starting') throw new ShimStateError('kill', this.currentState);
    await this.closeClients();
    const exited = this.exited!;
    const subprocess = this.subprocess;
    subprocess?.kill('SIGKILL');
    const exit = await exited;
    this.onExit(exit, subprocess);
    return exit;
  }

  /** Sends a signal without waiting (for tests of signal handling). */
  signal(signal: NodeJS.Signals): void {
    if (this.currentState !== 'running') throw new ShimStateError('signal', this.currentState);
    this.subprocess!.kill(signal);
  }

  /** Resolves when the current process exits (however it ends). */
  async waitForExit(): Promise<ShimExit> {
    if (this.exited === undefined) throw new ShimStateError('wait for', this.currentState);
    const subprocess = this.subprocess;
    const exit = await this.exited;
    await this.flushOutput();
    this.onExit(exit, subprocess);
    return exit;
  }

  /** Stops cleanly, then starts again on the same dbpath (a new port). */
  async restart(): Promise<number> {
    await this.stop();
    return this.start();
  }

  /**
   * Ends the process if it still runs (SIGKILL) and deletes the run directory, unless `keep`:
   * then everything stays and the directory is returned.
   */
  async cleanup(options: { keep?: boolean } = {}): Promise<string | undefined> {
    await this.closeClients();
    if (this.currentState === 'running' || this.currentState === 'starting') await this.kill().catch(() => undefined);
    if (options.keep) return this.runDirectory;
    if (this.runDirectory !== undefined) await rm(this.runDirectory, { recursive: true, force: true });
    return undefined;
  }
}
