import type { PageSizes } from '../btree/index.js';
import { ConfigError, ErrorCode, SchemaError } from '../errors.js';
import {
  getConfigRaw, getConfigValue, ItemFormat, NO_LOG_CHECKPOINT_LSN, parseBoolean, parseConfig, parseSize, quoteIfNeeded, rejectUnknownKeys,
  stripParens,
} from '../format/index.js';

/**
 * Metadata entries as WiredTiger writes them (FORMATS.md 7.2): `table:NAME` ->
 * `colgroup:NAME` -> `file:NAME.wt`, the file entry holding `id=`, the formats and the
 * checkpoint. Pure string building and checking; storage lives in `metadata.ts`.
 */

/** Page-log table ids the system owns; no user table takes them. */
export const RESERVED_TABLE_IDS: ReadonlySet<number> = new Set([2, 10, 26]);
export const METADATA_FILE = 'WiredTiger.wt';
export const HISTORY_STORE_FILE = 'WiredTigerHS.wt';
export const HISTORY_STORE_ID = 1;

/** Keys a caller may pass to `createTable`. */
export const CREATE_CONFIG_KEYS: ReadonlySet<string> = new Set([
  'key_format', 'value_format', 'allocation_size', 'leaf_page_max', 'internal_page_max', 'split_pct',
  'app_metadata', 'columns', 'collator', 'checksum', 'block_compressor', 'prefix_compression',
  'leaf_value_max', 'leaf_key_max', 'memory_page_max', 'log', 'type', 'access_pattern_hint', 'exclusive',
]);

/**
 * A table's settings: its formats, its page sizes (`leaf_key_max` and `leaf_value_max` in
 * bytes, 0 by default: derived from the page size) and what its entries repeat.
 */
export interface TableSettings extends PageSizes {
  keyFormat: string;
  valueFormat: string;
  appMetadata: string;
  /** The `columns` of the table entry as written (`(k,v)`), or '' for none. */
  columns: string;
}

/** Validates a caller's `createTable` configuration and fills in defaults. */
export function parseCreateConfig(config: string): TableSettings {
  rejectUnknownKeys(config, CREATE_CONFIG_KEYS, 'table');
  const settings = settingsFromFileConfig(config);
  const formatColumns = new ItemFormat(settings.keyFormat).columns.length + new ItemFormat(settings.valueFormat).columns.length;
  if (settings.columns !== '') {
    const names = parseConfig(stripParens(settings.columns)).map((entry) => entry.key);
    if (names.length !== formatColumns || names.some((name, i) => names.indexOf(name) !== i)) {
      throw new ConfigError(`columns ${settings.columns} must name each of the ${formatColumns} key and value columns once`, { key: 'columns' });
    }
  }
  const a = settings.allocationSize;
  if (a < 512 || a > 128 * 1024 * 1024 || (a & (a - 1)) !== 0) {
    throw new ConfigError(`allocation_size ${a} must be a power of two from 512B to 128MB`, { key: 'allocation_size' });
  }
  for (const key of ['leafPageMax', 'internalPageMax'] as const) {
    if (settings[key] % a !== 0) {
      throw new ConfigError(`${key === 'leafPageMax' ? 'leaf_page_max' : 'internal_page_max'} must be a multiple of allocation_size`, { key });
    }
  }
  if (!(settings.splitPct >= 50 && settings.splitPct <= 100)) {
    throw new ConfigError('split_pct must be from 50 to 100', { key: 'split_pct' });
  }
  return settings;
}

/** Reads the settings of a configuration (WiredTiger's defaults for absent keys). */
export function settingsFromFileConfig(config: string): TableSettings {
  const get = (key: string): string | undefined => getConfigValue(config, key);
  return {
    keyFormat: get('key_format') ?? 'u',
    valueFormat: get('value_format') ?? 'u',
    allocationSize: parseSize(get('allocation_size') ?? '4KB', 'allocation_size'),
    leafPageMax: parseSize(get('leaf_page_max') ?? '32KB', 'leaf_page_max'),
    internalPageMax: parseSize(get('internal_page_max') ?? '4KB', 'internal_page_max'),
    splitPct: Number(get('split_pct') ?? 90),
    leafKeyMax: parseSize(get('leaf_key_max') ?? '0', 'leaf_key_max'),
    leafValueMax: parseSize(get('leaf_value_max') ?? '0', 'leaf_value_max'),
    appMetadata: get('app_metadata') ?? '',
    columns: getConfigRaw(config, 'columns') ?? '',
  };
}

const sizeText = (bytes: number): string =>
  bytes === 0 ? '0' : bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)}MB` : bytes % 1024 === 0 ? `${bytes / 1024}KB` : `${bytes}`;

/** The `table:` entry. */
export function tableEntry(s: TableSettings): string {
  return `app_metadata=${quoteIfNeeded(s.appMetadata)},assert=(commit_timestamp=none,durable_timestamp=none,read_timestamp=none,write_timestamp=off),`
    + `colgroups=,collator=,columns=${s.columns},key_format=${s.keyFormat},value_format=${s.valueFormat},verbose=[],write_timestamp_usage=none`;
}

/** WiredTiger's `tiered_storage` group of a `file:` entry for a file not in tiered storage. */
const TIERED_STORAGE = 'tiered_storage=(auth_token=,bucket=,bucket_prefix=,cache_directory=,local_retention=300,name=,object_target_size=0)';

/** The `colgroup:` entry naming its `file:` source; it repeats the table's columns, as WiredTiger's does. */
export function colgroupEntry(fileName: string, columns = ''): string {
  return `app_metadata=,assert=(commit_timestamp=none,durable_timestamp=none,read_timestamp=none,write_timestamp=off),`
    + `collator=,columns=${columns},source="file:${fileName}",type=file,verbose=[],write_timestamp_usage=none`;
}

/**
 * Whether a table's commits are journaled, as its entries' `log=(enabled=...)` says: every
 * local table is (whenever the connection journals, as WiredTiger logs a table whose entry says
 * true whenever its log is on), a shared table never (the server recovers it from the oplog). A
 * create asking for the other is refused rather than recorded as something the table is not.
 */
export function tableLogging(config: string, shared: boolean): boolean {
  const raw = getConfigRaw(config, 'log');
  const asked = raw === undefined ? undefined : getConfigValue(stripParens(raw), 'enabled');
  if (asked !== undefined && parseBoolean(asked, 'log') !== !shared) {
    throw new ConfigError(`log=(enabled=${asked}) is not available: ${shared ? 'shared tables are never journaled' : 'local tables are journaled whenever the connection journals'}`, { key: 'log' });
  }
  return !shared;
}

/** What differs between the `file:` entries WiredTiger writes for user tables and system files. */
interface FileEntryOptions {
  settings: TableSettings;
  id: number;
  checkpoint: string;
  shared: boolean;
  blockCompressor?: string;
  /** The entry's `log=(enabled=...)` (`tableLogging`). */
  logged: boolean;
  /** The journal's `checkpoint_lsn`; none (logging off) by default. */
  checkpointLsn?: string;
}

/** A `file:` entry with every key WiredTiger writes, in its order. */
function fullFileEntry(o: FileEntryOptions): string {
  const s = o.settings;
  return `access_pattern_hint=none,allocation_size=${sizeText(s.allocationSize)},app_metadata=${quoteIfNeeded(s.appMetadata)},`
    + `assert=(commit_timestamp=none,durable_timestamp=none,read_timestamp=none,write_timestamp=off),block_allocation=best,`
    + `block_compressor=${o.blockCompressor ?? ''},${o.shared ? 'block_manager=disagg,' : ''}cache_resident=false,checksum=on,collator=,columns=${s.columns},dictionary=0,encryption=(keyid=,name=),format=btree,`
    + `huffman_key=,huffman_value=,id=${o.id},ignore_in_memory_cache_size=false,internal_item_max=0,internal_key_max=0,`
    + `internal_key_truncate=true,internal_page_max=${sizeText(s.internalPageMax)},key_format=${s.keyFormat},key_gap=10,`
    + `leaf_item_max=0,leaf_key_max=${sizeText(s.leafKeyMax)},leaf_page_max=${sizeText(s.leafPageMax)},leaf_value_max=${sizeText(s.leafValueMax)},log=(enabled=${o.logged}),`
    + `memory_page_image_max=0,memory_page_max=5MB,os_cache_dirty_max=0,os_cache_max=0,prefix_compression=false,`
    + `prefix_compression_min=4,readonly=false,split_deepen_min_child=0,split_deepen_per_child=0,split_pct=${s.splitPct},`
    + `tiered_object=false,${TIERED_STORAGE},value_format=${s.valueFormat},verbose=[],version=(major=1,minor=1),write_timestamp_usage=none,`
    + `checkpoint=${o.checkpoint},checkpoint_backup_info=,checkpoint_lsn=${o.checkpointLsn ?? NO_LOG_CHECKPOINT_LSN}`;
}

/**
 * The `file:` entry. `shared` tables name the page-log block manager (`block_manager=disagg`,
 * as WiredTiger's disaggregated branch does) and keep their pages under `id` in the page log.
 */
export function fileEntry(settings: TableSettings, id: number, checkpoint: string, shared: boolean): string {
  return fullFileEntry({ settings, id, checkpoint, shared, logged: !shared });
}

const SYSTEM_FILE_SETTINGS: TableSettings = {
  keyFormat: 'S', valueFormat: 'S', allocationSize: 4096, leafPageMax: 32 * 1024, internalPageMax: 4 * 1024, splitPct: 90,
  leafKeyMax: 0, leafValueMax: 0, appMetadata: '', columns: '',
};

/** The metadata file's own entry for the turtle file. */
/** `checkpointLsn` is the journal's `checkpoint_lsn` (`(file,offset)`), or none with logging off. */
export function metadataFileEntry(checkpoint: string, checkpointLsn: string = NO_LOG_CHECKPOINT_LSN): string {
  return fullFileEntry({ settings: SYSTEM_FILE_SETTINGS, id: 0, checkpoint, shared: false, logged: true, checkpointLsn });
}

/** The history store's entry: WiredTiger's read-only tools need the file and its entry. */
export function historyStoreEntry(checkpoint: string): string {
  return fullFileEntry({
    settings: { ...SYSTEM_FILE_SETTINGS, keyFormat: 'IuQQ', valueFormat: 'QQQu', internalPageMax: 16 * 1024, leafValueMax: 64 * 1024 * 1024 },
    id: HISTORY_STORE_ID, checkpoint, shared: false, logged: false, blockCompressor: 'none',
  });
}

/** Checks a table name: it becomes a file name, so it cannot leave the home. */
export function checkTableName(uri: string): string {
  if (!uri.startsWith('table:')) {
    throw new SchemaError(ErrorCode.InvalidArgument, `"${uri}" is not a table: URI`, { uri });
  }
  const name = uri.slice('table:'.length);
  if (name.length === 0 || name.length > 200 || /[/\\\0]/.test(name) || name.startsWith('.') || name.includes('..')
    || name.startsWith('WiredTiger')) {
    throw new SchemaError(ErrorCode.InvalidArgument, `table name "${name}" is not allowed`, { uri });
  }
  return name;
}

/** The file id of a `file:` entry. */
export function fileId(config: string): number {
  const raw = getConfigValue(config, 'id');
  const id = Number(raw);
  if (raw === undefined || !Number.isInteger(id) || id < 0) {
    throw new ConfigError('file entry lacks a valid id', { key: 'id' });
  }
  return id;
}

/** The `file:` URI a `colgroup:` entry names. */
export function colgroupSource(config: string): string | undefined {
  return getConfigValue(config, 'source');
}

export function isSharedFile(config: string): boolean {
  return parseConfig(config).some((e) => e.key === 'block_manager' && e.raw === 'disagg');
}

/**
 * The local metadata entry naming the disaggregated checkpoint the local checkpoint goes with:
 * `lsn=` its completion record, `page_log=` the identity of the log holding it. The local
 * turtle file's rename commits both: a crash between the completion record and the rename
 * reopens the previous pair. A follower's home records `role=follower` and the checkpoint it
 * had picked up (`lsn=0` before its first): it writes no shared checkpoint of its own, and
 * opens the newest one (its identity check still holds).
 */
export const PAIRED_CHECKPOINT_KEY = 'system:disagg_checkpoint';

/** What the local metadata says of the disaggregated checkpoint it goes with. */
export interface PairedCheckpoint {
  /** The completion record's LSN (0: a follower that had picked up none). */
  lsn: number;
  /** The identity of the page log holding it, when the entry names one. */
  pageLog: string | undefined;
  /** `follower` when a follower wrote the entry; a leader's entry has no role. */
  role?: 'follower';
}

export function pairedCheckpointEntry(paired: { lsn: number; pageLog: string; role?: 'follower' }): string {
  return `lsn=${paired.lsn},page_log=${paired.pageLog}${paired.role === 'follower' ? ',role=follower' : ''}`;
}

/**
 * Parses the entry; throws `ConfigError` when its `lsn` is missing or not a positive integer
 * (0 is allowed for a follower's entry).
 */
export function parsePairedCheckpoint(value: string): PairedCheckpoint {
  const lsn = Number(getConfigValue(value, 'lsn'));
  const follower = getConfigValue(value, 'role') === 'follower';
  if (!Number.isSafeInteger(lsn) || lsn < (follower ? 0 : 1)) {
    throw new ConfigError(`${PAIRED_CHECKPOINT_KEY} does not name a completion record LSN: "${value}"`, { key: PAIRED_CHECKPOINT_KEY });
  }
  return { lsn, pageLog: getConfigValue(value, 'page_log'), ...(follower ? { role: 'follower' as const } : {}) };
}
