import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { getConfigValue } from '../../../engine/format/index.js';
import type { TreeWalkSummary } from '../../../engine/verify/index.js';
import { HomeSession, type HomeOptions } from '../context.js';
import type { ExitCodeValue, Output } from '../output.js';

/**
 * `stat`: the home's files, every tree's shape and size (walked through the page checks),
 * and the page log's counts.
 */
export async function statCommand(home: string, options: HomeOptions, output: Output): Promise<ExitCodeValue> {
  const session = await HomeSession.open(home, output, options);
  try {
    const reader = session.reader;
    const files = readdirSync(home).filter((f) => statSync(join(home, f)).isFile()).sort().map((name) => ({ name, bytes: statSync(join(home, name)).size }));
    const trees: Array<Record<string, unknown>> = [];
    for (const entry of reader.entries.filter((e) => e.key.startsWith('file:'))) {
      let summary: TreeWalkSummary | undefined;
      for (const record of reader.records(entry, (s) => { summary = s; })) void record;
      let id: number | undefined;
      try {
        id = Number(getConfigValue(entry.value, 'id'));
      } catch {
        id = undefined;
      }
      trees.push({
        uri: entry.key, id: id ?? null, shared: entry.shared, depth: summary?.depth ?? 0, internalPages: summary?.internalPages ?? 0,
        leafPages: summary?.leafPages ?? 0, overflowPages: summary?.overflowPages ?? 0, records: summary?.records ?? 0, bytes: summary?.bytes ?? 0,
      });
      session.report();
    }
    const tables = reader.entries.filter((e) => e.key.startsWith('table:'));
    const pageLog = reader.pageLog?.stat();
    const checkpoint = reader.checkpoint;
    const document = {
      home,
      storage: reader.disaggregated ? 'disagg' : 'local',
      files,
      tables: { total: tables.length, local: tables.filter((t) => !t.shared).length, shared: tables.filter((t) => t.shared).length },
      trees,
      pageLog: pageLog ?? null,
      checkpoint: checkpoint === undefined ? null : {
        lsn: checkpoint.completion.lsn, metadataLsn: checkpoint.turtleLsn, timestamp: `0x${checkpoint.turtle.timestamp.toString(16)}`,
        oldestTimestamp: `0x${checkpoint.turtle.oldestTimestamp.toString(16)}`, largestFileId: checkpoint.turtle.largestFileId,
        keyProviderPageLsn: checkpoint.turtle.keyProvider?.lsn ?? null,
      },
    };
    if (output.json) {
      output.document({ ...document, findings: session.findings });
      return session.exitCode;
    }
    output.line(`home: ${home}`);
    output.line(`storage: ${document.storage}`);
    output.line(`tables: ${document.tables.total} (${document.tables.local} local, ${document.tables.shared} shared)`);
    output.line('files:');
    for (const f of files) output.line(`  ${f.name}: ${f.bytes} bytes`);
    output.line('trees:');
    for (const t of trees) {
      output.line(`  ${t.uri} (id ${t.id}${t.shared ? ', shared' : ''}): depth ${t.depth}, ${t.internalPages} internal, ${t.leafPages} leaf, ${t.overflowPages} overflow pages, ${t.records} records, ${t.bytes} bytes`);
    }
    if (pageLog) {
      output.line(`page log: ${pageLog.tables} tables, ${pageLog.pages} pages, ${pageLog.records} records, ${pageLog.bytes} bytes, last LSN ${pageLog.lastLsn}, ${pageLog.checkpoints} checkpoints`);
    }
    if (document.checkpoint) {
      const c = document.checkpoint;
      output.line(`checkpoint: LSN ${c.lsn}, turtle page LSN ${c.metadataLsn}, timestamp ${c.timestamp}, oldest ${c.oldestTimestamp}, largest file id ${c.largestFileId}${c.keyProviderPageLsn === null ? '' : `, key-provider page LSN ${c.keyProviderPageLsn}`}`);
    }
    return session.exitCode;
  } finally {
    await session.close();
  }
}
