import type { CheckpointInfo, Item, Range } from '../api.js';
import type { ConnectionImpl } from '../connection/index.js';
import { ErrorCode, RepairError, SchemaError } from '../errors.js';

/**
 * One internal mutation of a point-in-time write. These bypass the user cursor API: no
 * transaction, no commit-timestamp rule, no write lock check (the PIT write holds the lock).
 */
export type PitMutation =
  | { kind: 'put'; uri: string; key: Item; value: Item }
  | { kind: 'remove'; uri: string; key: Item }
  /** Removes every record in the range (e.g. oplog entries after a timestamp). */
  | { kind: 'removeRange'; uri: string; range: Range }
  /** The normal schema-create logic: metadata entries and the `.wt` file or page-log tree. */
  | { kind: 'createTable'; uri: string; config: string; shared: boolean }
  | { kind: 'dropTable'; uri: string }
  /**
   * Rewrites a table's `file:` entry with a new id. A shared table's pages move to the new
   * page-log table id; a local table's file stays as it is.
   */
  | { kind: 'setFileId'; uri: string; id: number }
  /**
   * Sets and removes keys of one of a table's entries (`entry`: its `table:`, `colgroup:` or
   * `file:` key), as the repair worker's rules allow; applied after any `setFileId`.
   */
  | { kind: 'setEntryValues'; uri: string; entry: string; set: ReadonlyMap<string, string>; unset: readonly string[] };

export interface PitWriteRequest {
  /** The timestamp the mutations are applied as of; the checkpoint is taken at it. */
  timestamp: bigint;
  mutations: PitMutation[];
  /** Moves stable and oldest to exactly these values first (backwards too), as restores do. */
  resetTimestamps?: { stable: bigint; oldest: bigint };
  /** How long to wait for in-flight writes to drain before giving up (default 30 s). */
  drainTimeoutMs?: number;
  /**
   * Hold back only the writers of these tables (and schema changes), not every writer: for
   * mutations that touch nothing else and need no timestamp reset (a page move).
   */
  tables?: readonly string[];
  /** Called between applying the mutations and the checkpoint (tests use it to crash there). */
  beforeCheckpoint?: () => Promise<void> | void;
}

export interface PitWriteResult {
  /** The checkpoint that made the mutations durable: its identity is `checkpoint.id`. */
  checkpoint: CheckpointInfo;
  applied: number;
}

/**
 * The point-in-time write path: takes the schema and checkpoint locks exclusively after
 * in-flight writes drain (user writes meanwhile wait), checks every mutation against the
 * schema as it will be, applies them all as of `timestamp`, then checkpoints at that
 * timestamp and returns the checkpoint's identity. Nothing is applied when a check fails, and
 * nothing is durable before the checkpoint completes: a crash leaves the previous checkpoint.
 */
export async function pitWrite(connection: ConnectionImpl, request: PitWriteRequest): Promise<PitWriteResult> {
  return connection.exclusive(async () => {
    if (request.resetTimestamps) connection.resetTimestamps(request.resetTimestamps.stable, request.resetTimestamps.oldest);
    if (request.timestamp < connection.oldestTimestamp) {
      throw new RepairError(`timestamp ${request.timestamp} is below the oldest timestamp ${connection.oldestTimestamp}`, {}, ErrorCode.InvalidArgument);
    }
    checkMutations(connection, request.mutations);
    for (const mutation of request.mutations) await applyMutation(connection, mutation, request.timestamp);
    if (request.timestamp > connection.stableTimestamp) connection.forceTimestamps(request.timestamp, connection.oldestTimestamp);
    await request.beforeCheckpoint?.();
    const checkpoint = await connection.checkpointHoldingLock();
    return { checkpoint, applied: request.mutations.length };
  }, { drainTimeoutMs: request.drainTimeoutMs, tables: request.tables });
}

/** Validates the whole batch against the schema it will meet, so a failure applies nothing. */
export function checkMutations(connection: ConnectionImpl, mutations: PitMutation[]): void {
  const exists = new Map<string, boolean>();
  const tableExists = (uri: string): boolean => exists.get(uri) ?? connection.hasTable(uri);
  mutations.forEach((m, index) => {
    const where = { key: `mutation ${index} (${m.kind})`, uri: m.uri };
    switch (m.kind) {
      case 'createTable':
        if (tableExists(m.uri)) throw new SchemaError(ErrorCode.AlreadyExists, `${m.uri} already exists`, where);
        exists.set(m.uri, true);
        break;
      case 'setEntryValues':
        if (!tableExists(m.uri)) throw new SchemaError(ErrorCode.NotFound, `${m.uri} does not exist`, where);
        break;
      case 'setFileId':
        if (!tableExists(m.uri)) throw new SchemaError(ErrorCode.NotFound, `${m.uri} does not exist`, where);
        if (!Number.isInteger(m.id) || m.id < 1) throw new SchemaError(ErrorCode.InvalidArgument, `file id ${m.id} is not a positive integer`, where);
        break;
      case 'dropTable':
        if (!tableExists(m.uri)) throw new SchemaError(ErrorCode.NotFound, `${m.uri} does not exist`, where);
        exists.set(m.uri, false);
        break;
      default:
        if (!tableExists(m.uri)) throw new SchemaError(ErrorCode.NotFound, `${m.uri} does not exist`, where);
        if (connection.hasTable(m.uri)) {
          // Pack now so a wrong type fails before anything is applied.
          const table = connection.tableHandle(m.uri);
          if (m.kind === 'put') {
            table.keyFormat.pack(m.key);
            table.valueFormat.pack(m.value);
          } else if (m.kind === 'remove') table.keyFormat.pack(m.key);
        }
    }
  });
}

async function applyMutation(connection: ConnectionImpl, m: PitMutation, ts: bigint): Promise<void> {
  switch (m.kind) {
    case 'createTable':
      connection.createTable(m.uri, m.config, { shared: m.shared });
      return;
    case 'dropTable':
      connection.dropTable(m.uri);
      return;
    case 'setFileId':
      await connection.setFileId(m.uri, m.id);
      return;
    case 'setEntryValues':
      connection.setEntryValues(m.uri, m.entry, m.set, m.unset);
      return;
    case 'put': {
      const table = connection.tableHandle(m.uri);
      connection.treeOf(table).put(table.keyFormat.pack(m.key), table.valueFormat.pack(m.value), ts);
      return;
    }
    case 'remove': {
      const table = connection.tableHandle(m.uri);
      connection.treeOf(table).put(table.keyFormat.pack(m.key), null, ts);
      return;
    }
    case 'removeRange': {
      const table = connection.tableHandle(m.uri);
      const cursor = connection.openSession().openCursor(m.uri);
      const keys = [...cursor.entries(m.range)].map(([key]) => table.keyFormat.pack(key));
      cursor.close();
      for (const key of keys) connection.treeOf(table).put(key, null, ts);
    }
  }
}
