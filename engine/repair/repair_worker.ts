import { existsSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckpointInfo, EngineLogger } from '../api.js';
import type { ConnectionImpl } from '../connection/index.js';
import { ErrorCode, RepairError, SchemaError } from '../errors.js';
import { getConfigRaw, removeConfigKey, setConfigRaw, unquote } from '../format/index.js';
import { colgroupSource, fileId, parseCreateConfig, RESERVED_TABLE_IDS, syncDirectory } from '../meta/index.js';
import { readJournalNames } from '../log/index.js';
import { pitWrite, type PitMutation } from '../pit/index.js';
import { checkEntryChange, entryKeyRule, entryKindOf } from './entry_rules.js';

/** One inconsistency `detect` reports. */
export type RepairFinding =
  | { kind: 'idCollision'; id: number; uris: string[]; suggestedId: number }
  | { kind: 'missingFile'; uri: string; file: string }
  | { kind: 'orphanFile'; file: string }
  | { kind: 'brokenChain'; uri: string; detail: string }
  /** Page-log pages that the trees of two tables under one id both reference. */
  | { kind: 'sharedPages'; id: number; uris: string[]; pageIds: number[] };

/** A metadata entry as it is and as an action would leave it. */
export interface MetadataChange {
  key: string;
  shared: boolean;
  before?: string;
  after?: string;
}

export interface RepairResult {
  dryRun: boolean;
  /** What changed (or, for a dry run, what would change). */
  changes: MetadataChange[];
  /** The checkpoint that made the change durable (absent for a dry run). */
  checkpoint?: CheckpointInfo;
}

/**
 * Lists colliding file ids (with a free id to move to), metadata entries naming missing files,
 * `.wt` files no entry names, table -> colgroup -> file chains that do not join up, and
 * page-log pages that the trees of two tables under one id both reference.
 */
export function detect(connection: ConnectionImpl): RepairFinding[] {
  const findings: RepairFinding[] = [];
  const entries = connection.metadataEntries();
  const byId = new Map<number, string[]>();
  const named = new Set<string>();
  for (const { key, value, shared } of entries) {
    if (!key.startsWith('file:')) continue;
    const id = fileId(value);
    byId.set(id, [...(byId.get(id) ?? []), key]);
    const file = key.slice('file:'.length);
    named.add(file);
    if (!shared && !existsSync(join(connection.home, file))) findings.push({ kind: 'missingFile', uri: key, file });
  }
  let suggested = connection.nextFileId();
  for (const [id, fileUris] of [...byId].sort(([a], [b]) => a - b)) {
    if (fileUris.length < 2) continue;
    const uris = fileUris.map((f) => tableOfFile(connection, f) ?? f);
    findings.push({ kind: 'idCollision', id, uris, suggestedId: suggested });
    do suggested++; while (RESERVED_TABLE_IDS.has(suggested));
  }
  findings.push(...sharedPageFindings(connection));
  // A read-only open (a dry run) has not replayed the journal: a create it holds names its file.
  const journaled = connection.readOnly ? journalNamedFilesQuiet(connection.home) : new Set<string>();
  for (const file of connection.tableFiles()) {
    if (!named.has(file) && !journaled.has(file)) findings.push({ kind: 'orphanFile', file });
  }
  const keys = new Map(entries.map((e) => [e.key, e.value]));
  for (const { key } of entries) {
    if (key.startsWith('table:')) {
      const name = key.slice('table:'.length);
      const colgroup = keys.get(`colgroup:${name}`);
      if (colgroup === undefined) findings.push({ kind: 'brokenChain', uri: key, detail: `no colgroup:${name} entry` });
      else {
        const source = colgroupSource(colgroup);
        if (!source || !keys.has(source)) findings.push({ kind: 'brokenChain', uri: key, detail: `colgroup:${name} names ${source ?? 'no source'}, which has no entry` });
      }
    } else if (key.startsWith('colgroup:') && !keys.has(`table:${key.slice('colgroup:'.length)}`)) {
      findings.push({ kind: 'brokenChain', uri: key, detail: 'no table entry for this colgroup' });
    } else if (key.startsWith('file:') && !key.startsWith('file:WiredTiger')) {
      const owned = entries.some((e) => e.key.startsWith('colgroup:') && colgroupSource(e.value) === key);
      if (!owned) findings.push({ kind: 'brokenChain', uri: key, detail: 'no colgroup names this file' });
    }
  }
  return findings;
}

/**
 * Walks the trees of shared tables that share a file id (pages are keyed by table id, so only
 * those can meet) and reports the page ids two of them both reference: what an earlier
 * collision could leave when both tables wrote under one id.
 */
function sharedPageFindings(connection: ConnectionImpl): RepairFinding[] {
  const byId = new Map<number, string[]>();
  for (const table of connection.listTables()) if (table.shared) byId.set(table.id, [...(byId.get(table.id) ?? []), table.uri]);
  const findings: RepairFinding[] = [];
  for (const [id, uris] of [...byId].sort(([a], [b]) => a - b)) {
    if (uris.length < 2) continue;
    const owners = new Map<number, string>();
    for (const uri of uris) {
      const shared = new Map<string, number[]>();
      for (const pageId of connection.checkpointedPageIds(uri)) {
        const owner = owners.get(pageId);
        if (owner === undefined) owners.set(pageId, uri);
        else if (owner !== uri) shared.set(owner, [...(shared.get(owner) ?? []), pageId]);
      }
      for (const [owner, pageIds] of shared) findings.push({ kind: 'sharedPages', id, uris: [owner, uri], pageIds: pageIds.sort((a, b) => a - b) });
    }
  }
  return findings;
}

/** The files journaled creates name; none when the journal does not read (the open reported it). */
function journalNamedFilesQuiet(home: string): Set<string> {
  try {
    return readJournalNames(home).files;
  } catch {
    return new Set();
  }
}

function tableOfFile(connection: ConnectionImpl, fileUri: string): string | undefined {
  return connection.listTables().find((t) => t.fileUri === fileUri)?.uri;
}

/** Variant A: creates a table through the normal schema-create logic, driven by the PIT path. */
export async function createTable(
  connection: ConnectionImpl,
  request: { uri: string; config: string; local: boolean; dryRun?: boolean; timestamp?: bigint },
): Promise<RepairResult> {
  const shared = !request.local && connection.storage === 'disagg';
  const settings = parseCreateConfig(request.config);
  if (connection.hasTable(request.uri)) {
    throw new SchemaError(ErrorCode.AlreadyExists, `${request.uri} already exists`, { uri: request.uri });
  }
  const name = request.uri.slice('table:'.length);
  const id = connection.nextFileId();
  const changes: MetadataChange[] = [
    { key: request.uri, shared, after: `key_format=${settings.keyFormat},value_format=${settings.valueFormat}` },
    { key: `colgroup:${name}`, shared, after: `source="file:${name}.wt"` },
    { key: `file:${name}.wt`, shared, after: `id=${id}` },
  ];
  if (request.dryRun) return { dryRun: true, changes };
  const { checkpoint } = await pitWrite(connection, {
    timestamp: request.timestamp ?? connection.stableTimestamp,
    mutations: [{ kind: 'createTable', uri: request.uri, config: request.config, shared }],
  });
  const table = connection.getTable(request.uri);
  changes[1]!.after = `source="${table.fileUri}"`;
  changes[2] = { key: table.fileUri, shared, after: table.config };
  return { dryRun: false, changes, checkpoint };
}

/** Checks a new id for `uri`: not reserved, not taken by another table. */
function checkNewId(connection: ConnectionImpl, uri: string, id: number): void {
  if (!Number.isInteger(id) || id < 1 || id > 0xffffffff) {
    throw new SchemaError(ErrorCode.InvalidArgument, `file id ${id} is not a positive 32-bit integer`, { uri });
  }
  if (RESERVED_TABLE_IDS.has(id) || id === 1) {
    throw new SchemaError(ErrorCode.ReservedId, `file id ${id} is reserved (1 is the history store; 2, 10 and 26 are page-log system tables)`, { uri, tableId: id });
  }
  const holder = connection.listTables().find((t) => t.id === id && t.uri !== uri);
  if (holder) {
    throw new SchemaError(ErrorCode.IdCollision, `file id ${id} is taken by ${holder.uri}`, { uri, tableId: id });
  }
}

/** A spot-fix of one table's metadata entries (`modifyTable`). */
export interface ModifyRequest {
  /** The `table:`, `colgroup:` or `file:` entry to change. */
  uri: string;
  /**
   * Keys to set, as configuration values. Keys of the `file:` entry (`id`, page sizes) may be
   * given with the table's URI.
   */
  set?: Record<string, string | number | boolean>;
  /** Keys to remove (only keys the engine does not read). */
  unset?: readonly string[];
  dryRun?: boolean;
  timestamp?: bigint;
}

/** The settings a `file:` entry's keys give, checked as `createTable` checks them. */
const SETTINGS_KEYS = ['key_format', 'value_format', 'allocation_size', 'leaf_page_max', 'internal_page_max', 'split_pct'];

/**
 * Variant B: rewrites values of a table's `table:`, `colgroup:` or `file:` entry through the
 * PIT path, with the rule of each key (see `entry_rules.ts`): a new `id` moves a shared
 * table's pages to the new page-log table id (writers of that table wait; other clients go
 * on); `key_format` and `value_format` need an empty table and stay equal in the `file:` and
 * `table:` entries; keys the engine does not read are written as given; checkpoint-managed
 * and create-time keys are refused, and so are unknown keys, with the list of known ones.
 * `dryRun` returns the exact entries before and after and changes nothing.
 */
export async function modifyTable(connection: ConnectionImpl, request: ModifyRequest): Promise<RepairResult> {
  const table = connection.getTable(tableUriOf(request.uri));
  const name = table.uri.slice('table:'.length);
  const kind = entryKindOf(request.uri)!;
  const entryKey = kind === 'table' ? table.uri : kind === 'colgroup' ? `colgroup:${name}` : table.fileUri;
  // Keys only a file entry holds may be given with the table's URI.
  const byEntry = new Map<string, { set: Record<string, string | number | boolean>; unset: string[] }>();
  const target = (key: string): string =>
    kind === 'table' && entryKeyRule('table', key) === undefined && entryKeyRule('file', key) !== undefined ? table.fileUri : entryKey;
  const slot = (key: string): { set: Record<string, string | number | boolean>; unset: string[] } => {
    const entry = target(key);
    if (!byEntry.has(entry)) byEntry.set(entry, { set: {}, unset: [] });
    return byEntry.get(entry)!;
  };
  for (const [key, value] of Object.entries(request.set ?? {})) slot(key).set[key] = value;
  for (const key of request.unset ?? []) slot(key).unset.push(key);
  if (byEntry.size === 0) throw new RepairError(`nothing to change in ${request.uri}: give set or unset`, { uri: request.uri }, ErrorCode.InvalidArgument);

  const entries = new Map(connection.metadataEntries().filter((e) => e.shared === table.shared).map((e) => [e.key, e.value]));
  const checked = [...byEntry].map(([entry, change]) => ({ entry, ...checkEntryChange(entryKindOf(entry)!, entry, change.set, change.unset) }));
  const after = new Map<string, string>();
  const apply = (entry: string, set: Iterable<[string, string]>, unset: readonly string[] = []): void => {
    let config = after.get(entry) ?? entries.get(entry);
    if (config === undefined) throw new RepairError(`${entry} has no metadata entry`, { uri: entry }, ErrorCode.Corruption);
    for (const [key, raw] of set) config = setConfigRaw(config, key, raw);
    for (const key of unset) config = removeConfigKey(config, key);
    after.set(entry, config);
  };
  let newId: number | undefined;
  for (const change of checked) {
    const raws = [...change.set].map(([key, { raw }]) => [key, raw] as [string, string]);
    apply(change.entry, raws, change.unset);
    const formats = raws.filter(([key]) => key === 'key_format' || key === 'value_format');
    if (formats.length > 0) {
      apply(change.entry === table.fileUri ? table.uri : table.fileUri, formats);
      if (!tableIsEmpty(connection, table.uri)) {
        throw new RepairError(`${formats.map(([k]) => k).join(' and ')} of ${table.uri} can change only while the table is empty: its records would no longer decode`, { uri: table.uri, key: formats[0]![0] }, ErrorCode.InvalidArgument);
      }
    }
    const id = change.set.get('id');
    if (id !== undefined) {
      newId = Number(unquote(id.raw));
      checkNewId(connection, table.uri, newId);
    }
  }
  const fileAfter = after.get(table.fileUri);
  if (fileAfter !== undefined) checkSettings(fileAfter, table.fileUri);
  const changes: MetadataChange[] = [...after].map(([key, value]) => ({ key, shared: table.shared, before: entries.get(key), after: value }));
  if (request.dryRun) return { dryRun: true, changes };

  const mutations: PitMutation[] = [];
  if (newId !== undefined && newId !== table.id) mutations.push({ kind: 'setFileId', uri: table.uri, id: newId });
  for (const change of checked) {
    const set = new Map([...change.set].filter(([key]) => key !== 'id').map(([key, { raw }]) => [key, raw]));
    if (set.size > 0 || change.unset.length > 0) mutations.push({ kind: 'setEntryValues', uri: table.uri, entry: change.entry, set, unset: change.unset });
  }
  const { checkpoint } = await pitWrite(connection, {
    timestamp: request.timestamp ?? connection.stableTimestamp,
    mutations,
    tables: [table.uri],
  });
  const now = new Map(connection.metadataEntries().filter((e) => e.shared === table.shared).map((e) => [e.key, e.value]));
  for (const change of changes) change.after = now.get(change.key);
  return { dryRun: false, changes, checkpoint };
}

/** The `table:` URI of a `table:`, `colgroup:` or `file:` URI (files through their colgroup). */
function tableUriOf(uri: string): string {
  const kind = entryKindOf(uri);
  if (kind === undefined) throw new RepairError(`${uri} is not a table:, colgroup: or file: URI`, { uri }, ErrorCode.InvalidArgument);
  return kind === 'colgroup' ? `table:${uri.slice('colgroup:'.length)}` : uri;
}

function tableIsEmpty(connection: ConnectionImpl, uri: string): boolean {
  const session = connection.openSession();
  try {
    const cursor = session.openCursor(uri);
    for (const _ of cursor.entries()) return false;
    return true;
  } finally {
    session.close();
  }
}

/** Checks the settings of a rewritten `file:` entry as `createTable` checks a new table's. */
function checkSettings(fileConfig: string, uri: string): void {
  const settings = SETTINGS_KEYS.flatMap((key) => {
    const raw = getConfigRaw(fileConfig, key);
    return raw === undefined ? [] : [`${key}=${raw}`];
  }).join(',');
  try {
    parseCreateConfig(settings);
  } catch (error) {
    throw new RepairError(`the rewritten ${uri} entry is not valid: ${error instanceof Error ? error.message : String(error)}`, { uri }, ErrorCode.InvalidArgument);
  }
}

/**
 * Test-only fault: gives table `b` the file id of table `a` through the PIT path, moving b's
 * pages into a's page-log table id, so that repair can be exercised end to end.
 */
export async function injectIdCollision(connection: ConnectionImpl, a: string, b: string): Promise<RepairResult> {
  const first = connection.getTable(a);
  const second = connection.getTable(b);
  if (first.uri === second.uri) throw new SchemaError(ErrorCode.InvalidArgument, 'the two tables must differ', { uri: a });
  if (first.shared !== second.shared) {
    throw new SchemaError(ErrorCode.InvalidArgument, 'both tables must be local or both shared', { uri: b });
  }
  const { checkpoint } = await pitWrite(connection, {
    timestamp: connection.stableTimestamp,
    mutations: [{ kind: 'setFileId', uri: second.uri, id: first.id }],
    tables: [second.uri],
  });
  return { dryRun: false, changes: [{ key: second.fileUri, shared: second.shared, before: second.config, after: connection.getTable(b).config }], checkpoint };
}

export interface RepairRun {
  /** True when nothing was changed: the actions are the ones a real run would take. */
  dryRun: boolean;
  findings: RepairFinding[];
  /** File ids given to the later-created tables of collisions (or that would be, in a dry run). */
  actions: Array<{ uri: string; from: number; to: number }>;
  /** Orphan files removed from the home (or that would be, in a dry run). */
  removedFiles: string[];
  /** The checkpoint that made the changes durable (absent for a dry run). */
  checkpoint?: CheckpointInfo;
}

/** What `repairAll` may do. */
export interface RepairAllOptions {
  /** Log every finding and the action it would take, and change nothing. */
  dryRun?: boolean;
}

/**
 * What `mongod-shim --repair` runs: detect, then give the later-created table of every id
 * collision a fresh id, and remove every orphan file (a `.wt` file no metadata entry names, as
 * a crash during a create leaves), logging each finding and action under the REPAIR component.
 * With `dryRun`, each action is logged as the one it would take and nothing changes.
 */
export async function repairAll(connection: ConnectionImpl, log: EngineLogger, options: RepairAllOptions = {}): Promise<RepairRun> {
  const dryRun = options.dryRun ?? false;
  const findings = detect(connection);
  for (const finding of findings) log({ level: 'warn', component: 'REPAIR', msg: 'Repair finding', attr: { ...finding } });
  const actions: RepairRun['actions'] = [];
  const removedFiles: string[] = [];
  let checkpoint: CheckpointInfo | undefined;
  // Ids a dry run would hand out: nothing is created, so the connection cannot count them.
  let plannedId = connection.nextFileId();
  for (const finding of findings) {
    if (finding.kind !== 'idCollision') continue;
    const tables = finding.uris.filter((u) => u.startsWith('table:'))
      .sort((x, y) => connection.creationOrder(x) - connection.creationOrder(y));
    for (const uri of tables.slice(1)) {
      if (dryRun) {
        const to = plannedId;
        do plannedId++; while (RESERVED_TABLE_IDS.has(plannedId));
        actions.push({ uri, from: finding.id, to });
        log({ level: 'info', component: 'REPAIR', msg: 'Would give a colliding table a new file id', attr: { uri, from: finding.id, to, dryRun } });
        continue;
      }
      const to = connection.nextFileId();
      const result = await modifyTable(connection, { uri, set: { id: to } });
      checkpoint = result.checkpoint;
      actions.push({ uri, from: finding.id, to });
      log({ level: 'info', component: 'REPAIR', msg: 'Gave a colliding table a new file id', attr: { uri, from: finding.id, to, checkpointId: checkpoint?.id } });
    }
  }
  for (const finding of findings) {
    if (finding.kind !== 'orphanFile') continue;
    removedFiles.push(finding.file);
    if (dryRun) {
      log({ level: 'info', component: 'REPAIR', msg: 'Would remove an orphan file', attr: { file: finding.file, dryRun } });
      continue;
    }
    removeOrphanFile(connection, finding.file);
    log({ level: 'info', component: 'REPAIR', msg: 'Removed an orphan file', attr: { file: finding.file } });
  }
  if (dryRun) {
    log({ level: 'info', component: 'REPAIR', msg: 'Repair finished', attr: { findings: findings.length, actions: actions.length, removedFiles: removedFiles.length, dryRun } });
    return { dryRun, findings, actions, removedFiles };
  }
  if (!checkpoint) checkpoint = await connection.checkpoint();
  log({ level: 'info', component: 'REPAIR', msg: 'Repair finished', attr: { findings: findings.length, actions: actions.length, removedFiles: removedFiles.length, checkpointId: checkpoint.id } });
  return { dryRun, findings, actions, removedFiles, checkpoint };
}

/**
 * Removes a file no metadata entry names, durably. Checked again just before: the file must
 * still be named by no entry, so a table created since the detection never loses its file.
 */
function removeOrphanFile(connection: ConnectionImpl, file: string): void {
  if (file.includes('/') || !file.endsWith('.wt') || connection.metadataEntries().some((e) => e.key === `file:${file}`)) {
    throw new RepairError(`${file} is not an orphan file`, { file });
  }
  try {
    unlinkSync(join(connection.home, file));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new RepairError(`cannot remove the orphan file ${file}`, { file, cause: error });
  }
  syncDirectory(connection.home);
}
