import {
  decodeFileCheckpointCookie, decodePageLogAddress, getConfigValue, hex32, type CheckpointEntry,
} from '../../../engine/format/index.js';
import {
  allocationSizeOf, checkpointsOf, isSharedFileConfig, METADATA_URI, type MetadataEntry,
} from '../../../engine/verify/index.js';
import { HomeSession, type HomeOptions } from '../context.js';
import type { ExitCodeValue, Output } from '../output.js';

/** `list`'s options. */
export interface ListCommandOptions extends HomeOptions {
  verbose?: boolean;
  checkpoints?: boolean;
  uri?: string;
}

/** A size as `wt list -c` prints it: whole units, truncated. */
export function listSize(bytes: number): string {
  const units: Array<[string, number]> = [['PB', 2 ** 50], ['TB', 2 ** 40], ['GB', 2 ** 30], ['MB', 2 ** 20], ['KB', 2 ** 10]];
  for (const [name, size] of units) if (bytes >= size) return `${Math.floor(bytes / size)} ${name}`;
  return `${bytes} B`;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `ctime(3)` without its newline, in local time: `Sun Nov 22 02:41:30 2026`. */
export function ctime(seconds: number): string {
  const date = new Date(seconds * 1000);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${DAYS[date.getDay()]} ${MONTHS[date.getMonth()]} ${String(date.getDate()).padStart(2, ' ')} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())} ${date.getFullYear()}`;
}

interface CheckpointView {
  name: string;
  time: number;
  size: number;
  writeGen: string;
  addr: string;
  /** The decoded cookie: file blocks or the page-log root. */
  cookie?: Record<string, unknown>;
  problem?: string;
}

function describeCheckpoint(checkpoint: CheckpointEntry, pageLog: boolean, allocationSize: number): CheckpointView {
  const view: CheckpointView = {
    name: `${checkpoint.name}.${checkpoint.order}`, time: checkpoint.time, size: checkpoint.size, writeGen: checkpoint.writeGen.toString(), addr: checkpoint.addr,
  };
  if (checkpoint.addr === '') return view;
  try {
    const bytes = Buffer.from(checkpoint.addr, 'hex');
    if (pageLog) {
      const root = decodePageLogAddress(bytes);
      view.cookie = { root: { pageId: root.pageId, lsn: root.lsn, size: root.size, checksum: root.checksum } };
    } else {
      const cookie = decodeFileCheckpointCookie(bytes, allocationSize);
      view.cookie = { fileSize: cookie.fileSize, checkpointSize: cookie.checkpointSize, root: cookie.root, alloc: cookie.alloc, discard: cookie.discard, avail: cookie.avail };
    }
  } catch (error) {
    view.problem = error instanceof Error ? error.message : String(error);
  }
  return view;
}

function printCheckpoints(views: CheckpointView[], output: Output): void {
  const width = Math.max(0, ...views.map((v) => v.name.length)) + 1;
  views.forEach((view, index) => {
    if (index > 0) output.line();
    output.line(`\t${view.name.padStart(width)}: ${ctime(view.time)} (size ${listSize(view.size)})`);
    const cookie = view.cookie;
    if (cookie === undefined) {
      if (view.problem) output.diagnostic(`wt-readpath: ${view.name}: checkpoint cookie does not decode: ${view.problem}`);
      return;
    }
    const block = (name: string, b: { offset: number; size: number; checksum: number }): string =>
      `\t\t${name.padEnd(8)}: ${b.offset}, ${b.size}, ${b.checksum} (${hex32(b.checksum)})`;
    if ('fileSize' in cookie) {
      output.line(`\t\tfile-size: ${listSize(cookie.fileSize as number)}, checkpoint-size: ${listSize(cookie.checkpointSize as number)}`);
      output.line();
      output.line('\t\t          offset, size, checksum');
      for (const name of ['root', 'alloc', 'discard', 'avail']) output.line(block(name, cookie[name] as { offset: number; size: number; checksum: number }));
    } else {
      const root = cookie.root as { pageId: number; lsn: number; size: number; checksum: number };
      output.line(`\t\troot    : page ${root.pageId}, LSN ${root.lsn}, ${root.size}, ${root.checksum} (${hex32(root.checksum)})`);
    }
  });
}

/**
 * `list`: the metadata entries as `wt list` prints them (`-v` adds each configuration, `-c`
 * each checkpoint), then in disaggregated mode the shared metadata after a `shared metadata:`
 * line. `--json`: an array of `{uri, id?, shared, config}` (with `checkpoints` under `-c`).
 */
export async function listCommand(home: string, options: ListCommandOptions, output: Output): Promise<ExitCodeValue> {
  const session = await HomeSession.open(home, output, options);
  try {
    const reader = session.reader;
    const verbose = options.verbose === true;
    const withCheckpoints = options.checkpoints === true;
    const metadataEntry: MetadataEntry | undefined = reader.metadataConfig === undefined ? undefined : { key: 'metadata:', value: reader.metadataConfig, shared: false };
    const checkpointsFor = (entry: MetadataEntry, pageLog = entry.shared && isSharedFileConfig(entry.value)): CheckpointView[] => {
      if (!entry.key.startsWith('file:') && entry.key !== 'metadata:' && !pageLog) return [];
      const allocationSize = allocationSizeOf(entry.value, session.sink, { uri: entry.key });
      return (checkpointsOf(entry.value, session.sink, { uri: entry.key }) ?? []).map((c) => describeCheckpoint(c, pageLog, allocationSize));
    };
    const matches = (key: string): boolean => options.uri === undefined || key.startsWith(options.uri);
    const local = reader.localEntries.filter((e) => matches(e.key));
    const shared = reader.sharedEntries.filter((e) => matches(e.key));
    if (output.json) {
      const view = (entry: MetadataEntry): Record<string, unknown> => {
        const out: Record<string, unknown> = { uri: entry.key };
        let id: string | undefined;
        try {
          id = entry.key.startsWith('file:') ? getConfigValue(entry.value, 'id') : undefined;
        } catch {
          id = undefined;
        }
        if (id !== undefined && /^\d+$/.test(id)) out.id = Number(id);
        out.shared = entry.shared;
        out.config = entry.value;
        if (withCheckpoints) out.checkpoints = checkpointsFor(entry);
        return out;
      };
      const list = [...(metadataEntry && matches(METADATA_URI) ? [{ ...view(metadataEntry), uri: METADATA_URI, id: 0 }] : []), ...local.map(view), ...shared.map(view)];
      session.report();
      output.document(list);
      return session.exitCode;
    }
    const print = (entry: MetadataEntry, hidden: boolean): void => {
      if (!verbose && entry.key.startsWith('system:')) return;
      if (withCheckpoints || verbose || !hidden) output.line(entry.key);
      if (!withCheckpoints && !verbose) return;
      if (withCheckpoints) printCheckpoints(checkpointsFor(entry), output);
      if (verbose) output.line(entry.value);
    };
    if (metadataEntry && options.uri === undefined) print(metadataEntry, true);
    for (const entry of local) print(entry, entry.key === 'file:WiredTigerHS.wt');
    if (reader.disaggregated && (shared.length > 0 || options.uri === undefined)) {
      output.line('shared metadata:');
      if (reader.checkpoint && (verbose || withCheckpoints)) {
        const own: MetadataEntry = { key: 'shared metadata:', value: `checkpoint=${reader.checkpoint.turtle.checkpoint}`, shared: true };
        if (withCheckpoints) printCheckpoints(checkpointsFor(own, true), output);
        if (verbose) output.line(own.value);
      }
      for (const entry of shared) print(entry, false);
    }
    return session.exitCode;
  } finally {
    await session.close();
  }
}
