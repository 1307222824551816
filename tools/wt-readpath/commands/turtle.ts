import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checksum, checkTurtleBytes, hex32, parseCompletionMetadata, TURTLE_FILE } from '../../../engine/format/index.js';
import { TURTLE_PAGE_TABLE_ID, type CompletionRecord } from '../../../engine/page_log/index.js';
import {
  checkCompletion, FindingCode, FindingSink, HomeReader, logRecords, recordAt, TURTLE_PAGE_ID, type Finding,
} from '../../../engine/verify/index.js';
import { checkHome, openPageLogOf, reportFindings, type HomeOptions } from '../context.js';
import { UsageError, type ExitCodeValue, type Output } from '../output.js';

/** `turtle`'s options. */
export interface TurtleCommandOptions extends HomeOptions {
  lsn?: string;
}

const hexTs = (value: bigint): string => `0x${value.toString(16)}`;

/**
 * `turtle`: the local turtle file, the completion records, and the turtle page of the
 * checkpoint the engine opens (the one the local metadata pairs with, else the newest; or of
 * the completion record or turtle page at `--lsn`), with its checksum against the completion
 * record.
 */
export async function turtleCommand(home: string, options: TurtleCommandOptions, output: Output): Promise<ExitCodeValue> {
  checkHome(home);
  const sink = new FindingSink();
  const wanted = options.lsn === undefined ? undefined : parseLsn(options.lsn);
  const document: Record<string, unknown> = { home };

  const path = join(home, TURTLE_FILE);
  if (existsSync(path)) {
    const bytes = readFileSync(path);
    const text = bytes.toString('utf8');
    let entries: Array<[string, string]> = [];
    try {
      // The engine's own checks of a turtle, as verify and the server's open run them.
      entries = checkTurtleBytes(bytes, TURTLE_FILE).turtle.entries;
    } catch (error) {
      sink.error(FindingCode.TurtleFileInvalid, error instanceof Error ? error.message : String(error), { file: TURTLE_FILE });
      const lines = text.split('\n');
      for (let i = 0; i + 1 < lines.length; i += 2) entries.push([lines[i]!, lines[i + 1]!]);
    }
    document.turtleFile = { file: TURTLE_FILE, entries: entries.map(([key, value]) => ({ key, value })) };
    if (!output.json) {
      output.line(`${TURTLE_FILE}:`);
      for (const [key, value] of entries) output.line(`  ${key}: ${value}`);
    }
  } else {
    sink.error(FindingCode.TurtleFileMissing, `${TURTLE_FILE} is missing`, { file: TURTLE_FILE });
  }

  const pageLog = await openPageLogOf(home, options);
  try {
    if (pageLog === undefined) {
      if (wanted !== undefined) throw new UsageError(`${home} has no page log: --lsn needs a disaggregated home`);
      document.completionRecords = [];
    } else {
      const completions: CompletionRecord[] = [];
      for (const entry of logRecords(pageLog, sink)) if (entry.kind === 'complete') completions.push(entry.record);
      const newest: CompletionRecord | undefined = completions[completions.length - 1];
      // The checkpoint the engine opens: the one the local metadata pairs with (a newer one is
      // what a crash before the local turtle file's rename leaves), else the newest.
      const pairedLsn = HomeReader.pairedCheckpointOf(home, new FindingSink())?.lsn;
      const opened = pairedLsn === undefined ? newest : completions.find((c) => c.lsn === pairedLsn);
      document.completionRecords = completions.map((c) => ({
        lsn: c.lsn, timestamp: hexTs(c.timestamp), oldestTimestamp: hexTs(c.oldestTimestamp), metadata: c.metadata,
        newest: c === newest, paired: c.lsn === pairedLsn,
      }));
      if (!output.json) {
        output.line('completion records:');
        if (completions.length === 0) output.line('  (none)');
        for (const c of completions) {
          const marks = [...(c === newest ? ['newest'] : []), ...(c.lsn === pairedLsn ? ['paired with the local metadata'] : [])];
          output.line(`  LSN ${c.lsn}: timestamp ${hexTs(c.timestamp)}, oldest ${hexTs(c.oldestTimestamp)}, ${c.metadata}${marks.length === 0 ? '' : ` [${marks.join(', ')}]`}`);
        }
      }
      let completion: CompletionRecord | undefined = opened;
      if (wanted !== undefined) {
        completion = completions.find((c) => c.lsn === wanted) ?? completions.find((c) => metadataLsnOf(c) === wanted);
      }
      // The others are checked too: a damaged one is reported (exit 2) though not shown.
      for (const other of completions) if (other !== completion) checkCompletion(pageLog, other, sink);
      if (completion !== undefined) {
        const checked = checkCompletion(pageLog, completion, sink);
        const metadataLsn = metadataLsnOf(completion);
        const record = metadataLsn === undefined ? undefined : recordAt(pageLog, TURTLE_PAGE_TABLE_ID, TURTLE_PAGE_ID, metadataLsn, new FindingSink());
        const expected = expectedChecksum(completion);
        const actual = record === undefined ? undefined : checksum(record.image);
        const status = record === undefined ? 'missing' : expected === undefined ? 'not recorded' : expected === actual ? 'matches' : 'MISMATCH';
        document.turtlePage = {
          lsn: metadataLsn ?? null, completionLsn: completion.lsn, checksum: actual === undefined ? null : hex32(actual),
          expectedChecksum: expected === undefined ? null : hex32(expected), checksumStatus: status,
          text: record?.image.toString('utf8') ?? null, fields: checked?.turtle ?? null,
        };
        if (!output.json) {
          output.line(`turtle page (LSN ${metadataLsn ?? '?'}, named by completion record ${completion.lsn}):`);
          output.line(`  checksum ${actual === undefined ? '-' : hex32(actual)} (${status}${expected !== undefined && status === 'MISMATCH' ? `: the completion record says ${hex32(expected)}` : ''})`);
          if (record !== undefined) for (const line of record.image.toString('utf8').split('\n')) output.line(`  ${line}`);
        }
      } else if (wanted !== undefined) {
        // A turtle page no completion record names (an interrupted or failed checkpoint).
        const record = recordAt(pageLog, TURTLE_PAGE_TABLE_ID, TURTLE_PAGE_ID, wanted, sink);
        if (record === undefined) throw new UsageError(`no completion record or turtle page at LSN ${wanted}`);
        document.turtlePage = { lsn: wanted, completionLsn: null, checksum: hex32(checksum(record.image)), expectedChecksum: null, checksumStatus: 'not named by a completion record', text: record.image.toString('utf8'), fields: null };
        if (!output.json) {
          output.line(`turtle page (LSN ${wanted}, named by no completion record):`);
          for (const line of record.image.toString('utf8').split('\n')) output.line(`  ${line}`);
        }
      }
    }
    const findings: Finding[] = [];
    const code = reportFindings(sink, output, findings);
    if (output.json) output.document({ ...document, findings });
    return code;
  } finally {
    await pageLog?.close();
  }
}

function parseLsn(text: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`--lsn takes a positive integer, not "${text}"`);
  return Number(text);
}

function metadataLsnOf(completion: CompletionRecord): number | undefined {
  try {
    return parseCompletionMetadata(completion.metadata, completion.lsn).metadataLsn;
  } catch {
    return undefined;
  }
}

function expectedChecksum(completion: CompletionRecord): number | undefined {
  try {
    return parseCompletionMetadata(completion.metadata, completion.lsn).metadataChecksum;
  } catch {
    return undefined;
  }
}
