import { closeSync, fstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { EngineError } from '../errors.js';
import {
  checkLogRecord, checksumWithZeroedField, decodeLogRecordBody, LOG_ALIGN, LOG_FIRST_RECORD_OFFSET, LOG_MAGIC,
  LOG_RECORD_HEADER_SIZE, LOG_VERSION, logFileName, logFileNumber, plausibleRecordLength, readLogRecordHeader,
  type LogRecordBody, type Lsn,
} from '../format/index.js';

/** The message record that names the home a log file belongs to (third record of every file). */
export const HOME_ID_MESSAGE_PREFIX = 'disagg-lab log: home_id=';
/** Bytes read at a time when looking past a bad record for a later valid one. */
const PROBE_CHUNK = 1024 * 1024;

/** What is wrong with a log file, and where. */
export interface LogProblem {
  /** The file's name in the home. */
  file: string;
  offset: number;
  kind: 'corrupt' | 'truncated' | 'foreignHome' | 'missingFile' | 'badHeader';
  message: string;
}

/** One log file as a scan found it. */
export interface LogFileState {
  number: number;
  name: string;
  size: number;
  /** Offset just past the last valid record. */
  validEnd: number;
  /** The previous file's end, from this file's system record. */
  prevLsn: Lsn | undefined;
  homeId: string | undefined;
  /** The largest commit timestamp of a record in the file (0n: none timestamped). */
  maxCommitTs: bigint;
  records: number;
}

/** The state of a home's log: its files, where it ends, and what is wrong with it. */
export interface LogInspection {
  files: LogFileState[];
  /** Problems that make the log unusable: open refuses it, verify reports them. */
  problems: LogProblem[];
  /** A torn last record (an interrupted write): recovery stops there and cuts it off. */
  tornTail: { file: string; number: number; offset: number } | undefined;
  /** The LSN just past the last valid record. */
  end: Lsn | undefined;
}

/** The log file numbers in `dir`, ascending. */
export function listLogFiles(dir: string): number[] {
  return readdirSync(dir).map(logFileNumber).filter((n): n is number => n !== undefined).sort((a, b) => a - b);
}

/** A record read from a file, checked. */
export interface ReadRecord {
  offset: number;
  len: number;
  body: LogRecordBody;
}

type ReadOutcome = { ok: true; record: ReadRecord } | { ok: false; reason: 'end' } | { ok: false; reason: 'bad'; message: string; short: boolean };

/** Reads records one at a time with positioned reads, so memory stays one record. */
export class LogFileReader {
  private readonly fd: number;
  readonly size: number;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'r');
    this.size = fstatSync(this.fd).size;
  }

  close(): void {
    closeSync(this.fd);
  }

  private read(offset: number, length: number): Buffer {
    const out = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, out, done, length - done, offset + done);
      if (n === 0) break;
      done += n;
    }
    return done === length ? out : out.subarray(0, done);
  }

  /** The record at `offset`: checked and decoded, the end of the file, or why it is bad. */
  readAt(offset: number): ReadOutcome {
    if (offset >= this.size) return { ok: false, reason: 'end' };
    const head = this.read(offset, LOG_RECORD_HEADER_SIZE);
    if (head.length < LOG_RECORD_HEADER_SIZE) return { ok: false, reason: 'bad', message: 'the file ends inside a record header', short: true };
    const { len } = readLogRecordHeader(head);
    if (len === 0 && head.every((b) => b === 0)) return { ok: false, reason: 'bad', message: 'zeroes where a record should start', short: false };
    if (!plausibleRecordLength(len)) return { ok: false, reason: 'bad', message: `record length ${len} is not a multiple of ${LOG_ALIGN}`, short: false };
    if (offset + len > this.size) return { ok: false, reason: 'bad', message: `the file ends inside a record of ${len} bytes`, short: true };
    const bytes = this.read(offset, len);
    try {
      const body = checkLogRecord(bytes, offset);
      return { ok: true, record: { offset, len, body: decodeLogRecordBody(body, offset) } };
    } catch (error) {
      if (error instanceof EngineError) return { ok: false, reason: 'bad', message: error.message, short: false };
      throw error;
    }
  }

  /** True when a checksummed record of plausible length starts at some aligned offset after `from`. */
  hasValidRecordAfter(from: number): boolean {
    for (let chunkStart = from; chunkStart < this.size; chunkStart += PROBE_CHUNK) {
      const chunk = this.read(chunkStart, Math.min(PROBE_CHUNK, this.size - chunkStart));
      for (let p = 0; p + LOG_RECORD_HEADER_SIZE <= chunk.length; p += LOG_ALIGN) {
        const offset = chunkStart + p;
        if (offset <= from) continue;
        const len = chunk.readUInt32LE(p);
        if (!plausibleRecordLength(len) || offset + len > this.size) continue;
        const bytes = this.read(offset, len);
        if (checksumWithZeroedField(bytes, 4, len) === bytes.readUInt32LE(4)) return true;
      }
    }
    return false;
  }
}

/** Reads the descriptor, previous-LSN and home records of a file; a problem when they are bad. */
function readFileHeader(reader: LogFileReader, name: string): { prevLsn?: Lsn; homeId?: string; next: number } | LogProblem {
  const descriptor = reader.readAt(0);
  if (!descriptor.ok || descriptor.record.body.type !== 'descriptor') {
    return { file: name, offset: 0, kind: 'badHeader', message: `${name}: the log file header record is invalid (${descriptor.ok ? 'not a descriptor' : descriptor.reason === 'end' ? 'empty file' : descriptor.message})` };
  }
  const { magic, version } = descriptor.record.body;
  if (magic !== LOG_MAGIC) return { file: name, offset: 0, kind: 'badHeader', message: `${name}: bad log magic 0x${magic.toString(16)} (expected 0x${LOG_MAGIC.toString(16)})` };
  if (version > LOG_VERSION) return { file: name, offset: 0, kind: 'badHeader', message: `${name}: log version ${version} is newer than ${LOG_VERSION}` };
  let next = LOG_ALIGN;
  let prevLsn: Lsn | undefined;
  let homeId: string | undefined;
  const system = reader.readAt(next);
  if (system.ok && system.record.body.type === 'system') {
    for (const op of system.record.body.ops) if (op.kind === 'prevLsn') prevLsn = op.lsn;
    next += system.record.len;
    const home = reader.readAt(next);
    if (home.ok && home.record.body.type === 'message' && home.record.body.message.startsWith(HOME_ID_MESSAGE_PREFIX)) {
      homeId = home.record.body.message.slice(HOME_ID_MESSAGE_PREFIX.length);
      next += home.record.len;
    }
  } else {
    return { file: name, offset: LOG_ALIGN, kind: 'badHeader', message: `${name}: the previous-LSN system record at offset ${LOG_ALIGN} is invalid` };
  }
  return { prevLsn, homeId, next };
}

/**
 * Checks every log file of `dir` without changing anything: headers, the home each belongs to,
 * every record's length and checksum, and that each file ends where the next one says it did.
 * A bad record in the last file with no valid record after it is a torn tail (an interrupted
 * write); anywhere else it is corruption. `onRecord` sees every valid record after the headers,
 * in order (recovery's second pass replays from it; verify counts).
 */
export function inspectLog(dir: string, options: { homeId?: string; onRecord?: (file: number, record: ReadRecord) => void; includeHeaders?: boolean } = {}): LogInspection {
  const numbers = listLogFiles(dir);
  const inspection: LogInspection = { files: [], problems: [], tornTail: undefined, end: undefined };
  for (let i = 0; i < numbers.length; i++) {
    const number = numbers[i]!;
    const name = logFileName(number);
    const isLast = i === numbers.length - 1;
    if (i > 0 && number !== numbers[i - 1]! + 1) {
      inspection.problems.push({ file: logFileName(numbers[i - 1]! + 1), offset: 0, kind: 'missingFile', message: `log file ${logFileName(numbers[i - 1]! + 1)} is missing between ${logFileName(numbers[i - 1]!)} and ${name}` });
    }
    const reader = new LogFileReader(join(dir, name));
    try {
      const header = readFileHeader(reader, name);
      if ('kind' in header) {
        inspection.problems.push(header);
        continue;
      }
      if (options.homeId !== undefined && header.homeId !== undefined && header.homeId !== options.homeId) {
        inspection.problems.push({ file: name, offset: LOG_FIRST_RECORD_OFFSET, kind: 'foreignHome', message: `${name} belongs to another home (home_id ${header.homeId}, this home is ${options.homeId})` });
        continue;
      }
      if (options.includeHeaders && options.onRecord) {
        for (let offset = 0; offset < header.next;) {
          const outcome = reader.readAt(offset);
          if (!outcome.ok) break;
          options.onRecord(number, outcome.record);
          offset += outcome.record.len;
        }
      }
      const state: LogFileState = { number, name, size: reader.size, validEnd: header.next, prevLsn: header.prevLsn, homeId: header.homeId, maxCommitTs: 0n, records: 0 };
      let offset = header.next;
      for (;;) {
        const outcome = reader.readAt(offset);
        if (outcome.ok) {
          const { body } = outcome.record;
          if (body.type === 'commit') {
            for (const op of body.ops) if (op.kind === 'timestamp' && op.commitTs > state.maxCommitTs) state.maxCommitTs = op.commitTs;
          }
          state.records++;
          options.onRecord?.(number, outcome.record);
          offset += outcome.record.len;
          continue;
        }
        if (outcome.reason === 'end') break;
        if (isLast && !reader.hasValidRecordAfter(offset)) {
          inspection.tornTail = { file: name, number, offset };
        } else {
          inspection.problems.push({
            file: name, offset, kind: outcome.short ? 'truncated' : 'corrupt',
            message: `${name} is ${outcome.short ? 'truncated' : 'corrupt'} at offset ${offset}: ${outcome.message}`,
          });
        }
        break;
      }
      state.validEnd = offset;
      const previous = inspection.files[inspection.files.length - 1];
      if (previous && previous.number === number - 1 && header.prevLsn && header.prevLsn.file === previous.number && header.prevLsn.offset !== previous.validEnd) {
        inspection.problems.push({
          file: previous.name, offset: previous.validEnd, kind: 'truncated',
          message: `${previous.name} ends at offset ${previous.validEnd} but ${name} records that it ended at ${header.prevLsn.offset}`,
        });
      }
      inspection.files.push(state);
      inspection.end = { file: number, offset };
    } finally {
      reader.close();
    }
  }
  return inspection;
}
