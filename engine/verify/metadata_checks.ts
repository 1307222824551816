import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { getConfigRaw, getConfigValue, parseConfig, parseNested } from '../format/index.js';
import { errorMessage, FindingCode, type FindingSink } from './findings.js';
import { METADATA_FILE } from '../meta/index.js';
import { isSharedFileConfig, METADATA_URI, type MetadataEntry } from './home.js';

/**
 * Checks between metadata entries (FORMATS.md 7.2, DESIGN.md 3.1): file ids unique across the
 * local and shared metadata, `table:` -> `colgroup:` -> `file:` chains complete, files that
 * entries name present, and `.wt` files that no entry names.
 */

/** Page-log table ids the system owns (turtle page, shared metadata, key-provider page). */
export const RESERVED_TABLE_IDS: ReadonlySet<number> = new Set([2, 10, 26]);

/** What the metadata checks look at. */
export interface MetadataView {
  home: string;
  /** The metadata file's own entry (id 0), when known. */
  metadataConfig: string | undefined;
  entries: MetadataEntry[];
  /** `largest_file_id` of the newest turtle page, in disaggregated mode. */
  largestFileId?: number;
  /** Files that journaled creates name (`checkJournal`): the next writable open replays them. */
  journalNamedFiles?: ReadonlySet<string>;
}

const where = (entry: MetadataEntry): { uri: string; file?: string; tableId?: number } =>
  entry.shared ? { uri: entry.key, tableId: 10 } : { uri: entry.key, file: METADATA_FILE };

/** The file name a local `file:` entry names. */
export function fileNameOf(uri: string): string {
  return uri.slice('file:'.length);
}

/** The file id of an entry, or undefined (reported) when it has none. */
function idOf(entry: MetadataEntry, sink: FindingSink): number | undefined {
  let raw: string | undefined;
  try {
    raw = getConfigValue(entry.value, 'id');
  } catch {
    raw = undefined;
  }
  if (raw === undefined || !/^\d+$/.test(raw)) {
    sink.error(FindingCode.FileIdMissing, `${entry.key} has no valid id (${raw === undefined ? 'absent' : `"${raw}"`})`, where(entry));
    return undefined;
  }
  return Number(raw);
}

/**
 * Runs the checks. With `only` set, checks just the chain of those `table:` URIs and the ids
 * of their files (against every entry).
 */
export function checkMetadata(view: MetadataView, sink: FindingSink, only?: ReadonlySet<string>): void {
  const parsed = new Map<MetadataEntry, boolean>();
  for (const entry of view.entries) {
    try {
      parseConfig(entry.value);
      parsed.set(entry, true);
    } catch (error) {
      parsed.set(entry, false);
      if (only === undefined) sink.error(FindingCode.MetadataEntryInvalid, `${entry.key} does not parse: ${errorMessage(error)}`, where(entry));
    }
  }
  const usable = view.entries.filter((e) => parsed.get(e));
  const byKey = (shared: boolean): Map<string, MetadataEntry> => new Map(usable.filter((e) => e.shared === shared).map((e) => [e.key, e]));
  const stores = [byKey(false), byKey(true)];
  const wantedFiles = new Set<string>();

  // table: -> colgroup: -> file:
  for (const store of stores) {
    for (const [key, entry] of store) {
      if (!key.startsWith('table:')) continue;
      if (only !== undefined && !only.has(key)) continue;
      const name = key.slice('table:'.length);
      const groups = parseNested(getConfigRaw(entry.value, 'colgroups') ?? '').map((e) => e.key);
      const colgroups = groups.length === 0 ? [`colgroup:${name}`] : groups.map((g) => `colgroup:${name}:${g}`);
      for (const colgroupKey of colgroups) {
        const colgroup = store.get(colgroupKey);
        if (colgroup === undefined) {
          sink.error(FindingCode.ColgroupMissing, `${key} has no ${colgroupKey} entry`, where(entry));
          continue;
        }
        const source = getConfigValue(colgroup.value, 'source');
        if (source === undefined || source === '') {
          sink.error(FindingCode.ColgroupSourceMissing, `${colgroupKey} names no source`, where(colgroup));
          continue;
        }
        wantedFiles.add(source);
        if (!store.has(source)) sink.error(FindingCode.FileEntryMissing, `${colgroupKey} names ${source}, which has no metadata entry`, where(colgroup));
      }
    }
    if (only !== undefined) continue;
    for (const key of store.keys()) {
      if (!key.startsWith('colgroup:')) continue;
      const table = `table:${key.slice('colgroup:'.length).split(':')[0]}`;
      if (!store.has(table)) sink.warning(FindingCode.MetadataEntryInvalid, `${key} belongs to no ${table} entry`, where(store.get(key)!));
    }
  }

  // File ids: unique across both metadata stores; shared ones off the reserved ids.
  const ids = new Map<number, string[]>();
  if (view.metadataConfig !== undefined) ids.set(0, [METADATA_URI]);
  let largestId = 0;
  for (const entry of usable) {
    if (!entry.key.startsWith('file:')) continue;
    const checked = only === undefined || wantedFiles.has(entry.key);
    const id = checked ? idOf(entry, sink) : idOfQuiet(entry);
    if (id === undefined) continue;
    largestId = Math.max(largestId, id);
    ids.set(id, [...(ids.get(id) ?? []), entry.key]);
    const shared = entry.shared && isSharedFileConfig(entry.value);
    if (checked && shared && RESERVED_TABLE_IDS.has(id)) {
      sink.error(FindingCode.FileIdReserved, `${entry.key} uses id ${id}, a page-log table id the system owns`, { ...where(entry), tableId: id });
    }
    if (checked && !shared && !existsSync(join(view.home, fileNameOf(entry.key)))) {
      sink.error(FindingCode.FileMissing, `${entry.key} names ${fileNameOf(entry.key)}, which does not exist`, { uri: entry.key, file: fileNameOf(entry.key) });
    }
  }
  for (const [id, uris] of ids) {
    if (uris.length < 2) continue;
    if (only !== undefined && !uris.some((u) => wantedFiles.has(u))) continue;
    sink.error(FindingCode.FileIdDuplicate, `file id ${id} is used by ${uris.join(', ')}`, { uri: uris[1]!, tableId: id });
  }
  if (only === undefined && view.largestFileId !== undefined && largestId > view.largestFileId) {
    sink.warning(FindingCode.FileIdAboveLargest, `file id ${largestId} is above the turtle page's largest_file_id ${view.largestFileId}`, { tableId: largestId });
  }

  if (only === undefined) {
    const named = new Set(usable.filter((e) => e.key.startsWith('file:') && !(e.shared && isSharedFileConfig(e.value))).map((e) => fileNameOf(e.key)));
    named.add(METADATA_FILE);
    // A create the journal holds (no checkpoint yet) names its file: the next open replays it.
    for (const file of view.journalNamedFiles ?? []) named.add(file);
    let files: string[] = [];
    try {
      files = readdirSync(view.home).filter((f) => f.endsWith('.wt') && statSync(join(view.home, f)).isFile());
    } catch {
      files = [];
    }
    for (const file of files.sort()) {
      if (!named.has(file)) sink.warning(FindingCode.FileUnreferenced, `${file} is named by no metadata entry`, { file });
    }
  }
}

function idOfQuiet(entry: MetadataEntry): number | undefined {
  try {
    const raw = getConfigValue(entry.value, 'id');
    return raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : undefined;
  } catch {
    return undefined;
  }
}
