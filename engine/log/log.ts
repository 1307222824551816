import { closeSync, fdatasync, fsyncSync, ftruncateSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import type { ErrorCodeValue } from '../errors.js';
import { join } from 'node:path';
import type { EngineLogger } from '../api.js';
import { CorruptionError, ErrorCode, IoError, isDiskFull } from '../errors.js';
import {
  compareLsn, encodeCheckpointBody, encodeCommitRecord, encodeLogDescriptor, encodeMessageBody, encodeSystemBody,
  logFileName, sealLogRecord, type LogOp, type Lsn, type RowWrite,
} from '../format/index.js';
import { syncDirectory } from '../meta/index.js';
import { HOME_ID_MESSAGE_PREFIX, type LogInspection, type LogProblem } from './scan.js';

/** WiredTiger's default `log=(file_max=100MB)`. */
export const DEFAULT_LOG_FILE_MAX = 100 * 1024 * 1024;
/** WiredTiger's smallest `file_max`. */
export const MIN_LOG_FILE_MAX = 100 * 1024;
/** mongod's default `journalCommitInterval`. */
export const DEFAULT_LOG_SYNC_INTERVAL_MS = 100;
/** Where a new file is written before it is renamed into place, so a named file always has its header. */
const TEMP_LOG_FILE = 'WiredTigerTmplog.0000000000';

/** How a log is opened. */
export interface LogOptions {
  home: string;
  /** Rotate to a new file once the current one would grow past this many bytes. */
  fileMax: number;
  /** Background flush period; 0 turns it off. */
  syncIntervalMs: number;
  /** The home's identity, written into every file's header records. */
  homeId: string;
  logger: EngineLogger;
}

/** What `sync` has done so far: how many fsyncs, for how many waiters. */
export interface LogSyncStats {
  syncs: number;
  waiters: number;
  bytesWritten: number;
}

/** The error open raises for a log it will not use, naming the file and offset. */
export function logProblemError(problem: LogProblem): CorruptionError {
  const code = problem.kind === 'foreignHome' ? ErrorCode.LogMismatch : ErrorCode.LogCorrupt;
  return new CorruptionError(`the journal cannot be recovered: ${problem.message}`, { file: problem.file, offset: problem.offset }, code);
}

/**
 * The write-ahead log of a home's local tables (WiredTiger's `log` module). Commits append
 * one record each with a positioned write, in commit order; `sync` makes everything written
 * so far durable with one `fdatasync` shared by every caller waiting meanwhile (group commit);
 * a timer does the same every `syncIntervalMs`. Files rotate at `fileMax`; `removeBefore` drops
 * the files a checkpoint no longer needs.
 */
export class WriteAheadLog {
  private fd = -1;
  private fileNumber = 0;
  /** The previous file's end, for the header of a file not created yet (`fd` is -1). */
  private nextPrevLsn: Lsn = { file: 0, offset: 0 };
  private offset = 0;
  /** Where the current file's first commit record goes (after its header records). */
  private headerEnd = 0;
  private txnId = 0n;
  private synced: Lsn = { file: 0, offset: 0 };
  private syncing: Promise<void> | undefined;
  private pendingWaiters = 0;
  private failure: Error | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Files rotated away while an fsync of them may still run: closed once it ends. */
  private retired: number[] = [];
  /** The files this log knows, ascending. */
  private readonly files: number[] = [];
  /**
   * Commits timestamped above the stable timestamp when written, in LSN order: a checkpoint
   * writes data as of its stable timestamp, so its `checkpoint_lsn` stops before the first of
   * these it does not hold. Entries at or below a checkpoint's stable timestamp are dropped.
   */
  private timestamped: Array<{ lsn: Lsn; ts: bigint }> = [];
  readonly stats: LogSyncStats = { syncs: 0, waiters: 0, bytesWritten: 0 };
  /**
   * Where commit records up to 1 MB are built: `append` writes a record before it returns, so
   * one buffer serves them all (a larger record gets a buffer of its own, not kept).
   */
  private recordScratch = Buffer.allocUnsafe(0);
  private readonly recordBuffer = (length: number): Buffer => {
    if (length > 1024 * 1024) return Buffer.allocUnsafe(length);
    if (this.recordScratch.length < length) this.recordScratch = Buffer.allocUnsafe(Math.min(1024 * 1024, Math.max(length, 64 * 1024)));
    return this.recordScratch.subarray(0, length);
  };

  private constructor(private readonly options: LogOptions) {}

  /**
   * Opens the log after recovery has read it: cuts off a torn tail; the next record goes into
   * a new file after the last one (as WiredTiger starts one at every open), created with the
   * first record, so an open that writes nothing leaves the files as they were.
   */
  static open(options: LogOptions, inspection: LogInspection, pendingTimestamped: Array<{ lsn: Lsn; ts: bigint }> = [], checkpointLsn?: Lsn): WriteAheadLog {
    const log = new WriteAheadLog(options);
    for (const file of inspection.files) log.files.push(file.number);
    log.timestamped = [...pendingTimestamped];
    if (inspection.tornTail) {
      const fd = openSync(join(options.home, inspection.tornTail.file), 'r+');
      try {
        ftruncateSync(fd, inspection.tornTail.offset);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      options.logger({ level: 'warn', component: 'RECOVERY', msg: 'Cut off a torn record at the end of the journal', attr: { file: inspection.tornTail.file, offset: inspection.tornTail.offset } });
    }
    const last = inspection.files[inspection.files.length - 1];
    // Never below the checkpoint's LSN, even when its files are gone: a new record must sort
    // after it or recovery would take it for one the checkpoint holds. (An LSN at offset 0 is
    // the start of a file not created yet, which the next record may open.)
    const floor = checkpointLsn === undefined ? 1 : checkpointLsn.offset === 0 ? checkpointLsn.file : checkpointLsn.file + 1;
    log.fileNumber = Math.max((last?.number ?? 0) + 1, floor);
    log.nextPrevLsn = last ? { file: last.number, offset: last.validEnd } : { file: 0, offset: 0 };
    // Everything before the file to come is on disk already (recovery read it from there).
    log.synced = log.end;
    if (options.syncIntervalMs > 0) {
      log.timer = setInterval(() => {
        if (!log.dirty || log.failure) return;
        log.sync().catch((error: unknown) => {
          // Every later commit fails with this too (the journal refuses writes after a failure).
          options.logger({ level: 'error', component: 'JOURNAL', msg: 'The background journal sync failed', attr: { error: String(error) } });
        });
      }, options.syncIntervalMs);
      log.timer.unref();
    }
    return log;
  }

  /** Where the next record goes: every record before it is in the log. */
  get end(): Lsn {
    return { file: this.fileNumber, offset: this.offset };
  }

  /** The LSN up to which the log is durable. */
  get syncedLsn(): Lsn {
    return this.synced;
  }

  get dirty(): boolean {
    return compareLsn(this.synced, this.end) < 0;
  }

  private writeAll(fd: number, bytes: Buffer, position: number): void {
    let done = 0;
    while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done, position + done);
  }

  /** Creates file `number` under a temporary name with its header records, syncs it and renames it. */
  private startFile(number: number, prevLsn: Lsn): void {
    const temp = join(this.options.home, TEMP_LOG_FILE);
    const fd = openSync(temp, 'w');
    try {
      const header = Buffer.concat([
        encodeLogDescriptor(this.options.fileMax),
        sealLogRecord(encodeSystemBody([{ kind: 'prevLsn', lsn: prevLsn }]), { debugByte: false }),
        sealLogRecord(encodeMessageBody(HOME_ID_MESSAGE_PREFIX + this.options.homeId)),
      ]);
      this.writeAll(fd, header, 0);
      fsyncSync(fd);
      renameSync(temp, join(this.options.home, logFileName(number)));
      syncDirectory(this.options.home);
      this.fd = fd;
      this.fileNumber = number;
      this.offset = header.length;
      this.headerEnd = header.length;
      this.files.push(number);
    } catch (cause) {
      closeSync(fd);
      // A half-written header must not hold space a full disk needs back: the next append
      // creates the file again from the start.
      rmSync(temp, { force: true });
      throw new IoError(`cannot create journal file ${logFileName(number)}${reason(cause)}`, { file: logFileName(number), cause }, writeFailureCode(cause));
    }
  }

  /** Makes the current file durable and moves to the next one. */
  private rotate(): void {
    const old = this.fd;
    const oldEnd = this.end;
    try {
      fsyncSync(old);
    } catch (cause) {
      // What the old file holds may not be durable, and whether it ever will be is unknown
      // after a failed fsync: refuse every later append and sync until a restart.
      this.failure = cause as Error;
      throw new IoError(`cannot sync the journal${reason(cause)}`, { file: logFileName(oldEnd.file), offset: oldEnd.offset, cause }, writeFailureCode(cause));
    }
    if (this.syncing) this.retired.push(old);
    else closeSync(old);
    if (compareLsn(this.synced, oldEnd) < 0) this.synced = oldEnd;
    // The old file is done with before the next exists: if creating it fails (a full disk),
    // the log is as after an open, and the next append tries to create it again.
    this.fd = -1;
    this.fileNumber = oldEnd.file + 1;
    this.offset = 0;
    this.headerEnd = 0;
    this.nextPrevLsn = oldEnd;
    this.startFile(this.fileNumber, oldEnd);
  }

  private append(record: Buffer): Lsn {
    if (this.failure) {
      throw new IoError(`the journal refuses writes until a restart after an earlier failure: ${this.failure.message}`, { file: logFileName(this.fileNumber), cause: this.failure }, writeFailureCode(this.failure));
    }
    if (this.fd < 0) this.startFile(this.fileNumber, this.nextPrevLsn);
    if (this.offset + record.length > this.options.fileMax && this.offset > this.headerEnd) this.rotate();
    const lsn = this.end;
    try {
      this.writeAll(this.fd, record, this.offset);
    } catch (cause) {
      this.cutOffFailedAppend(cause);
      throw new IoError(`cannot write to the journal${reason(cause)}`, { file: logFileName(this.fileNumber), offset: this.offset, cause }, writeFailureCode(cause));
    }
    this.offset += record.length;
    this.stats.bytesWritten += record.length;
    return lsn;
  }

  /**
   * After a failed write of the record at `offset`: part of it may be on disk, and the next
   * record written after it would follow garbage (recovery would refuse the file as corrupt).
   * The file is cut back to the last whole record and the cut made durable (shrinking a file
   * needs no free space), so the log continues from exactly where it was and the next append
   * (once space is freed) goes where the failed one would have. If the cut itself fails, what
   * the file ends with is unknown: every later append and sync is refused until a restart,
   * whose recovery cuts the partial record off as a torn tail.
   */
  private cutOffFailedAppend(cause: unknown): void {
    try {
      ftruncateSync(this.fd, this.offset);
      fsyncSync(this.fd);
    } catch (cutError) {
      this.failure = cause as Error;
      this.options.logger({
        level: 'error', component: 'JOURNAL', msg: 'Cannot cut a failed journal write off: the journal refuses writes until a restart',
        attr: { file: logFileName(this.fileNumber), offset: this.offset, error: String(cause), cutError: String(cutError) },
      });
    }
  }

  /**
   * Appends one transaction's commit record: its operations (`ops`, then the row writes `rows`),
   * and its commit timestamp as a `txn_timestamp` operation (WiredTiger's diagnostic operation,
   * ignored by its recovery).
   */
  logCommit(ops: LogOp[], commitTs: bigint, rows: readonly RowWrite[] = []): Lsn {
    const now = Date.now();
    const all: LogOp[] = commitTs > 0n
      ? [{
        kind: 'timestamp', timeSec: BigInt(Math.floor(now / 1000)), timeNsec: BigInt((now % 1000) * 1_000_000), commitTs, durableTs: commitTs,
        firstCommitTs: commitTs, prepareTs: 0n, readTs: 0n,
      }, ...ops]
      : ops;
    const lsn = this.append(encodeCommitRecord(++this.txnId, all, rows, this.recordBuffer));
    if (commitTs > 0n) this.timestamped.push({ lsn, ts: commitTs });
    return lsn;
  }

  /** Appends a checkpoint record naming `checkpointLsn`. */
  logCheckpoint(checkpointLsn: Lsn): Lsn {
    return this.append(sealLogRecord(encodeCheckpointBody(checkpointLsn)));
  }

  /**
   * Resolves once every record written before the call is durable. Concurrent callers share
   * one fsync: a call made while an fsync runs waits for it and, if its records came later,
   * for the next one, which covers every record written until it starts.
   */
  async sync(): Promise<void> {
    const target = this.end;
    this.pendingWaiters++;
    try {
      while (compareLsn(this.synced, target) < 0) {
        if (this.failure) {
          throw new IoError(`the journal refuses writes until a restart after an earlier failure: ${this.failure.message}`, { file: logFileName(this.fileNumber), cause: this.failure }, writeFailureCode(this.failure));
        }
        if (!this.syncing) this.syncing = this.syncOnce().finally(() => (this.syncing = undefined));
        await this.syncing;
      }
    } finally {
      this.pendingWaiters--;
    }
  }

  private syncOnce(): Promise<void> {
    const target = this.end;
    const fd = this.fd;
    if (fd < 0) {
      this.synced = target;
      return Promise.resolve();
    }
    const waiters = this.pendingWaiters;
    return new Promise<void>((resolve, reject) => {
      fdatasync(fd, (error) => {
        for (const old of this.retired.splice(0)) closeSync(old);
        if (error) {
          // After a failed fsync the kernel may have dropped the dirty pages: whether the
          // records written are on disk is unknown, so nothing more is written until a restart
          // (whose recovery reads what the files really hold).
          this.failure = error;
          reject(new IoError(`cannot sync the journal${reason(error)}`, { file: logFileName(target.file), cause: error }, writeFailureCode(error)));
          return;
        }
        if (compareLsn(this.synced, target) < 0) this.synced = target;
        // Counted once the fsync has completed: the counters say what is on disk.
        this.stats.syncs++;
        this.stats.waiters += waiters;
        resolve();
      });
    });
  }

  /**
   * The `checkpoint_lsn` of a checkpoint that writes the trees now, as of `stable`: the log's
   * end, or the first commit timestamped above `stable` (which the checkpoint does not hold).
   * Call in the same synchronous step that writes the trees.
   */
  checkpointLsn(stable: bigint): Lsn {
    this.timestamped = this.timestamped.filter((entry) => entry.ts > stable);
    return this.timestamped[0]?.lsn ?? this.end;
  }

  /**
   * Forgets the timestamped commits written so far: the timestamps were moved back (a restore
   * or repair) and the checkpoint that follows holds the data as it now stands, so nothing
   * written before it is to be replayed.
   */
  forgetTimestamped(): void {
    this.timestamped = [];
  }

  /** Removes the files wholly before `checkpointLsn` (never the current one). Returns their names. */
  removeBefore(checkpointLsn: Lsn): string[] {
    const removed: string[] = [];
    while (this.files.length > 0 && this.files[0]! < checkpointLsn.file && this.files[0]! < this.fileNumber) {
      const number = this.files.shift()!;
      rmSync(join(this.options.home, logFileName(number)), { force: true });
      removed.push(logFileName(number));
    }
    if (removed.length > 0) syncDirectory(this.options.home);
    return removed;
  }

  /** Syncs what was written and closes the files. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    try {
      if (!this.failure) await this.sync();
    } finally {
      await this.syncing?.catch(() => undefined);
      for (const old of this.retired.splice(0)) closeSync(old);
      if (this.fd >= 0) closeSync(this.fd);
      this.fd = -1;
    }
  }
}



/** `NO_SPACE` for a write that failed for lack of space (ENOSPC, EDQUOT), else `IO`. */
function writeFailureCode(cause: unknown): ErrorCodeValue {
  return isDiskFull(cause) ? ErrorCode.NoSpace : ErrorCode.Io;
}

/** `: <the system's reason>` for an error message, naming a full disk plainly. */
function reason(cause: unknown): string {
  if (isDiskFull(cause)) return ': no space left on the device';
  return cause instanceof Error ? `: ${cause.message}` : '';
}
