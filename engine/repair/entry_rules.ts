import { ErrorCode, RepairError } from '../errors.js';
import { parseConfig, quoteIfNeeded } from '../format/index.js';

/** The kind of metadata entry a spot-fix rewrites. */
export type EntryKind = 'file' | 'colgroup' | 'table';

/**
 * What changing a key of a metadata entry means, and so what else must change with it:
 * - `movesPages`: the file id; a shared table's pages move to the new page-log table id.
 * - `emptyTableOnly`: the key and value formats; the records would no longer decode, so the
 *   change is refused unless the table holds no record. Kept equal in the `file:` and `table:`
 *   entries.
 * - `nextOpen`: page sizes the engine reads when it opens the tree; written now, used from
 *   the next open.
 * - `free`: the engine does not read it (application metadata, settings only WiredTiger
 *   interprets); written as given, nothing else changes. Only these may be unset.
 * - `checkpointManaged`: written by every checkpoint; a spot-fix would be overwritten or would
 *   point at pages that do not exist.
 * - `fixedAtCreate`: the pages or the file depend on it (allocation size, compression, the
 *   block manager, the colgroup's source); changing it would make the data unreadable.
 */
export type EntryKeyRule = 'movesPages' | 'emptyTableOnly' | 'nextOpen' | 'free' | 'checkpointManaged' | 'fixedAtCreate';

const FREE_COMMON = ['app_metadata', 'assert', 'verbose', 'write_timestamp_usage'];

const FILE_RULES: Record<string, EntryKeyRule> = {
  ...Object.fromEntries([
    ...FREE_COMMON, 'access_pattern_hint', 'block_allocation', 'cache_resident', 'ignore_in_memory_cache_size',
    'internal_item_max', 'internal_key_max', 'internal_key_truncate', 'key_gap', 'leaf_item_max', 'leaf_key_max',
    'leaf_value_max', 'log', 'memory_page_image_max', 'memory_page_max', 'os_cache_dirty_max', 'os_cache_max',
    'readonly', 'split_deepen_min_child', 'split_deepen_per_child', 'tiered_object', 'tiered_storage',
  ].map((key) => [key, 'free' as const])),
  ...Object.fromEntries([
    'allocation_size', 'block_compressor', 'block_manager', 'checksum', 'collator', 'columns', 'dictionary',
    'encryption', 'format', 'huffman_key', 'huffman_value', 'prefix_compression', 'prefix_compression_min', 'version',
  ].map((key) => [key, 'fixedAtCreate' as const])),
  checkpoint: 'checkpointManaged',
  checkpoint_backup_info: 'checkpointManaged',
  checkpoint_lsn: 'checkpointManaged',
  id: 'movesPages',
  key_format: 'emptyTableOnly',
  value_format: 'emptyTableOnly',
  leaf_page_max: 'nextOpen',
  internal_page_max: 'nextOpen',
  split_pct: 'nextOpen',
};

const TABLE_RULES: Record<string, EntryKeyRule> = {
  ...Object.fromEntries(FREE_COMMON.map((key) => [key, 'free' as const])),
  colgroups: 'fixedAtCreate',
  collator: 'fixedAtCreate',
  columns: 'fixedAtCreate',
  key_format: 'emptyTableOnly',
  value_format: 'emptyTableOnly',
};

const COLGROUP_RULES: Record<string, EntryKeyRule> = {
  ...Object.fromEntries(FREE_COMMON.map((key) => [key, 'free' as const])),
  collator: 'fixedAtCreate',
  columns: 'fixedAtCreate',
  source: 'fixedAtCreate',
  type: 'fixedAtCreate',
};

const RULES: Record<EntryKind, Record<string, EntryKeyRule>> = { file: FILE_RULES, table: TABLE_RULES, colgroup: COLGROUP_RULES };

const WHY_REFUSED: Partial<Record<EntryKeyRule, string>> = {
  checkpointManaged: 'every checkpoint writes it',
  fixedAtCreate: 'the table\'s pages depend on it; it is fixed when the table is created',
};

/** The rule for `key` in an entry of `kind`, or undefined for a key such entries never hold. */
export function entryKeyRule(kind: EntryKind, key: string): EntryKeyRule | undefined {
  return Object.hasOwn(RULES[kind], key) ? RULES[kind][key] : undefined;
}

/** The keys an entry of `kind` may hold, sorted. */
export function knownEntryKeys(kind: EntryKind): string[] {
  return Object.keys(RULES[kind]).sort();
}

/** The kind of entry a metadata key names, or undefined for other keys. */
export function entryKindOf(uri: string): EntryKind | undefined {
  const prefix = uri.slice(0, uri.indexOf(':'));
  return prefix === 'file' || prefix === 'colgroup' || prefix === 'table' ? prefix : undefined;
}

/** A spot-fix request as checked: every key with its rule and its value as configuration text. */
export interface CheckedEntryChange {
  kind: EntryKind;
  set: Map<string, { raw: string; rule: EntryKeyRule }>;
  unset: string[];
}

/**
 * Checks the keys of a spot-fix of an entry of `kind`: every key known, none checkpoint-managed
 * or fixed at create, only free keys unset, no key both set and unset. Values are configuration
 * text; a value that is not one (a string with commas, say) is quoted.
 */
export function checkEntryChange(kind: EntryKind, uri: string, set: Record<string, string | number | boolean>, unset: readonly string[]): CheckedEntryChange {
  const checked: CheckedEntryChange = { kind, set: new Map(), unset: [] };
  const known = (key: string): EntryKeyRule => {
    const rule = entryKeyRule(kind, key);
    if (rule === undefined) {
      throw new RepairError(`"${key}" is not a key of a ${kind}: entry; known keys: ${knownEntryKeys(kind).join(', ')}`, { uri, key }, ErrorCode.ConfigUnknownKey);
    }
    const why = WHY_REFUSED[rule];
    if (why) throw new RepairError(`"${key}" of ${uri} cannot be changed: ${why}`, { uri, key }, ErrorCode.InvalidArgument);
    return rule;
  };
  for (const [key, value] of Object.entries(set)) {
    const rule = known(key);
    checked.set.set(key, { raw: configValueText(key, String(value), uri), rule });
  }
  for (const key of unset) {
    const rule = known(key);
    if (rule !== 'free') throw new RepairError(`"${key}" of ${uri} cannot be unset: only keys the engine does not read can`, { uri, key }, ErrorCode.InvalidArgument);
    if (checked.set.has(key)) throw new RepairError(`"${key}" is both set and unset`, { uri, key }, ErrorCode.InvalidArgument);
    checked.unset.push(key);
  }
  if (checked.set.size === 0 && checked.unset.length === 0) {
    throw new RepairError(`nothing to change in ${uri}: give set or unset`, { uri }, ErrorCode.InvalidArgument);
  }
  return checked;
}

/**
 * `value` as the configuration text of one value of `key`: a plain token, a `(...)` group, a
 * `[...]` list or a quoted string as it is; any other text quoted.
 */
function configValueText(key: string, value: string, uri: string): string {
  const structured = /^[(["]/.test(value);
  const raw = structured ? value : quoteIfNeeded(value);
  try {
    const entries = parseConfig(`${key}=${raw}`);
    if (entries.length === 1 && entries[0]!.key === key && entries[0]!.raw === raw) return raw;
  } catch {
    // Reported below.
  }
  throw new RepairError(`the value of "${key}" is not a configuration value: ${JSON.stringify(value)}`, { uri, key }, ErrorCode.InvalidArgument);
}
