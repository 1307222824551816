import { existsSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckpointInfo, EngineLogger } from '../api.js';
import type { ConnectionImpl } from '../connection/index.js';
import { ErrorCode, RepairError, SchemaError } from '../errors.js';
import { setConfigRaw } from '../format/index.js';
import { colgroupSource, fileId, parseCreateConfig, RESERVED_TABLE_IDS, syncDirectory } from '../meta/index.js';
import { pitWrite } from '../pit/index.js';

/** One inconsistency `detect` reports. */
export type RepairFinding =
  | { kind: 'idCollision'; id: number; uris: string[]; suggestedId: number }
  | { kind: 'missingFile'; uri: string; file: string }
  | { kind: 'orphanFile'; file: string }
  | { kind: 'brokenChain'; uri: string; detail: string };

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
 * `.wt` files no entry names, and table -> colgroup -> file chains that do not join up.
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
  for (const file of connection.tableFiles()) {
    if (!named.has(file)) findings.push({ kind: 'orphanFile', file });
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

/**
 * Variant B: rewrites a table's metadata entry with a new file id (`uri` may name the table or
 * its file). A shared table's pages move to the new page-log table id.
 */
export async function modifyTable(
  connection: ConnectionImpl,
  request: { uri: string; set: { id: number }; dryRun?: boolean; timestamp?: bigint },
): Promise<RepairResult> {
  const table = connection.getTable(request.uri);
  checkNewId(connection, table.uri, request.set.id);
  const after = setConfigRaw(table.config, 'id', String(request.set.id));
  const changes: MetadataChange[] = [{ key: table.fileUri, shared: table.shared, before: table.config, after }];
  if (request.dryRun) return { dryRun: true, changes };
  const { checkpoint } = await pitWrite(connection, {
    timestamp: request.timestamp ?? connection.stableTimestamp,
    mutations: [{ kind: 'setFileId', uri: table.uri, id: request.set.id }],
  });
  changes[0]!.after = connection.getTable(table.uri).config;
  return { dryRun: false, changes, checkpoint };
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
