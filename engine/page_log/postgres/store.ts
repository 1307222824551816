/**
 * The page log's store in a PostgreSQL database, which nodes on any number of hosts share.
 *
 * Reads go through a synchronous connection (`sync_client.ts`: a cursor step waits for its
 * page); writes go through an asynchronous one in this thread, one transaction at a time in
 * call order. Every write transaction first takes the head row `FOR SHARE` and checks the
 * newest term (the fence); a claim of a new term takes it `FOR UPDATE`, so it waits for every
 * write under way and every later write of an older term sees the new term and stores
 * nothing. LSNs come from a sequence in blocks, so no two leaders ever hand out one LSN. See
 * README.md for the schema.
 */
import pg from 'pg';
import { ErrorCode, PageLogError } from '../../errors.js';
import { leasedCheckpoints, type NodeRecords, type NodeRecordUpdate, type TermRecord } from '../nodes.js';
import {
  RecordKind,
  decodeLeaseRecord,
  decodeLogEntry,
  decodeTermRecord,
  encodeLeaseRecord,
  encodeLogEntry,
  encodeTermRecord,
  type LeaseRecordFields,
  type LogEntryFields,
} from '../record_format.js';
import type { FencedOutcome, PageLogStore, PageRecordKey, StoredPageRecord, StoredRecordKey, StoreOpenOptions, StoreRecord } from '../store.js';
import { isUnreachable, postgresError } from './errors.js';
import { maskedUrl } from './masked_url.js';
import { SyncPostgresClient } from './sync_client.js';

/** The schema version this engine writes and reads. */
export const SCHEMA_VERSION = 1;
/** LSNs per block a leader takes from the sequence (its INCREMENT BY). */
export const LSN_BLOCK = 4096;
/** Rows per statement when a batch is inserted, and per read of a long range. */
const ROWS_PER_STATEMENT = 500;
const ROWS_PER_READ = 10_000;
/** Records of one page read at a time: a chain is at most 33 (a base and 32 deltas) plus a discard. */
const CHAIN_READ = 40;
/** How long a statement may wait for the server before the store is called unavailable. */
const STATEMENT_TIMEOUT_MS = 30_000;
/** Serializes the creation of the schema between nodes that create it at once. */
const SCHEMA_LOCK = 0x50414c49;

/** The schema, version 1. Every name starts with `page_log_`. */
const SCHEMA = [
  'CREATE TABLE page_log_schema (singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton), version integer NOT NULL)',
  'CREATE TABLE page_log_head (singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton), format bytea, newest_term bigint NOT NULL DEFAULT 0)',
  'CREATE TABLE page_log_records (lsn bigint PRIMARY KEY, table_id bigint NOT NULL, page_id bigint NOT NULL, kind smallint NOT NULL, entry bytea NOT NULL, image bytea NOT NULL)',
  'CREATE INDEX page_log_records_page ON page_log_records (table_id, page_id, lsn) WHERE kind <> 3',
  'CREATE TABLE page_log_checkpoints (lsn bigint PRIMARY KEY, body bytea NOT NULL)',
  'CREATE TABLE page_log_terms (term bigint PRIMARY KEY, record bytea NOT NULL)',
  'CREATE TABLE page_log_leases (node_id text PRIMARY KEY, expires_at bigint NOT NULL, record bytea NOT NULL)',
  `CREATE SEQUENCE page_log_lsn INCREMENT BY ${LSN_BLOCK} START WITH 1 MINVALUE 1`,
  'INSERT INTO page_log_head DEFAULT VALUES',
];

/** The store server's clock, in ms since the epoch: every node's leases use it. */
const NOW_MS = '(extract(epoch from clock_timestamp()) * 1000)::bigint';
/** The largest LSN any leader may have handed out: the end of the sequence's last block. */
const LAST_RESERVED = `(SELECT CASE WHEN is_called THEN last_value + ${LSN_BLOCK - 1} ELSE 0 END FROM page_log_lsn)`;

/** Bytes from the read connection's thread arrive as Uint8Arrays; the codecs read Buffers. */
function bytes(value: unknown): Buffer {
  const array = value as Uint8Array;
  return Buffer.isBuffer(array) ? array : Buffer.from(array.buffer, array.byteOffset, array.length);
}

function toNumber(value: unknown): number {
  return typeof value === 'number' ? value : Number(value as string);
}

/**
 * Opens the page log's store in the database at `url`, creating its schema when `create`
 * allows and none is there.
 *
 * Errors: `STORE_UNAVAILABLE` when the server cannot be reached or refuses the credentials;
 * `MISSING_FILE` when the database holds no page log and `create` is false;
 * `STORE_SCHEMA_UNKNOWN` for a schema of another version; `CORRUPTION` for a database whose
 * page-log tables are not this schema's.
 */
export async function openPostgresStore(url: string, options: StoreOpenOptions): Promise<PageLogStore> {
  const reader = await SyncPostgresClient.connect(url, { timeoutMs: STATEMENT_TIMEOUT_MS });
  const writer = new pg.Pool({ connectionString: url, max: 1, connectionTimeoutMillis: STATEMENT_TIMEOUT_MS, query_timeout: STATEMENT_TIMEOUT_MS });
  // An idle connection that breaks is dropped by the pool; the next write opens another.
  writer.on('error', () => undefined);
  // A connection that breaks while a transaction holds it fails that transaction's statement;
  // the client's own 'error' event then has nowhere to go but this listener (not the process).
  writer.on('connect', (client) => client.on('error', () => undefined));
  const store = new PostgresStore(url, reader, writer, options.readOnly);
  try {
    await store.checkSchema(options.create);
    return store;
  } catch (error) {
    await store.close(true);
    throw error;
  }
}

/** A PostgreSQL transaction's client, and what the store does with it. */
type Transaction = pg.PoolClient;

/** `PageLogStore` on PostgreSQL; see the module comment. */
class PostgresStore implements PageLogStore {
  readonly kind = 'postgres';
  readonly location: string;

  constructor(
    private readonly url: string,
    private readonly reader: SyncPostgresClient,
    private readonly writer: pg.Pool,
    private readonly readOnly: boolean,
  ) {
    this.location = maskedUrl(url);
  }

  /** Checks the schema's version, creating the schema in an empty database when allowed. */
  async checkSchema(create: boolean): Promise<void> {
    const present = this.reader.query("SELECT to_regclass('page_log_schema') IS NOT NULL").rows[0]![0] === true;
    if (!present) {
      if (!create || this.readOnly) {
        throw new PageLogError(`the database ${this.location} holds no page log (a follower or a reader needs one a leader made)`, { uri: this.location }, ErrorCode.MissingFile);
      }
      await this.transaction(async (client) => {
        await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
        const again = await client.query("SELECT to_regclass('page_log_schema') IS NOT NULL AS present");
        if (again.rows[0].present === true) return;
        for (const statement of SCHEMA) await client.query(statement);
        await client.query('INSERT INTO page_log_schema (version) VALUES ($1)', [SCHEMA_VERSION]);
      });
    }
    const rows = this.reader.query('SELECT version FROM page_log_schema').rows;
    if (rows.length !== 1) {
      throw new PageLogError(`the page log's schema table in ${this.location} holds ${rows.length} rows, not one`, { uri: this.location }, ErrorCode.Corruption);
    }
    const version = toNumber(rows[0]![0]);
    if (version !== SCHEMA_VERSION) {
      throw new PageLogError(
        `the page log in ${this.location} has schema version ${version}; this engine reads version ${SCHEMA_VERSION} only`,
        { uri: this.location, expected: SCHEMA_VERSION, actual: version },
        ErrorCode.StoreSchemaUnknown,
      );
    }
  }

  // ---- Format ----

  readFormat(): Buffer | undefined {
    const rows = this.reader.query('SELECT format FROM page_log_head').rows;
    if (rows.length !== 1) throw new PageLogError(`the page log's head row in ${this.location} is missing`, { uri: this.location }, ErrorCode.Corruption);
    return rows[0]![0] === null ? undefined : bytes(rows[0]![0]);
  }

  async createFormat(record: Buffer): Promise<Buffer> {
    await this.transaction((client) => client.query('UPDATE page_log_head SET format = $1 WHERE format IS NULL', [record]));
    return this.readFormat()!;
  }

  // ---- Reads ----

  logEntry(lsn: number): LogEntryFields | undefined {
    const rows = this.reader.query('SELECT entry FROM page_log_records WHERE lsn = $1', [lsn]).rows;
    return rows.length === 0 ? undefined : decodeLogEntry(lsn, bytes(rows[0]![0]));
  }

  *pageRecords(tableId: number, pageId: number, atLsn: number): Iterable<StoredPageRecord> {
    let below = atLsn;
    for (;;) {
      const rows = this.reader.query(
        'SELECT lsn, entry, image FROM page_log_records WHERE table_id = $1 AND page_id = $2 AND lsn <= $3 AND kind <> 3 ORDER BY lsn DESC LIMIT $4',
        [tableId, pageId, below, CHAIN_READ],
      ).rows;
      for (const [lsn, entry, image] of rows) {
        const stored = bytes(image);
        yield { entry: decodeLogEntry(toNumber(lsn), bytes(entry)), image: () => stored };
      }
      if (rows.length < CHAIN_READ) return;
      below = toNumber(rows[rows.length - 1]![0]) - 1;
    }
  }

  pageRecordsAt(tableId: number, keys: readonly { pageId: number; lsn: number }[]): StoredPageRecord[] {
    const rows = this.reader.query(
      'SELECT r.lsn, r.entry, r.image FROM page_log_records r JOIN unnest($2::bigint[], $3::bigint[]) AS k(page_id, lsn) ON r.page_id = k.page_id AND r.lsn = k.lsn WHERE r.table_id = $1',
      [tableId, keys.map((key) => key.pageId), keys.map((key) => key.lsn)],
    ).rows;
    return rows.map(([lsn, entry, image]) => {
      const stored = bytes(image);
      return { entry: decodeLogEntry(toNumber(lsn), bytes(entry)), image: () => stored };
    });
  }

  image(key: PageRecordKey): Buffer | undefined {
    const rows = this.reader.query('SELECT image FROM page_log_records WHERE lsn = $1 AND table_id = $2 AND page_id = $3', [key.lsn, key.tableId, key.pageId]).rows;
    return rows.length === 0 ? undefined : bytes(rows[0]![0]);
  }

  *pageEntries(tableId?: number): Iterable<LogEntryFields> {
    let after = [tableId ?? -1, -1, -1];
    for (;;) {
      const rows = this.reader.query(
        `SELECT lsn, entry, table_id, page_id FROM page_log_records WHERE kind <> 3 AND (table_id, page_id, lsn) > ($1, $2, $3)${tableId === undefined ? '' : ' AND table_id = $5'}
         ORDER BY table_id, page_id, lsn LIMIT $4`,
        tableId === undefined ? [...after, ROWS_PER_READ] : [...after, ROWS_PER_READ, tableId],
      ).rows;
      for (const [lsn, entry] of rows) yield decodeLogEntry(toNumber(lsn), bytes(entry));
      if (rows.length < ROWS_PER_READ) return;
      const last = rows[rows.length - 1]!;
      after = [toNumber(last[2]), toNumber(last[3]), toNumber(last[0])];
    }
  }

  *logEntries(from: number, to: number): Iterable<LogEntryFields> {
    let next = from;
    for (;;) {
      const rows = this.reader.query('SELECT lsn, entry FROM page_log_records WHERE lsn >= $1 AND lsn <= $2 ORDER BY lsn LIMIT $3', [next, to, ROWS_PER_READ]).rows;
      for (const [lsn, entry] of rows) yield decodeLogEntry(toNumber(lsn), bytes(entry));
      if (rows.length < ROWS_PER_READ) return;
      next = toNumber(rows[rows.length - 1]![0]) + 1;
    }
  }

  completion(lsn: number): Buffer | undefined {
    const rows = this.reader.query('SELECT body FROM page_log_checkpoints WHERE lsn = $1', [lsn]).rows;
    return rows.length === 0 ? undefined : bytes(rows[0]![0]);
  }

  *completions(after?: number): Iterable<{ lsn: number; body: Buffer }> {
    const rows = this.reader.query('SELECT lsn, body FROM page_log_checkpoints WHERE lsn > $1 ORDER BY lsn', [after ?? 0]).rows;
    for (const [lsn, body] of rows) yield { lsn: toNumber(lsn), body: bytes(body) };
  }

  newestCompletion(): { lsn: number; body: Buffer } | undefined {
    const rows = this.reader.query('SELECT lsn, body FROM page_log_checkpoints ORDER BY lsn DESC LIMIT 1').rows;
    return rows.length === 0 ? undefined : { lsn: toNumber(rows[0]![0]), body: bytes(rows[0]![1]) };
  }

  lastLsn(): number {
    return toNumber(this.reader.query('SELECT coalesce(max(lsn), 0) FROM page_log_records').rows[0]![0]);
  }

  reserveLsns(above: number): { first: number; last: number } {
    let first = toNumber(this.reader.query("SELECT nextval('page_log_lsn')").rows[0]![0]);
    if (first <= above) {
      // A sequence behind the log (restored from an older copy): move it past what is handed out.
      first = toNumber(this.reader.query("SELECT setval('page_log_lsn', $1) + $2", [above, LSN_BLOCK]).rows[0]![0]);
    }
    return { first, last: first + LSN_BLOCK - 1 };
  }

  refresh(): void {
    // Every statement reads what was committed before it: nothing to reset.
  }

  // ---- Node records ----

  now(): number {
    return toNumber(this.reader.query(`SELECT ${NOW_MS}`).rows[0]![0]);
  }

  newestTerm(): TermRecord | undefined {
    const rows = this.reader.query('SELECT record FROM page_log_terms ORDER BY term DESC LIMIT 1').rows;
    return rows.length === 0 ? undefined : decodeTermRecord(bytes(rows[0]![0]));
  }

  readNodeRecords(): NodeRecords {
    const terms = this.reader.query('SELECT record FROM page_log_terms ORDER BY term').rows.map(([record]) => decodeTermRecord(bytes(record)));
    const leases = this.reader.query('SELECT record FROM page_log_leases ORDER BY node_id').rows.map(([record]) => decodeLeaseRecord(bytes(record)));
    return { terms, leases };
  }

  async updateNodeRecords<T>(update: (records: NodeRecordUpdate) => T): Promise<T> {
    return this.transaction(async (client) => {
      // The head row serializes node-record updates between nodes, and a claim with every write.
      await client.query('SELECT newest_term FROM page_log_head FOR UPDATE');
      const newest = (await client.query('SELECT record FROM page_log_terms ORDER BY term DESC LIMIT 1')).rows[0]?.record as Buffer | undefined;
      const leases = new Map<string, LeaseRecordFields>();
      for (const row of (await client.query('SELECT record FROM page_log_leases ORDER BY node_id')).rows) {
        const lease = decodeLeaseRecord(row.record as Buffer);
        leases.set(lease.nodeId, lease);
      }
      const newestCompletionLsn = toNumber((await client.query('SELECT coalesce(max(lsn), 0) AS lsn FROM page_log_checkpoints')).rows[0].lsn);
      const lastLsn = toNumber((await client.query(`SELECT greatest((SELECT coalesce(max(lsn), 0) FROM page_log_records), ${LAST_RESERVED}) AS lsn`)).rows[0].lsn);
      let newestTerm: TermRecord | undefined = newest === undefined ? undefined : decodeTermRecord(newest);
      const writes: { sql: string; params: unknown[] }[] = [];
      const result = update({
        newestTerm: () => newestTerm,
        lease: (nodeId) => leases.get(nodeId),
        leases: () => [...leases.values()],
        putTerm: (record) => {
          newestTerm = record;
          writes.push({ sql: 'INSERT INTO page_log_terms (term, record) VALUES ($1, $2)', params: [record.term, encodeTermRecord(record)] });
          writes.push({ sql: 'UPDATE page_log_head SET newest_term = greatest(newest_term, $1)', params: [record.term] });
        },
        putLease: (record) => {
          leases.set(record.nodeId, record);
          writes.push({
            sql: 'INSERT INTO page_log_leases (node_id, expires_at, record) VALUES ($1, $2, $3) ON CONFLICT (node_id) DO UPDATE SET expires_at = EXCLUDED.expires_at, record = EXCLUDED.record',
            params: [record.nodeId, record.expiresAt, encodeLeaseRecord(record)],
          });
        },
        removeLease: (nodeId) => {
          leases.delete(nodeId);
          writes.push({ sql: 'DELETE FROM page_log_leases WHERE node_id = $1', params: [nodeId] });
        },
        newestCompletionLsn: () => newestCompletionLsn,
        lastLsn: () => lastLsn,
      });
      for (const write of writes) await client.query(write.sql, write.params);
      return result;
    });
  }

  // ---- Writes ----

  async append(records: readonly StoreRecord[], term: number): Promise<FencedOutcome> {
    return this.transaction(async (client) => {
      if (await this.fenced(client, term)) return 'fenced';
      for (let start = 0; start < records.length; start += ROWS_PER_STATEMENT) {
        const slice = records.slice(start, start + ROWS_PER_STATEMENT);
        const values: string[] = [];
        const params: unknown[] = [];
        for (const { entry, image } of slice) {
          const at = params.length;
          values.push(`($${at + 1}, $${at + 2}, $${at + 3}, $${at + 4}, $${at + 5}, $${at + 6})`);
          params.push(entry.lsn, entry.tableId, entry.pageId, entry.kind, encodeLogEntry(entry), image);
        }
        // A batch sent again after a connection broke may be stored already: it is the same record.
        await client.query(`INSERT INTO page_log_records (lsn, table_id, page_id, kind, entry, image) VALUES ${values.join(', ')} ON CONFLICT (lsn) DO NOTHING`, params);
      }
      return 'written';
    });
  }

  async complete(entry: LogEntryFields, body: Buffer, term: number, vouchesThrough: number): Promise<FencedOutcome> {
    return this.transaction(async (client) => {
      if (await this.fenced(client, term)) return 'fenced';
      if (vouchesThrough > 0 && (await client.query('SELECT 1 FROM page_log_records WHERE lsn = $1', [vouchesThrough])).rowCount === 0) {
        throw new PageLogError(`the record at LSN ${vouchesThrough}, which the checkpoint follows, is not stored in ${this.location}`, {
          uri: this.location, lsn: vouchesThrough,
        }, ErrorCode.PageLog);
      }
      await client.query('INSERT INTO page_log_records (lsn, table_id, page_id, kind, entry, image) VALUES ($1, 0, 0, $2, $3, $4)', [
        entry.lsn, RecordKind.Completion, encodeLogEntry(entry), Buffer.alloc(0),
      ]);
      await client.query('INSERT INTO page_log_checkpoints (lsn, body) VALUES ($1, $2)', [entry.lsn, body]);
      return 'written';
    });
  }

  async remove(records: readonly StoredRecordKey[], term: number, options: { keepLeased: boolean }): Promise<'removed' | 'fenced' | 'leased'> {
    return this.transaction(async (client) => {
      // FOR SHARE of the head also waits for a lease being written: its transaction holds the
      // head FOR UPDATE, so the leases read below include it.
      if (await this.fenced(client, term)) return 'fenced';
      const completions = records.filter((record) => record.kind === RecordKind.Completion).map((record) => record.lsn);
      if (options.keepLeased && completions.length > 0) {
        const rows = (await client.query(`SELECT record, ${NOW_MS} AS now FROM page_log_leases`)).rows;
        const now = rows.length === 0 ? 0 : toNumber(rows[0].now);
        const leased = new Set(leasedCheckpoints(rows.map((row) => decodeLeaseRecord(row.record as Buffer)), now));
        if (completions.some((lsn) => leased.has(lsn))) return 'leased';
      }
      const lsns = records.map((record) => record.lsn);
      await client.query('DELETE FROM page_log_records WHERE lsn = ANY($1::bigint[])', [lsns]);
      if (completions.length > 0) await client.query('DELETE FROM page_log_checkpoints WHERE lsn = ANY($1::bigint[])', [completions]);
      return 'removed';
    });
  }

  async sync(): Promise<void> {
    // A transaction is durable once its COMMIT returns (synchronous_commit): nothing waits.
  }

  async close(_abrupt: boolean): Promise<void> {
    await this.reader.close();
    await this.writer.end().catch(() => undefined);
  }

  /** True when a term above `term` is recorded; holds the head row FOR SHARE until the transaction ends. */
  private async fenced(client: Transaction, term: number): Promise<boolean> {
    const newest = toNumber((await client.query('SELECT newest_term FROM page_log_head FOR SHARE')).rows[0].newest_term);
    return newest > term;
  }

  /**
   * Runs `work` in one transaction on the write connection: committed when it resolves,
   * rolled back when it throws. A server out of reach is `STORE_UNAVAILABLE`.
   */
  private async transaction<T>(work: (client: Transaction) => Promise<T>): Promise<T> {
    if (this.readOnly) throw new PageLogError(`the page log at ${this.location} is open read-only`, { uri: this.location }, ErrorCode.ReadOnly);
    let client: Transaction;
    try {
      client = await this.writer.connect();
    } catch (error) {
      throw this.failure(error);
    }
    let broken: unknown;
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollback: unknown) => {
        broken = rollback;
      });
      if (error instanceof PageLogError) throw error;
      const code = (error as { code?: string }).code;
      if (isUnreachable(code)) broken ??= error;
      throw this.failure(error);
    } finally {
      // A connection that failed is dropped: the next transaction opens a new one.
      client.release(broken === undefined ? undefined : broken instanceof Error ? broken : new Error(String(broken)));
    }
  }

  private failure(error: unknown): PageLogError {
    if (error instanceof PageLogError) return error;
    const failure = error as Error & { code?: string };
    return postgresError({ message: failure.message, code: failure.code }, this.url);
  }
}
