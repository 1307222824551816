import type { EngineLogger } from '../api.js';
import { compareLsn, ItemFormat, type Lsn } from '../format/index.js';
import { logProblemError } from './log.js';
import { inspectLog, type LogInspection } from './scan.js';

const TEXT = new ItemFormat('S');
/** File id 0 is the metadata table, as in WiredTiger. */
export const METADATA_FILE_ID = 0;

/** What recovery writes into: the connection's metadata and local tables. */
export interface RecoveryTarget {
  /** Sets (or, with `undefined`, deletes) a local metadata entry. */
  applyMetadata(key: string, value: string | undefined): void;
  /** Writes a record of the local table with this file id; false when no such table exists. */
  applyWrite(fileId: number, key: Buffer, value: Buffer | null, commitTs: bigint): boolean;
}

/** What recovery did. */
export interface RecoveryResult {
  inspection: LogInspection;
  /** Commit records applied. */
  replayed: number;
  /** Commit records the checkpoint already holds. */
  skipped: number;
  /** Operations on a table that no longer exists. */
  orphanOps: number;
  /** Replayed commits timestamped above the stable timestamp: still in no checkpoint. */
  pendingTimestamped: Array<{ lsn: Lsn; ts: bigint }>;
}

/**
 * Replays the journal into `target` (WiredTiger's `txn_recover`). First every file is checked
 * (a corrupt or foreign file raises `LOG_CORRUPT` / `LOG_MISMATCH` naming it and the offset,
 * before anything is applied); then the commit records from `checkpointLsn` on are applied in
 * order, at their commit timestamps. Every record before it is in the checkpoint (the
 * checkpoint LSN stops before the first commit the checkpoint's stable timestamp left out), so
 * nothing is applied twice.
 */
export function recoverLog(dir: string, options: {
  homeId: string | undefined; checkpointLsn: Lsn; stable: bigint; target: RecoveryTarget; logger: EngineLogger;
  /** The caller's own check of the same files, made moments before: not read again. */
  checked?: LogInspection;
}): RecoveryResult {
  const started = Date.now();
  const checked = options.checked ?? inspectLog(dir, { homeId: options.homeId });
  if (checked.problems.length > 0) throw logProblemError(checked.problems[0]!);
  const result: RecoveryResult = { inspection: checked, replayed: 0, skipped: 0, orphanOps: 0, pendingTimestamped: [] };
  inspectLog(dir, {
    homeId: options.homeId,
    onRecord: (file, record) => {
      if (record.body.type !== 'commit') return;
      let commitTs = 0n;
      for (const op of record.body.ops) if (op.kind === 'timestamp') commitTs = op.commitTs;
      const lsn = { file, offset: record.offset };
      if (compareLsn(lsn, options.checkpointLsn) < 0) {
        result.skipped++;
        return;
      }
      if (commitTs > options.stable) result.pendingTimestamped.push({ lsn, ts: commitTs });
      for (const op of record.body.ops) {
        if (op.kind !== 'put' && op.kind !== 'remove') continue;
        const value = op.kind === 'put' ? op.value : null;
        if (op.fileId === METADATA_FILE_ID) {
          options.target.applyMetadata(TEXT.unpack(op.key) as string, value === null ? undefined : TEXT.unpack(value) as string);
        } else if (!options.target.applyWrite(op.fileId, op.key, value, commitTs)) {
          result.orphanOps++;
        }
      }
      result.replayed++;
    },
  });
  if (checked.files.length > 0) {
    options.logger({
      // Operations on a table the metadata does not hold were acknowledged once and are not
      // applied now: never only an info line.
      level: result.orphanOps > 0 ? 'warn' : 'info', component: 'RECOVERY', msg: 'Replayed the journal',
      attr: {
        files: checked.files.length, replayed: result.replayed, skipped: result.skipped, orphanOps: result.orphanOps,
        checkpointLsn: `(${options.checkpointLsn.file},${options.checkpointLsn.offset})`, tornTail: checked.tornTail, durationMillis: Date.now() - started,
      },
    });
  }
  return result;
}

/** The metadata write of a key as a log operation (file id 0, `S` key and value). */
export function metadataLogOp(key: string, value: string | undefined): { kind: 'put'; fileId: number; key: Buffer; value: Buffer } | { kind: 'remove'; fileId: number; key: Buffer } {
  return value === undefined
    ? { kind: 'remove', fileId: METADATA_FILE_ID, key: TEXT.pack(key) }
    : { kind: 'put', fileId: METADATA_FILE_ID, key: TEXT.pack(key), value: TEXT.pack(value) };
}

/**
 * Reads the journal of `home` as recovery would, changing nothing: what it finds wrong
 * (`inspection`), and the `.wt` files that `file:` entries in it name (a create not yet in any
 * checkpoint, replayed at the next writable open), less those a later record removes. A
 * read-only open does not replay the journal, so its orphan checks ask this first: such a file
 * is not an orphan. Damage stops the read where it is (`inspection.problems`); what was read
 * counts.
 */
export function readJournalNames(home: string, homeId?: string): { files: Set<string>; inspection: LogInspection } {
  const files = new Set<string>();
  const inspection = inspectLog(home, {
      homeId,
      onRecord: (_file, record) => {
        if (record.body.type !== 'commit') return;
        for (const op of record.body.ops) {
          if ((op.kind !== 'put' && op.kind !== 'remove') || op.fileId !== METADATA_FILE_ID) continue;
          const key = TEXT.unpack(op.key) as string;
          if (!key.startsWith('file:')) continue;
          if (op.kind === 'put') files.add(key.slice('file:'.length));
          else files.delete(key.slice('file:'.length));
        }
      },
    });
  return { files, inspection };
}
