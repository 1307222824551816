import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { EngineError, ErrorCode, IoError } from '../errors.js';
import {
  decodeFileCheckpointCookie, encodeFileAddress, getConfigValue, parseConfig, TURTLE_BACKUP_FILE, TURTLE_FILE,
  TURTLE_TEMP_FILE, type CheckedTurtle, type TurtleFile,
} from '../format/index.js';
import {
  METADATA_FILE, PAIRED_CHECKPOINT_KEY, parsePairedCheckpoint, readTurtleFile, requireMetadataCheckpoint, turtleBackupState, type PairedCheckpoint,
} from '../meta/index.js';
import { displayLocation, openPageLog, probePageLog, SHARED_METADATA_TABLE_ID, type PageLog } from '../page_log/index.js';
import {
  checkCompletion, completionAt, readCompletions, latestCheckpointMetadata,
  type CheckpointMetadata,
} from './disagg.js';
import {
  allocationSizeOf, checkpointsOf, verifyLocalFile, verifySharedTree,
} from './file_checks.js';
import { errorMessage, FindingCode, type FindingSink } from './findings.js';
import { FileSource, PageLogSource } from './sources.js';
import { TreeWalker, type LeafRecords, type StoredRecord, type TreeWalkSummary } from './tree.js';

/**
 * Reading a stopped home without the engine: the local turtle file, the local metadata
 * (`WiredTiger.wt`), and in disaggregated mode the page log's newest checkpoint and the shared
 * metadata. Every problem met on the way is reported to the sink; what can be read is kept.
 */

/** The URI the local metadata file's entry in the turtle file has. */
export const METADATA_URI = 'file:WiredTiger.wt';
/** The shared metadata btree (page-log table 10), as WiredTiger names it. */
export const SHARED_METADATA_URI = 'file:WiredTigerShared.wt_stable';
export const SHARED_METADATA_NAME = 'WiredTigerShared.wt_stable';
/** Where a home keeps its page log unless told otherwise. */
export const PAGE_LOG_DIRECTORY = 'pagelog';

/** One metadata entry, from the local metadata or the shared one. */
export interface MetadataEntry {
  key: string;
  value: string;
  shared: boolean;
}

/** How `HomeReader.open` reads a home. */
export interface HomeReadOptions {
  /** Page log location (default `HOME/pagelog`); only read when it exists. */
  pageLogPath?: string;
  /**
   * Verification mode: run the space checks on `WiredTiger.wt`, check every completion
   * record (not only the newest) and the key-provider pages they name.
   */
  verify?: boolean;
}

/** Decodes an `S`-format metadata item (NUL-terminated UTF-8); undefined when it is not one. */
export function decodeMetadataString(bytes: Buffer): string | undefined {
  if (bytes.length === 0 || bytes[bytes.length - 1] !== 0 || bytes.indexOf(0) !== bytes.length - 1) return undefined;
  return bytes.toString('utf8', 0, bytes.length - 1);
}

/** True when `config` names the page-log block manager (a shared table's `file:` entry). */
export function isSharedFileConfig(config: string): boolean {
  try {
    return parseConfig(config).some((e) => e.key === 'block_manager' && e.raw === 'disagg');
  } catch {
    return false;
  }
}

/** A home opened for reading. Close it to release the page log. */
export class HomeReader {
  turtle: TurtleFile | undefined;
  /** The metadata file's own entry, from the turtle file. */
  metadataConfig: string | undefined;
  readonly localEntries: MetadataEntry[] = [];
  readonly sharedEntries: MetadataEntry[] = [];
  pageLog: PageLog | undefined;
  /** The newest sound disaggregated checkpoint. */
  checkpoint: CheckpointMetadata | undefined;
  /** Every completion record checked (verification mode), oldest first. */
  checkedCompletions: CheckpointMetadata[] = [];

  private constructor(readonly home: string, private readonly sink: FindingSink) {}

  /**
   * Opens `home`. Throws `IoError` (`MISSING_FILE`) only when it is not a database home at
   * all: a missing directory, or one without both `WiredTiger.turtle` and `WiredTiger.wt`.
   */
  static async open(home: string, sink: FindingSink, options: HomeReadOptions = {}): Promise<HomeReader> {
    requireHome(home);
    const reader = new HomeReader(home, sink);
    const pageLogPath = options.pageLogPath ?? join(home, PAGE_LOG_DIRECTORY);
    reader.readTurtleFile(pageLogPath);
    reader.readLocalMetadata(options.verify ?? false);
    const where = { file: options.pageLogPath === undefined ? PAGE_LOG_DIRECTORY : displayLocation(options.pageLogPath) };
    let presence: Awaited<ReturnType<typeof probePageLog>>;
    try {
      presence = await probePageLog(pageLogPath);
    } catch (error) {
      presence = { state: 'unreadable', file: pageLogPath, reason: errorMessage(error), code: 'IO' };
    }
    // Read once (a malformed entry is reported once); a page log that opens reads it itself.
    const paired = presence.state === 'present' ? undefined : reader.pairedCheckpoint();
    if (presence.state === 'empty' && paired === undefined) {
      // As the engine does: a store LMDB never initialised, which no checkpoint depends on, is a new one.
      sink.warning(FindingCode.PageLogEmpty, `${presence.file} is empty: a page log never initialised, which no checkpoint of this home names`, where);
    } else if (presence.state === 'present' || presence.state === 'empty') {
      try {
        reader.pageLog = await openPageLog(pageLogPath, { readOnly: true });
      } catch (error) {
        sink.error(FindingCode.PageLogUnreadable, `the page log does not open: ${errorMessage(error)}`, where);
      }
      if (reader.pageLog) {
        const keyPages = options.verify === true ? await import('./key_pages.js') : undefined;
        reader.readSharedMetadata(keyPages);
      }
    } else if (presence.state === 'unreadable') {
      sink.error(FindingCode.PageLogUnreadable, `the page log at ${displayLocation(pageLogPath)} does not read: ${presence.reason}`, where);
    } else if (options.pageLogPath !== undefined) {
      sink.error(FindingCode.PageLogUnreadable, `no page log at ${displayLocation(options.pageLogPath)}`, where);
    } else if (paired !== undefined) {
      // The engine refuses a home that pairs with a checkpoint when its page log is gone: so does verify.
      sink.error(FindingCode.PageLogMissing, `the home pairs with the checkpoint completed at LSN ${paired.lsn} of a page log, but ${presence.file} is missing`, {
        ...where, lsn: paired.lsn,
      });
    }
    return reader;
  }

  /**
   * The disaggregated checkpoint the local metadata of `home` pairs with, read without the
   * page log; undefined when it names none or does not read (findings go to `sink`).
   */
  static pairedCheckpointOf(home: string, sink: FindingSink): PairedCheckpoint | undefined {
    const reader = new HomeReader(home, sink);
    reader.readTurtleFile(join(home, PAGE_LOG_DIRECTORY));
    reader.readLocalMetadata(false);
    return reader.pairedCheckpoint();
  }

  get disaggregated(): boolean {
    return this.pageLog !== undefined;
  }

  /** Every metadata entry: local first, then shared. */
  get entries(): MetadataEntry[] {
    return [...this.localEntries, ...this.sharedEntries];
  }

  private readTurtleFile(pageLogPath: string): void {
    if (existsSync(join(this.home, TURTLE_TEMP_FILE))) {
      this.sink.warning(FindingCode.TurtleFileLeftover, `${TURTLE_TEMP_FILE} is left over from an interrupted turtle update`, { file: TURTLE_TEMP_FILE });
    }
    // The engine's own read and checks, so that a turtle the tool refuses never opens in the
    // server, and the other way round.
    let checked: CheckedTurtle | undefined;
    try {
      checked = readTurtleFile(this.home, true);
    } catch (error) {
      const missing = error instanceof EngineError && error.code === ErrorCode.MissingFile;
      const offset = error instanceof EngineError ? error.location.offset : undefined;
      this.sink.error(missing ? FindingCode.TurtleFileMissing : FindingCode.TurtleFileInvalid, errorMessage(error), {
        file: TURTLE_FILE, ...(offset === undefined ? {} : { offset }),
      });
      return;
    }
    if (checked === undefined) {
      this.sink.error(FindingCode.TurtleFileMissing, `${TURTLE_FILE} is missing`, { file: TURTLE_FILE });
      return;
    }
    this.turtle = checked.turtle;
    this.metadataConfig = checked.metadataConfig;
    try {
      requireMetadataCheckpoint(this.home, checked, pageLogPath);
    } catch (error) {
      this.sink.error(FindingCode.MetadataCheckpointMissing, errorMessage(error), { file: TURTLE_FILE, uri: METADATA_URI });
    }
    const backup = turtleBackupState(this.home, checked);
    if (backup.state === 'invalid') {
      this.sink.warning(FindingCode.TurtleBackupInvalid, `${TURTLE_BACKUP_FILE} is damaged (the next writable open rewrites it): ${errorMessage(backup.error)}`, { file: TURTLE_BACKUP_FILE });
    } else if (backup.state === 'stale') {
      this.sink.warning(FindingCode.TurtleBackupStale, `${TURTLE_BACKUP_FILE} names another metadata checkpoint than ${TURTLE_FILE} (the next writable open rewrites it)`, { file: TURTLE_BACKUP_FILE });
    }
  }

  private addEntry(record: StoredRecord, shared: boolean, where: { file?: string; tableId?: number }): void {
    const key = decodeMetadataString(record.key);
    const value = decodeMetadataString(record.value);
    if (key === undefined || value === undefined) {
      this.sink.error(FindingCode.MetadataEntryInvalid, `metadata entry ${record.key.toString('hex').slice(0, 64)} is not a pair of NUL-terminated strings`, where);
      return;
    }
    (shared ? this.sharedEntries : this.localEntries).push({ key, value, shared });
  }

  private readLocalMetadata(verify: boolean): void {
    if (this.metadataConfig === undefined) return;
    verifyLocalFile({
      path: join(this.home, METADATA_FILE), fileName: METADATA_FILE, uri: METADATA_URI, config: this.metadataConfig,
      spaceChecks: verify, onRecord: (record) => this.addEntry(record, false, { file: METADATA_FILE }),
    }, this.sink);
  }

  /** Reads the shared metadata; with `keyPages` (when verifying), checks every checkpoint on the way. */
  private readSharedMetadata(keyPages: typeof import('./key_pages.js') | undefined): void {
    const pageLog = this.pageLog!;
    const pairing = this.pairedCheckpoint();
    // A follower's home pairs with the log (identity) but opens its newest checkpoint, as the engine does.
    const paired = pairing?.role === 'follower' ? undefined : pairing;
    if (pairing?.role === 'follower' && pairing.pageLog !== undefined && pairing.pageLog !== pageLog.identity) {
      this.sink.error(FindingCode.PageLogMismatch, `the page log belongs to another database: this follower's home pairs with page log ${pairing.pageLog}, the log is ${pageLog.identity}`, {
        file: PAGE_LOG_DIRECTORY, lsn: pairing.lsn,
      });
      return;
    }
    if (paired?.pageLog !== undefined && paired.pageLog !== pageLog.identity) {
      // Its shared tables are another database's: reading them as this home's would mislead.
      this.sink.error(FindingCode.PageLogMismatch, `the page log belongs to another database: this home pairs with page log ${paired.pageLog}, the log is ${pageLog.identity}`, {
        file: PAGE_LOG_DIRECTORY, lsn: paired.lsn,
      });
      return;
    }
    if (keyPages !== undefined) {
      for (const completion of readCompletions(pageLog, this.sink)) {
        const checked = checkCompletion(pageLog, completion, this.sink);
        if (checked === undefined) continue;
        this.checkedCompletions.push(checked);
        const keyProvider = checked.turtle.keyProvider;
        if (keyProvider === undefined) continue;
        const page = keyPages.inspectKeyProviderAt(pageLog, keyProvider.lsn, this.sink);
        if (page === undefined) {
          this.sink.error(FindingCode.KeyProviderPageMissing, `the key-provider page named by the turtle page at LSN ${checked.turtleLsn} is missing`, { tableId: 26, pageId: keyProvider.pageId, lsn: keyProvider.lsn });
        } else {
          keyPages.reportKeyProviderProblems(page.inspection, true, this.sink);
        }
      }
      this.checkpoint = paired === undefined
        ? this.checkedCompletions[this.checkedCompletions.length - 1]
        : this.checkedCompletions.find((checked) => checked.completion.lsn === paired.lsn);
    } else if (paired === undefined) {
      this.checkpoint = latestCheckpointMetadata(pageLog, this.sink);
    } else {
      const completion = completionAt(pageLog, paired.lsn, this.sink);
      this.checkpoint = completion === undefined ? undefined : checkCompletion(pageLog, completion, this.sink);
    }
    if (paired !== undefined && this.checkpoint === undefined) {
      // The engine opens exactly this checkpoint, never a newer one a crash left unpaired.
      this.sink.error(FindingCode.PairedCheckpointMissing, `the local metadata pairs with the checkpoint completed at LSN ${paired.lsn}, which the page log does not hold sound`, {
        file: PAGE_LOG_DIRECTORY, lsn: paired.lsn,
      });
    }
    if (this.checkpoint === undefined) return;
    verifySharedTree({
      handle: pageLog.openHandle(SHARED_METADATA_TABLE_ID), uri: SHARED_METADATA_URI, file: SHARED_METADATA_NAME,
      config: `checkpoint=${this.checkpoint.turtle.checkpoint}`,
      onRecord: (record) => this.addEntry(record, true, { tableId: SHARED_METADATA_TABLE_ID }),
    }, this.sink);
  }

  /** The disaggregated checkpoint the local metadata pairs with; undefined when it names none. */
  private pairedCheckpoint(): PairedCheckpoint | undefined {
    const entry = this.localEntries.find((e) => e.key === PAIRED_CHECKPOINT_KEY);
    if (entry === undefined) return undefined;
    try {
      return parsePairedCheckpoint(entry.value);
    } catch (error) {
      this.sink.error(FindingCode.MetadataEntryInvalid, errorMessage(error), { file: METADATA_FILE, uri: PAIRED_CHECKPOINT_KEY });
      return undefined;
    }
  }

  /** The entry for `key` (local first), or undefined. */
  entry(key: string): MetadataEntry | undefined {
    return this.localEntries.find((e) => e.key === key) ?? this.sharedEntries.find((e) => e.key === key);
  }

  /**
   * Resolves `table:NAME`, `colgroup:NAME`, `file:NAME.wt` or a bare name to the `file:`
   * entry holding the data; undefined when there is none.
   */
  resolveFile(uri: string): { table: MetadataEntry | undefined; file: MetadataEntry } | undefined {
    const name = uri.includes(':') ? uri : `table:${uri}`;
    if (name === METADATA_URI || name === 'metadata:') {
      return this.metadataConfig === undefined ? undefined : { table: undefined, file: { key: METADATA_URI, value: this.metadataConfig, shared: false } };
    }
    if (name.startsWith('file:')) {
      const file = this.entry(name);
      return file && { table: undefined, file };
    }
    const tableName = name.replace(/^(table|colgroup):/, '');
    const table = this.entry(`table:${tableName}`);
    const colgroup = this.entry(`colgroup:${tableName}`);
    if (colgroup === undefined) return undefined;
    let source: string | undefined;
    try {
      source = getConfigValue(colgroup.value, 'source');
    } catch {
      return undefined;
    }
    if (source === undefined) return undefined;
    const file = colgroup.shared ? this.sharedEntries.find((e) => e.key === source) : this.localEntries.find((e) => e.key === source);
    return file && { table, file };
  }

  /**
   * The records of a `file:` entry's newest checkpoint, in key order, read through the tree
   * checks (problems go to the sink). `onSummary` receives the walk's counts at the end.
   */
  *records(file: MetadataEntry, onSummary?: (summary: TreeWalkSummary) => void): Generator<StoredRecord> {
    for (const leaf of this.leaves(file, onSummary)) yield* leaf;
  }

  /** `records`, a leaf at a time, as byte ranges: what a dump of a large table reads. */
  *leaves(file: MetadataEntry, onSummary?: (summary: TreeWalkSummary) => void): Generator<LeafRecords> {
    const where = { uri: file.key };
    const checkpoints = checkpointsOf(file.value, this.sink, where);
    const newest = checkpoints?.[checkpoints.length - 1];
    if (newest === undefined || newest.addr === '') return;
    if (file.shared && isSharedFileConfig(file.value)) {
      if (!this.pageLog) return;
      const id = Number(getConfigValue(file.value, 'id'));
      const source = new PageLogSource(this.pageLog.openHandle(id), file.key);
      const walker = new TreeWalker(source, this.sink, { ...source.where });
      yield* walker.leaves(Buffer.from(newest.addr, 'hex'));
      onSummary?.(walker.summary);
      return;
    }
    const fileName = file.key === METADATA_URI ? METADATA_FILE : file.key.slice('file:'.length);
    const allocationSize = allocationSizeOf(file.value, this.sink, where);
    let source: FileSource;
    try {
      source = new FileSource(join(this.home, fileName), fileName, allocationSize, file.key);
    } catch (error) {
      this.sink.error(FindingCode.FileMissing, `cannot open ${fileName}: ${errorMessage(error)}`, { file: fileName, uri: file.key });
      return;
    }
    try {
      let cookie;
      try {
        cookie = decodeFileCheckpointCookie(Buffer.from(newest.addr, 'hex'), allocationSize);
      } catch (error) {
        this.sink.error(FindingCode.CheckpointInvalid, `checkpoint cookie does not decode: ${errorMessage(error)}`, { file: fileName, uri: file.key });
        return;
      }
      if (cookie.root.size === 0) return;
      source.checkpointFileSize = cookie.fileSize;
      const walker = new TreeWalker(source, this.sink, { ...source.where });
      yield* walker.leaves(encodeFileAddress(cookie.root, allocationSize));
      onSummary?.(walker.summary);
    } finally {
      source.close();
    }
  }

  async close(): Promise<void> {
    await this.pageLog?.close();
    this.pageLog = undefined;
  }
}


/** Throws `IoError` (`MISSING_FILE`) when `home` is not a database home at all. */
export function requireHome(home: string): void {
  let isDirectory = false;
  try {
    isDirectory = statSync(home).isDirectory();
  } catch {
    isDirectory = false;
  }
  if (!isDirectory) throw new IoError(`${home} is not a directory`, { file: home }, ErrorCode.MissingFile);
  if (!existsSync(join(home, TURTLE_FILE)) && !existsSync(join(home, METADATA_FILE)) && !existsSync(join(home, TURTLE_TEMP_FILE))) {
    throw new IoError(`${home} is not a database home: it has no ${TURTLE_FILE} or ${METADATA_FILE}`, { file: home }, ErrorCode.MissingFile);
  }
}
