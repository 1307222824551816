import { existsSync } from 'node:fs';
import {
  decodeFileCheckpointCookie, encodeFileAddress, getConfigRaw, getConfigValue, parseCheckpointList, parseSize,
  type CheckpointEntry, type FileCheckpointCookie,
} from '../format/index.js';
import type { PageLogHandle } from '../page_log/index.js';
import { checkCheckpointSpace, RangeSet, readExtentListBlock, scanFreeSpace, type CheckpointSpace } from './extents.js';
import { errorMessage, FindingCode, type FindingLocation, type FindingSink } from './findings.js';
import { FileSource, PageLogSource } from './sources.js';
import { TreeWalker, type StoredRecord, type TreeWalkSummary } from './tree.js';

/**
 * Checks of one `file:` entry's data: a local `.wt` file (descriptor, every checkpoint tree,
 * extent lists, free space) or a shared table in the page log (the newest checkpoint tree).
 */

/** Default allocation size when a `file:` entry does not name one. */
export const DEFAULT_ALLOCATION_SIZE = 4096;

/** The checkpoints of a `file:` entry, oldest first; undefined (reported) when they do not parse. */
export function checkpointsOf(config: string, sink: FindingSink, where: FindingLocation): CheckpointEntry[] | undefined {
  try {
    const raw = getConfigRaw(config, 'checkpoint');
    if (raw === undefined || raw === '') return [];
    return parseCheckpointList(raw).sort((x, y) => x.order - y.order);
  } catch (error) {
    sink.error(FindingCode.CheckpointInvalid, `checkpoint list does not parse: ${errorMessage(error)}`, where);
    return undefined;
  }
}

/** The allocation size a `file:` entry names (reported and defaulted when invalid). */
export function allocationSizeOf(config: string, sink: FindingSink, where: FindingLocation): number {
  let raw: string | undefined;
  try {
    raw = getConfigValue(config, 'allocation_size');
    if (raw === undefined) return DEFAULT_ALLOCATION_SIZE;
    const size = parseSize(raw, 'allocation_size');
    if (size >= 512 && size <= 128 * 1024 * 1024 && (size & (size - 1)) === 0) return size;
  } catch {
    // Reported below.
  }
  sink.error(FindingCode.MetadataEntryInvalid, `allocation_size "${raw}" is not a power of two from 512B to 128MB; using 4KB`, { ...where });
  return DEFAULT_ALLOCATION_SIZE;
}

/** The name `WiredTigerCheckpoint.N` of a checkpoint entry. */
export function checkpointName(checkpoint: CheckpointEntry): string {
  return `${checkpoint.name}.${checkpoint.order}`;
}

function decodeCookie(checkpoint: CheckpointEntry, allocationSize: number, sink: FindingSink, where: FindingLocation): FileCheckpointCookie | undefined {
  try {
    if (!/^([0-9a-f]{2})*$/i.test(checkpoint.addr)) throw new Error('addr is not hex');
    return decodeFileCheckpointCookie(Buffer.from(checkpoint.addr, 'hex'), allocationSize);
  } catch (error) {
    sink.error(FindingCode.CheckpointInvalid, `checkpoint cookie "${checkpoint.addr}" does not decode: ${errorMessage(error)}`, where);
    return undefined;
  }
}

function checkWriteGen(checkpoint: CheckpointEntry, summary: TreeWalkSummary, sink: FindingSink, where: FindingLocation): void {
  if (checkpoint.writeGen < summary.maxWriteGen) {
    sink.warning(FindingCode.CheckpointWriteGen, `checkpoint write_gen ${checkpoint.writeGen} is below the largest page write generation ${summary.maxWriteGen}`, where);
  }
}

/** What to check of a local file. */
export interface LocalFileCheck {
  /** Absolute path of the file. */
  path: string;
  /** The file's name relative to the home, for findings. */
  fileName: string;
  uri: string;
  /** The `file:` entry's configuration (for `WiredTiger.wt`, the turtle file's). */
  config: string;
  /** Receives the records of the newest checkpoint. */
  onRecord?: (record: StoredRecord) => void;
  /** Check extent lists and free space (off for a file a live connection is writing). */
  spaceChecks: boolean;
}

/** Verifies a local `.wt` file; every problem goes to `sink`. */
export function verifyLocalFile(check: LocalFileCheck, sink: FindingSink): void {
  const where: FindingLocation = { file: check.fileName, uri: check.uri };
  if (!existsSync(check.path)) {
    sink.error(FindingCode.FileMissing, `${check.fileName} does not exist`, where);
    return;
  }
  const allocationSize = allocationSizeOf(check.config, sink, where);
  let file: FileSource;
  try {
    file = new FileSource(check.path, check.fileName, allocationSize, check.uri);
  } catch (error) {
    sink.error(FindingCode.CheckFailed, `cannot open ${check.fileName}: ${errorMessage(error)}`, where);
    return;
  }
  try {
    file.checkDescriptor(sink);
    if (file.size % allocationSize !== 0) {
      sink.error(FindingCode.FileSizeInvalid, `file size ${file.size} is not a multiple of the allocation size ${allocationSize}`, { ...where, offset: file.size });
    }
    const checkpoints = checkpointsOf(check.config, sink, where);
    if (checkpoints === undefined) return;
    const newest = checkpoints[checkpoints.length - 1];
    const used = new RangeSet();
    let checkpointEnd = allocationSize;
    for (const checkpoint of checkpoints) {
      const at: FindingLocation = { ...where, checkpoint: checkpointName(checkpoint) };
      if (checkpoint.addr === '') continue; // an empty tree
      const cookie = decodeCookie(checkpoint, allocationSize, sink, at);
      if (cookie === undefined) continue;
      if (cookie.fileSize > file.size) {
        sink.error(FindingCode.FileSizeInvalid, `file is ${file.size} bytes but its checkpoint records ${cookie.fileSize}`, { ...at, offset: file.size });
      }
      checkpointEnd = Math.max(checkpointEnd, Math.min(cookie.fileSize, file.size));
      file.checkpointFileSize = cookie.fileSize;
      const space: CheckpointSpace = {
        treeBlocks: [], referenced: [], listBlocks: [], alloc: undefined, avail: undefined, discard: undefined,
        hasAllocList: cookie.alloc.size > 0, fileSize: cookie.fileSize, treeComplete: true,
      };
      if (cookie.root.size > 0) {
        const errorsBefore = sink.errors;
        sink.stats.trees++;
        const walker = new TreeWalker(file, sink, at);
        const collect = checkpoint === newest ? check.onRecord : undefined;
        for (const leafRecords of walker.leaves(encodeFileAddress(cookie.root, allocationSize))) {
          if (collect !== undefined) for (const record of leafRecords) collect(record);
        }
        checkWriteGen(checkpoint, walker.summary, sink, at);
        space.treeBlocks = walker.summary.blocks;
        space.referenced = walker.summary.referenced;
        space.treeComplete = sink.errors === errorsBefore;
      }
      for (const kind of ['alloc', 'avail', 'discard'] as const) {
        const address = cookie[kind];
        if (address.size === 0) continue;
        space.listBlocks.push({ kind, address });
        if (check.spaceChecks) space[kind] = readExtentListBlock(file, address, kind, cookie.fileSize, sink, at);
      }
      for (const block of [...space.treeBlocks, ...space.referenced]) used.add(block.offset, block.size);
      for (const list of space.listBlocks) used.add(list.address.offset, list.address.size);
      if (check.spaceChecks) checkCheckpointSpace(space, file, sink, at);
    }
    if (check.spaceChecks) scanFreeSpace(file, used, checkpointEnd, sink);
  } finally {
    file.close();
  }
}

/** What to check of a shared table. */
export interface SharedTreeCheck {
  handle: PageLogHandle;
  uri: string;
  /** The `file:` entry's configuration. */
  config: string;
  /** Names the tree in findings (e.g. `WiredTigerShared.wt_stable` for the shared metadata). */
  file?: string;
  onRecord?: (record: StoredRecord) => void;
}

/** Verifies the newest checkpoint tree of a table in the page log. */
export function verifySharedTree(check: SharedTreeCheck, sink: FindingSink): void {
  const where: FindingLocation = { uri: check.uri, tableId: check.handle.tableId, ...(check.file ? { file: check.file } : {}) };
  const checkpoints = checkpointsOf(check.config, sink, where);
  const newest = checkpoints?.[checkpoints.length - 1];
  if (newest === undefined || newest.addr === '') return;
  const at = { ...where, checkpoint: checkpointName(newest) };
  if (!/^([0-9a-f]{2})+$/i.test(newest.addr)) {
    sink.error(FindingCode.CheckpointInvalid, `checkpoint addr "${newest.addr}" is not hex`, at);
    return;
  }
  sink.stats.trees++;
  const walker = new TreeWalker(new PageLogSource(check.handle, check.uri, check.file), sink, at);
  const onRecord = check.onRecord;
  for (const leafRecords of walker.leaves(Buffer.from(newest.addr, 'hex'))) {
    if (onRecord !== undefined) for (const record of leafRecords) onRecord(record);
  }
  checkWriteGen(newest, walker.summary, sink, at);
}
