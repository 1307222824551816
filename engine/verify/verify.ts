import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Connection } from '../api.js';
import { ErrorCode, SchemaError } from '../errors.js';
import { getConfigValue } from '../format/index.js';
import type { PageLog } from '../page_log/index.js';
import { verifyLocalFile, verifySharedTree } from './file_checks.js';
import { FindingSink, type Finding, type VerifyStats } from './findings.js';
import { HomeReader, isSharedFileConfig, PAGE_LOG_DIRECTORY, type MetadataEntry } from './home.js';
import { checkMetadata, fileNameOf } from './metadata_checks.js';

/**
 * Verification runs: a whole home, or one table of a home or of an open connection. Each is
 * an async generator of findings that returns the totals; nothing it reads is written.
 */

/** Where a run is, for progress displays. */
export interface VerifyProgress {
  /** What is being checked, e.g. `metadata`, `file:orders.wt`, `page log`. */
  step: string;
  /** Tables done so far and the number to do. */
  done: number;
  total: number;
}

/** How a run reads its input and reports progress. */
export interface VerifyOptions {
  /** Page log location (default `HOME/pagelog`). Ignored for a connection. */
  pageLogPath?: string;
  /** Called as each step starts. */
  onProgress?: (progress: VerifyProgress) => void;
}

/** What a run returns when its findings are exhausted. */
export interface VerifySummary {
  errors: number;
  warnings: number;
  stats: VerifyStats;
}

/** A run's findings and totals, collected. */
export interface VerifyReport extends VerifySummary {
  findings: Finding[];
}

function summary(sink: FindingSink): VerifySummary {
  return { errors: sink.errors, warnings: sink.warnings, stats: { ...sink.stats } };
}

/** Checks one `file:` entry's data, local or shared, for a home read from disk. */
function checkFileEntry(reader: HomeReader, file: MetadataEntry, sink: FindingSink): void {
  if (file.shared && isSharedFileConfig(file.value)) {
    const id = Number(getConfigValue(file.value, 'id'));
    if (!reader.pageLog || !Number.isInteger(id)) return; // reported by the metadata checks
    verifySharedTree({ handle: reader.pageLog.openHandle(id), uri: file.key, config: file.value }, sink);
    return;
  }
  const fileName = fileNameOf(file.key);
  const path = join(reader.home, fileName);
  if (!existsSync(path)) return; // reported by the metadata checks
  verifyLocalFile({ path, fileName, uri: file.key, config: file.value, spaceChecks: true }, sink);
}

/**
 * Verifies a stopped home: the local turtle file, the metadata and the links between its
 * entries, every checkpoint tree of every local file with its extent lists and free space,
 * and in disaggregated mode the completion records, turtle pages, key-provider pages, the
 * shared metadata and every shared table's tree.
 *
 * Never throws on damaged input: damage is a finding. Throws `IoError` (`MISSING_FILE`)
 * before yielding anything when `home` is not a database home at all.
 */
export async function* verifyHome(home: string, options: VerifyOptions = {}): AsyncGenerator<Finding, VerifySummary> {
  const sink = new FindingSink();
  const progress = (step: string, done: number, total: number): void => options.onProgress?.({ step, done, total });
  progress('metadata', 0, 1);
  const reader = await HomeReader.open(home, sink, { verify: true, pageLogPath: options.pageLogPath });
  try {
    yield* sink.drain();
    progress('journal', 0, 1);
    let journalNamedFiles: Set<string> | undefined;
    // Loaded here, not with the module: only a whole-home verify reads the journal.
    const { checkJournal } = await import('./journal.js');
    sink.guard({}, 'journal', () => {
      journalNamedFiles = checkJournal(home, reader.localEntries, sink);
    });
    yield* sink.drain();
    sink.guard({}, 'metadata checks', () => checkMetadata({
      home, metadataConfig: reader.metadataConfig, entries: reader.entries, largestFileId: reader.checkpoint?.turtle.largestFileId, journalNamedFiles,
    }, sink));
    yield* sink.drain();
    if (reader.pageLog) {
      const pageLog = reader.pageLog;
      progress('page log', 0, 1);
      const referenced = new Set(reader.checkedCompletions.flatMap((c) => (c.turtle.keyProvider ? [c.turtle.keyProvider.lsn] : [])));
      const { checkKeyProviderHistory } = await import('./key_pages.js');
      sink.guard({ file: PAGE_LOG_DIRECTORY }, 'key-provider pages', () => checkKeyProviderHistory(pageLog, referenced, sink));
      yield* sink.drain();
    }
    const files = reader.entries.filter((e) => e.key.startsWith('file:'));
    for (const [index, file] of files.entries()) {
      progress(file.key, index, files.length);
      sink.guard({ uri: file.key }, `checking ${file.key}`, () => checkFileEntry(reader, file, sink));
      yield* sink.drain();
    }
    progress('done', files.length, files.length);
    return summary(sink);
  } finally {
    await reader.close();
  }
}

/** True for an open engine connection (as opposed to a home path). */
function isConnection(target: string | Connection): target is Connection {
  return typeof target === 'object' && target !== null && typeof (target as Connection).getTable === 'function';
}

/**
 * The engine connection's read-only views that verification uses when they exist: the page
 * log (disaggregated mode) and the metadata entries.
 */
interface ConnectionInternals {
  readonly pageLog?: PageLog;
  metadataEntries?(): Array<{ key: string; value: string; shared: boolean }>;
}

/**
 * Verifies one table: its metadata chain and file id, and its newest checkpoint tree (with
 * extent lists and free space for a local file on a stopped home).
 *
 * `target` is a home path or an open connection. On a connection everything is read, in one
 * synchronous pass, from the last checkpoint's durable pages through the connection's own
 * page log and a separate read-only file descriptor, so the server's `validate` can call it
 * while serving; nothing is written and nothing the connection holds is changed.
 *
 * Throws `SchemaError` (`NOT_FOUND`) for a table that does not exist, and `IoError` for a
 * home that is not one.
 */
export async function* verifyTable(target: string | Connection, uri: string, options: VerifyOptions = {}): AsyncGenerator<Finding, VerifySummary> {
  const sink = new FindingSink();
  if (isConnection(target)) {
    verifyOpenTable(target, uri, sink);
    yield* sink.drain();
    return summary(sink);
  }
  const reader = await HomeReader.open(target, sink, { pageLogPath: options.pageLogPath });
  try {
    yield* sink.drain();
    const resolved = reader.resolveFile(uri);
    if (resolved === undefined) {
      throw new SchemaError(ErrorCode.NotFound, `${uri} does not exist in ${target}`, { uri });
    }
    options.onProgress?.({ step: resolved.file.key, done: 0, total: 1 });
    const tables = resolved.table ? new Set([resolved.table.key]) : new Set<string>();
    sink.guard({ uri }, 'metadata checks', () => checkMetadata({
      home: target, metadataConfig: reader.metadataConfig, entries: reader.entries,
    }, sink, tables));
    yield* sink.drain();
    sink.guard({ uri: resolved.file.key }, `checking ${resolved.file.key}`, () => checkFileEntry(reader, resolved.file, sink));
    yield* sink.drain();
    options.onProgress?.({ step: 'done', done: 1, total: 1 });
    return summary(sink);
  } finally {
    await reader.close();
  }
}

function verifyOpenTable(connection: Connection, uri: string, sink: FindingSink): void {
  const table = connection.getTable(uri);
  const internals = connection as unknown as ConnectionInternals;
  sink.guard({ uri: table.uri }, `checking ${table.uri}`, () => {
    if (typeof internals.metadataEntries === 'function') {
      checkMetadata({ home: connection.home, metadataConfig: undefined, entries: internals.metadataEntries() }, sink, new Set([table.uri]));
    }
    if (table.shared) {
      const pageLog = internals.pageLog;
      if (pageLog === undefined) return;
      verifySharedTree({ handle: pageLog.openHandle(table.id), uri: table.fileUri, config: table.config }, sink);
      return;
    }
    const fileName = fileNameOf(table.fileUri);
    // The connection may write free space at any time: only the durable checkpoint is checked.
    verifyLocalFile({ path: join(connection.home, fileName), fileName, uri: table.fileUri, config: table.config, spaceChecks: false }, sink);
  });
}

/** Runs a verification to the end and collects its findings and totals. */
export async function collectReport(run: AsyncGenerator<Finding, VerifySummary>): Promise<VerifyReport> {
  const findings: Finding[] = [];
  for (;;) {
    const next = await run.next();
    if (next.done) return { ...next.value, findings };
    findings.push(next.value);
  }
}
