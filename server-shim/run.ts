import { existsSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { builtinCommands, CommandRegistry } from './commands/index.js';
import { acquireDbpathLock, ExitCode, FatalError, notifyLauncherReady, notifyParentReady, ShutdownController, shutDownServerAt, startInBackground, type DbpathLock } from './lifecycle/index.js';
import { describeError, fileSink, Logger, LogComponent, LogId, memorySink, setProcessLogger, standardOutputSink } from './log/index.js';
import { loadStartupMode, readRestoreInput, runRepairDryRun, type RestoreInput } from './modes/index.js';
import { parseCommandLine, serverVersion, type ServerOptions, type ServerParameters } from './options/index.js';
import { initiateReplicaSet, recoverFromOplog } from './replication/index.js';
import { Server } from './server/index.js';
import { displayLocation, errorClassOf } from '../engine/index.js';
import { isEngineError, openStorage, type Storage } from './storage/index.js';
import { restoreTurtleFromBackup, type EngineError, type TurtleRestore } from '../engine/index.js';

/** What the process must do once `runServer` settles. */
export interface RunOutcome {
  exitCode: number;
}

/**
 * Runs mongod-shim with these arguments (without `node` and the script) until it shuts down:
 * parse options, take the dbpath lock, open the engine, run a start-up mode or serve clients,
 * and shut down cleanly on SIGTERM, SIGINT or the shutdown command. Resolves with the exit
 * code; the caller exits with it.
 */
export async function runServer(argv: string[]): Promise<RunOutcome> {
  const parsed = parseCommandLine(argv);
  if (parsed.kind === 'exit') {
    (parsed.stream === 'stdout' ? process.stdout : process.stderr).write(parsed.message);
    return { exitCode: parsed.exitCode };
  }
  const { options, parameters } = parsed;
  if (options.fork || options.shutdown) {
    const background = options.fork ? await startInBackground(process.argv[1] ?? '', argv) : await shutDownServerAt(options.dbpath);
    process.stdout.write(background.stdout);
    return { exitCode: background.exitCode };
  }
  let logger: Logger;
  try {
    logger = Logger.create({ sink: options.logpath === undefined ? standardOutputSink() : fileSink(options.logpath) }, 'initandlisten');
  } catch (error) {
    process.stderr.write(`Error parsing command line: cannot open --logpath ${options.logpath}: ${(error as Error).message}\n`);
    return { exitCode: ExitCode.BadOptions };
  }
  setProcessLogger(logger);
  const outcome = await runWithLogger(options, parameters, logger);
  logger.info(LogComponent.Control, LogId.ShuttingDown, 'Shutting down', { exitCode: outcome.exitCode });
  setProcessLogger(undefined);
  logger.close();
  return outcome;
}

async function runWithLogger(options: ServerOptions, parameters: ServerParameters, logger: Logger): Promise<RunOutcome> {
  logger.info(LogComponent.Control, LogId.Starting, 'MongoDB starting', {
    pid: process.pid,
    port: options.port,
    dbPath: options.dbpath,
    architecture: '64-bit',
    host: hostname(),
    process: 'mongod-shim',
  });
  logger.info(LogComponent.Control, LogId.BuildInfo, 'Build Info', { build: { version: serverVersion, node: process.version } });
  // A URL's password (a PostgreSQL page log's) never reaches the log.
  logger.info(LogComponent.Control, LogId.OptionsSet, 'Options set by command line', { options: { argv: options.argv.map(displayLocation) } });

  const shutdown = new ShutdownController(logger);
  let lock: DbpathLock | undefined;
  let keepLockAtExit = false;
  let storage: Storage | undefined;
  try {
    checkDbpath(options.dbpath);
    lock = acquireDbpathLock(options.dbpath);
    if (lock.replaced !== undefined) {
      // Never silent: the previous holder died without a clean shutdown, or the file named no server.
      logger.warning(LogComponent.Storage, LogId.LockFileTakenOver, 'Replaced a stale lock file: the process it names no longer runs', {
        file: lock.path, previous: lock.replaced.trim().split('\n'),
      });
    }
    // A dry run changes nothing, the turtle file included.
    if (options.repair && options.dryRun) return { exitCode: await runRepairDryRun(options, logger) };
    if (options.repair) restoreTurtleOrFail(options.dbpath, logger);
    // The restore stream is read and checked before the engine opens: invalid input changes no file.
    let restoreInput: RestoreInput | undefined;
    if (options.magicRestore) {
      logger.info(LogComponent.Restore, LogId.MagicRestoreBeginning, 'Beginning magic restore', { dbpath: options.dbpath });
      restoreInput = await readRestoreInput(process.stdin, options.replSet);
    }
    // A copy taken from a backup cursor (no turtle file yet, `WiredTiger.backup` instead) becomes
    // a home only when an engine opens it for writing: its checks run on that engine.
    if (restoreInput !== undefined && existsSync(join(options.dbpath, 'WiredTiger.turtle'))) {
      await checkRestoreOnReadOnlyEngine(options, parameters, restoreInput);
    }
    storage = await openEngineOrFail(options, parameters, logger);

    const mode = await loadStartupMode(options);
    if (mode !== undefined) {
      const exitCode = await mode.run({
        connection: storage.connection, storage, options, parameters, logger, input: process.stdin, ...(restoreInput === undefined ? {} : { restoreInput }),
      });
      await storage.close();
      storage = undefined;
      return { exitCode };
    }

    const server = new Server(options, parameters, logger, storage, new CommandRegistry(builtinCommands), (reason) => shutdown.request(reason));
    recordStartupWarnings(server, parameters, logger);
    await server.listen();
    if (options.replSet !== undefined && storage.role === 'leader') {
      // After listening: with --port 0 the member's host name needs the port picked. A follower
      // keeps no configuration of its own (its catalog is the leader's).
      await initiateReplicaSet(storage, options.replSet, server.hostAndPort, logger.withContext('ReplCoord'));
    }
    server.announceReady();
    notifyParentReady();
    notifyLauncherReady();

    const reason = await shutdown.requested;
    shutdown.dispose();
    logger.withContext('SignalHandler').info(LogComponent.Control, LogId.ReceivedSignal, 'Shutdown requested', { reason });
    await server.close();
    const closing = storage;
    storage = undefined;
    try {
      await closing.close();
    } catch (error) {
      // The shutdown was not clean: the lock stays, naming this process, as mongod's does, so
      // `--shutdown` and the next start can tell.
      keepLockAtExit = true;
      // The final checkpoint failed (storage gone or full): what was written since the last
      // checkpoint is lost, and the exit code says so.
      throw new FatalError(`the final checkpoint failed: ${error instanceof Error ? error.message : String(error)}`, ExitCode.Fatal, {
        error: describeError(error), ...(isEngineError(error) ? { engineErrorCode: error.code, location: error.location } : {}),
      });
    }
    logger.info(LogComponent.Control, LogId.NowExiting, 'Now exiting');
    return { exitCode: ExitCode.Clean };
  } catch (error) {
    if (error instanceof FatalError) {
      logger.fatal(LogComponent.Control, error.logId ?? LogId.Fatal, error.message, { ...error.attributes, exitCode: error.exitCode });
      // Exit without closing the engine: nothing since the last checkpoint becomes durable.
      return { exitCode: error.exitCode };
    }
    const storageError = engineErrorIn(error);
    if (storageError !== undefined) {
      // Damaged data met after the engine opened (the catalog, the oplog, the replica set
      // configuration): a fatal error naming what is damaged, not a crash.
      logger.fatal(LogComponent.Control, LogId.Fatal, `Failed to start: ${storageError.message}`, {
        error: describeError(error), engineErrorCode: storageError.code, location: storageError.location, exitCode: ExitCode.Fatal,
      });
      return { exitCode: ExitCode.Fatal };
    }
    logger.fatal(LogComponent.Control, LogId.UncaughtException, 'Uncaught exception', { error: describeError(error), stack: (error as Error)?.stack });
    return { exitCode: ExitCode.Uncaught };
  } finally {
    shutdown.dispose();
    if (!keepLockAtExit) lock?.release();
  }
}

/**
 * Magic restore's checks that need the data (the checkpoint the files hold, the collections
 * that exist), run on an engine opened read-only: opening the engine for writing records the
 * node in a shared page log, and a refused restore must leave every file as it was. Throws the
 * restore's FatalError; its step lines are not logged twice.
 */
async function checkRestoreOnReadOnlyEngine(options: ServerOptions, parameters: ServerParameters, restoreInput: RestoreInput): Promise<void> {
  const quiet = Logger.create({ sink: memorySink() }, 'initandlisten');
  const storage = await openStorage({ ...options, readOnly: true }, quiet);
  try {
    const mode = (await loadStartupMode(options))!;
    await mode.run({ connection: storage.connection, storage, options, parameters, logger: quiet, input: process.stdin, restoreInput, checkOnly: true });
  } finally {
    await storage.close();
  }
}

/** The engine error `error` is or was caused by (a command error wraps one), if any. */
function engineErrorIn(error: unknown): EngineError | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 8; current = current.cause, depth += 1) {
    if (isEngineError(current)) return current;
  }
  return undefined;
}

/** mongod refuses a dbpath that does not exist rather than creating it. */
function checkDbpath(dbpath: string): void {
  let isDirectory = false;
  try {
    isDirectory = statSync(dbpath).isDirectory();
  } catch {
    isDirectory = false;
  }
  if (!isDirectory) {
    throw new FatalError(
      `Data directory ${resolve(dbpath)} not found. Create the missing directory or specify another path using the --dbpath command line option.`,
      ExitCode.Uncaught,
      { code: 29, codeName: 'NonExistentPath', dbPath: dbpath },
    );
  }
}

/**
 * `--repair`, before the engine opens: a missing or damaged turtle file whose backup copy is
 * intact is restored from it, and the restore is logged with what was wrong. A sound turtle is
 * left alone; when neither copy is sound the engine's open reports the damage. A failing write
 * is fatal.
 */
function restoreTurtleOrFail(dbpath: string, logger: Logger): void {
  let restore: TurtleRestore;
  try {
    restore = restoreTurtleFromBackup(dbpath);
  } catch (error) {
    throw new FatalError(`--repair could not restore WiredTiger.turtle from its backup: ${error instanceof Error ? error.message : String(error)}`, ExitCode.Fatal, {
      option: '--repair', error: describeError(error),
    });
  }
  if (!restore.restored) return;
  logger.warning(LogComponent.Repair, LogId.RepairTurtleRestored, 'Restored WiredTiger.turtle from WiredTiger.turtle.backup', {
    file: 'WiredTiger.turtle', backup: 'WiredTiger.turtle.backup', reason: restore.reason,
  });
}

/** Opens the engine; a failure (corruption at start-up, say) is fatal with its code and location. */
async function openEngineOrFail(options: ServerOptions, parameters: ServerParameters, logger: Logger): Promise<Storage> {
  const storageLogger = logger.withContext('initandlisten');
  storageLogger.info(LogComponent.Storage, LogId.EngineOpening, 'Opening the storage engine', {
    dbPath: options.dbpath,
    storage: options.storage,
    keyProvider: options.keyProvider ?? null,
  });
  try {
    const storage = await openStorage({
      ...options, journalCommitIntervalMs: parameters.getInteger('journalCommitIntervalMs'), leaseMs: parameters.getInteger('disaggLeaseMs'),
    }, logger);
    try {
      const disagg = storage.connection.disaggStatus();
      if (disagg?.role === 'follower' || disagg?.adopted === true) {
        // A follower applies nothing: it reads the leader's checkpoints. A leader that opened
        // another node's newer checkpoint holds nothing in its oplog that belongs on top of it:
        // what it wrote after its own last checkpoint was lost when the other node took over.
        if (disagg.adopted) logger.warning(LogComponent.Replication, LogId.ReplicationRecoverySkipped, 'Replication recovery skipped: the checkpoint opened was written by another leader', { checkpoint: disagg.checkpoint?.id ?? null });
      } else if (!options.magicRestore) {
        // Magic restore starts from the checkpoint itself: it truncates the oplog after
        // maxCheckpointTs, which discards journaled writes past it, so none may be applied first.
        await recoverFromOplog(storage, logger);
      }
    } catch (error) {
      // Exit without the final checkpoint: the next start recovers again from the same state.
      throw new FatalError(`Replication recovery failed: ${error instanceof Error ? error.message : String(error)}`, ExitCode.Fatal, { error: describeError(error) }, { cause: error });
    }
    const checkpoint = storage.lastCheckpoint();
    storageLogger.info(LogComponent.Storage, LogId.EngineOpened, 'Storage engine opened', {
      lastCheckpoint: checkpoint === undefined ? null : { id: checkpoint.id, timestamp: String(checkpoint.timestamp) },
    });
    return storage;
  } catch (error) {
    const attributes: Record<string, unknown> = { error: describeError(error) };
    if (isEngineError(error)) {
      attributes.engineErrorCode = error.code;
      attributes.errorClass = errorClassOf(error.code);
      attributes.location = error.location;
    }
    throw new FatalError(`Failed to open the storage engine: ${error instanceof Error ? error.message : String(error)}`, ExitCode.Fatal, attributes, { cause: error });
  }
}

function recordStartupWarnings(server: Server, parameters: ServerParameters, logger: Logger): void {
  const warn = (id: number, msg: string): void => {
    logger.warning(LogComponent.Control, id, msg);
    server.startupWarnings.push(logger.recentLines().at(-1) ?? msg);
  };
  warn(LogId.AccessControlNotEnabled, 'Access control is not enabled for the database. Read and write access to data and configuration is unrestricted');
  if (parameters.getBoolean('enableTestCommands')) warn(LogId.TestingEnabled, 'Testing behaviors are enabled. This has serious implications for a production deployment.');
  if (parameters.getBoolean('enableRepairCommands')) warn(LogId.RepairCommandsEnabled, 'Metadata repair commands are enabled.');
}
