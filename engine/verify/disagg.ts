import { basename } from 'node:path';
import { EngineError, ErrorCode } from '../errors.js';
import { checksum, hex32, parseCompletionMetadata, parseTurtlePage, type CompletionMetadata, type TurtlePage } from '../format/index.js';
import {
  TURTLE_PAGE_TABLE_ID, type CompletionRecord, type LogEntry, type PageLog, type PageRecord,
} from '../page_log/index.js';
import { errorMessage, FindingCode, locationOfError, type FindingLocation, type FindingSink } from './findings.js';

/**
 * The page log's checkpoint metadata (FORMATS.md 9.4 and 9.5): completion records and the
 * turtle pages they name. The key-provider pages the turtle pages name are checked in
 * `key_pages.ts`.
 */

/** The turtle page's page id in table 2. */
export const TURTLE_PAGE_ID = 1;
/** The key-provider page's page id in table 26. */
export const KEY_PROVIDER_PAGE_ID = 1;

/**
 * Every record of the log from `from` to `to`, stepping over records that do not decode
 * (each reported once) instead of stopping at the first.
 */
export function* logRecords(pageLog: PageLog, sink: FindingSink, range: { from?: number; to?: number } = {}): Generator<LogEntry> {
  let from = range.from ?? 1;
  const to = range.to;
  for (;;) {
    try {
      for (const entry of pageLog.records({ from, ...(to === undefined ? {} : { to }) })) {
        sink.stats.logRecords++;
        yield entry;
        from = (entry.kind === 'page' ? entry.record.lsn : entry.kind === 'complete' ? entry.record.lsn : entry.lsn) + 1;
      }
      return;
    } catch (error) {
      const lsn = error instanceof EngineError ? error.location.lsn : undefined;
      const code = error instanceof EngineError && error.code === ErrorCode.CheckpointMetadataCorrupt
        ? FindingCode.CompletionRecordInvalid
        : FindingCode.PageLogRecordInvalid;
      sink.error(code, `page-log record does not decode: ${errorMessage(error)}`, { ...locationOfError(error), file: basename(pageLog.path) });
      if (lsn === undefined || lsn < from) return;
      from = lsn + 1;
    }
  }
}

/** A completion record with its parsed metadata and the turtle page it names. */
export interface CheckpointMetadata {
  completion: CompletionRecord;
  metadata: CompletionMetadata;
  turtle: TurtlePage;
  turtleLsn: number;
  turtleImage: Buffer;
}

/** The record of `pageId` in `tableId` at exactly `lsn`, or undefined (reported by the caller). */
export function recordAt(pageLog: PageLog, tableId: number, pageId: number, lsn: number, sink: FindingSink): PageRecord | undefined {
  try {
    const records = pageLog.openHandle(tableId).get(pageId, lsn);
    const newest = records[records.length - 1];
    return newest !== undefined && newest.lsn === lsn ? newest : undefined;
  } catch (error) {
    const code = error instanceof EngineError && error.code === ErrorCode.ChecksumMismatch ? FindingCode.PageLogChecksum : FindingCode.PageLogRecordInvalid;
    sink.error(code, `page-log record does not read: ${errorMessage(error)}`, { tableId, pageId, lsn, ...locationOfError(error) });
    return undefined;
  }
}

/**
 * Checks one completion record and the turtle page it names; returns them when the turtle
 * page is readable. The key-provider page the turtle page names is checked by
 * `checkKeyProviderPage`.
 */
export function checkCompletion(pageLog: PageLog, completion: CompletionRecord, sink: FindingSink): CheckpointMetadata | undefined {
  const at: FindingLocation = { lsn: completion.lsn };
  let metadata: CompletionMetadata;
  try {
    metadata = parseCompletionMetadata(completion.metadata, completion.lsn);
  } catch (error) {
    sink.error(FindingCode.CompletionRecordInvalid, `completion record metadata does not parse: ${errorMessage(error)}`, at);
    return undefined;
  }
  if (metadata.compatibleVersion > 1) {
    sink.error(FindingCode.CompletionRecordInvalid, `completion record needs a reader of version ${metadata.compatibleVersion}`, at);
  }
  if (metadata.metadataLsn >= completion.lsn) {
    sink.error(FindingCode.CompletionRecordInvalid, `completion record names turtle page LSN ${metadata.metadataLsn}, which is not before it`, at);
    return undefined;
  }
  const turtleAt: FindingLocation = { tableId: TURTLE_PAGE_TABLE_ID, pageId: TURTLE_PAGE_ID, lsn: metadata.metadataLsn };
  const record = recordAt(pageLog, TURTLE_PAGE_TABLE_ID, TURTLE_PAGE_ID, metadata.metadataLsn, sink);
  if (record === undefined) {
    sink.error(FindingCode.TurtlePageMissing, `the turtle page named by completion record ${completion.lsn} is missing`, turtleAt);
    return undefined;
  }
  sink.stats.pages++;
  sink.stats.bytes += record.image.length;
  if (metadata.metadataChecksum === undefined) {
    sink.warning(FindingCode.TurtlePageChecksumAbsent, `completion record ${completion.lsn} carries no metadata_checksum`, at);
  } else {
    const actual = checksum(record.image);
    if (actual !== metadata.metadataChecksum) {
      sink.error(FindingCode.TurtlePageChecksum, `turtle page checksum ${hex32(actual)} does not match ${hex32(metadata.metadataChecksum)} in completion record ${completion.lsn}`, turtleAt);
      return undefined;
    }
  }
  let turtle: TurtlePage;
  try {
    turtle = parseTurtlePage(record.image, record.lsn);
  } catch (error) {
    sink.error(FindingCode.TurtlePageInvalid, `turtle page does not parse: ${errorMessage(error)}`, turtleAt);
    return undefined;
  }
  if (turtle.compatibleVersion > 1) {
    sink.error(FindingCode.TurtlePageInvalid, `turtle page needs a reader of version ${turtle.compatibleVersion}`, turtleAt);
  }
  if (turtle.keyProvider !== undefined && turtle.keyProvider.lsn >= completion.lsn) {
    sink.error(FindingCode.TurtlePageInvalid, `turtle page names key-provider page LSN ${turtle.keyProvider.lsn}, not before its completion record`, turtleAt);
  }
  return { completion, metadata, turtle, turtleLsn: record.lsn, turtleImage: record.image };
}


/** The completion records of the log, oldest first, with undecodable ones reported. */
export function readCompletions(pageLog: PageLog, sink: FindingSink): CompletionRecord[] {
  const out: CompletionRecord[] = [];
  for (const entry of logRecords(pageLog, sink)) if (entry.kind === 'complete') out.push(entry.record);
  return out;
}

/**
 * The newest checkpoint whose completion record and turtle page are sound. Newer checkpoints
 * that are not are reported; the engine would refuse to open on them.
 */
/** The completion record at exactly `lsn`; undefined (a damaged one reported) when there is none. */
export function completionAt(pageLog: PageLog, lsn: number, sink: FindingSink): CompletionRecord | undefined {
  try {
    return pageLog.getCompleteCheckpoint(lsn);
  } catch (error) {
    sink.error(FindingCode.CompletionRecordInvalid, `completion record does not read: ${errorMessage(error)}`, { lsn, ...locationOfError(error) });
    return undefined;
  }
}

export function latestCheckpointMetadata(pageLog: PageLog, sink: FindingSink): CheckpointMetadata | undefined {
  let newest: CompletionRecord | undefined;
  try {
    newest = pageLog.getCompleteCheckpoint();
  } catch {
    newest = undefined; // found and reported by the scan below
  }
  if (newest !== undefined) {
    const metadata = checkCompletion(pageLog, newest, sink);
    if (metadata !== undefined) return metadata;
  }
  const completions = readCompletions(pageLog, sink).filter((c) => c.lsn !== newest?.lsn);
  for (let i = completions.length - 1; i >= 0; i--) {
    const metadata = checkCompletion(pageLog, completions[i]!, sink);
    if (metadata !== undefined) return metadata;
  }
  return undefined;
}
