import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  BLOCK_PAYLOAD_OFFSET,
  CellType,
  DISAGG_BASE_PAYLOAD_OFFSET,
  decodeFileAddress,
  decodeFileCheckpointCookie,
  decodePageLogAddress,
  getConfigRaw,
  isAddressCell,
  PageType,
  parseCheckpointList,
  parseCompletionMetadata,
  parseTurtle,
  parseTurtlePage,
  readPageHeader,
  TURTLE_METADATA_KEY,
  turtleValue,
  unpackCell,
  type FileAddress,
} from '../../engine/format/index.js';
import { openPageLog, SHARED_METADATA_TABLE_ID, TURTLE_PAGE_TABLE_ID, KEY_PROVIDER_TABLE_ID } from '../../engine/page_log/index.js';
import { runReadPath } from '../libs/index.js';
import { formatRecordKey, lsnKey, pageKey, type StoreDatabase } from './page_log_store.js';

/**
 * The structures the corruption matrix damages, and how to find their bytes in a stopped home:
 * a byte range of a file, or a value of the page log's LMDB store. Each names how a report of
 * it must identify it (the file, or the table id and LSN).
 */

/** Bytes of a file: `length` bytes at `offset` of `HOME/file`. */
export interface FileRegion {
  kind: 'file';
  file: string;
  offset: number;
  length: number;
}

/** Bytes of a value in the page log's store: `length` bytes at `offset` of the value under `key`. */
export interface StoreRegion {
  kind: 'store';
  database: StoreDatabase;
  key: Buffer;
  offset: number;
  /** Undefined: to the end of the value. */
  length: number | undefined;
}

/** A whole file, for the text structures (the turtle file). */
export interface WholeFile {
  kind: 'whole-file';
  file: string;
}

export type Region = FileRegion | StoreRegion | WholeFile;

/** Where a structure is and how a report must name it. */
export interface Located {
  region: Region;
  /** A short description of the place, for case names and reports. */
  place: string;
  /** Whether a report names the place: the file, or the table id or LSN. */
  named: (text: string) => boolean;
}

export type StorageMode = 'local' | 'disagg';

/** One kind of structure: which home holds it and how to find it there. */
export interface Structure {
  name: string;
  storage: StorageMode;
  /**
   * Whether serving the sample data reads it. When not (an extent list), a server that starts
   * and returns the right documents has read nothing corrupt; verify must still find it.
   */
  readWhenServing: boolean;
  /** A byte range (flipped, zeroed, cut) or a whole text file (cut, garbage, removed). */
  shape: 'bytes' | 'whole-file';
  locate(home: string): Promise<Located>;
}

/** The sample collection every home holds (see sample_homes.ts). */
export const sampleTable = 'app.c';

function mentionsFile(file: string): (text: string) => boolean {
  return (text) => text.includes(file);
}

/** A report names an LSN when it shows it beside the word (`"lsn":12`, `lsn=12`, `LSN 12`). */
export function mentionsLsn(lsn: number): (text: string) => boolean {
  const pattern = new RegExp(`lsn["'=:\\s]{1,3}${lsn}(?!\\d)`, 'i');
  return (text) => pattern.test(text);
}

function mentionsTable(tableId: number): (text: string) => boolean {
  const pattern = new RegExp(`table[ _-]?id["'=:\\s]{1,3}${tableId}(?!\\d)|table ${tableId}(?!\\d)`, 'i');
  return (text) => pattern.test(text);
}

function either(...checks: ((text: string) => boolean)[]): (text: string) => boolean {
  return (text) => checks.some((check) => check(text));
}

// ---------------------------------------------------------------------------------------------
// Local `.wt` files.

interface FileTree {
  root: FileAddress;
  alloc: FileAddress;
  /** The first leaf reached from the root (the root itself for a one-page tree). */
  leaf: FileAddress;
}

/** The metadata config of `file:NAME.wt` in a local home, from `wt-readpath list -v --json`. */
async function fileConfig(home: string, file: string): Promise<string> {
  if (file === 'WiredTiger.wt') {
    const turtle = parseTurtle(await readFile(join(home, 'WiredTiger.turtle'), 'utf8'));
    const entry = turtleValue(turtle, TURTLE_METADATA_KEY);
    if (entry === undefined) throw new Error('the turtle file has no metadata entry');
    return entry;
  }
  const list = await runReadPath(['list', '-v', '--json', home]);
  const entries = JSON.parse(list.stdout) as { uri: string; config: string; shared: boolean; id?: number }[];
  const entry = entries.find((candidate) => candidate.uri === `file:${file}`);
  if (entry === undefined) throw new Error(`no file:${file} in the metadata of ${home}`);
  return entry.config;
}

function newestCheckpointAddress(config: string): string {
  const raw = getConfigRaw(config, 'checkpoint');
  if (raw === undefined) throw new Error('the entry has no checkpoint');
  const checkpoints = parseCheckpointList(raw);
  const newest = checkpoints.reduce((best, entry) => (entry.order > best.order ? entry : best));
  return newest.addr;
}

async function fileTree(home: string, file: string): Promise<FileTree> {
  const allocationSize = 4096;
  const cookie = decodeFileCheckpointCookie(Buffer.from(newestCheckpointAddress(await fileConfig(home, file)), 'hex'), allocationSize);
  const bytes = await readFile(join(home, file));
  let address = cookie.root;
  for (let depth = 0; depth < 10; depth++) {
    const block = bytes.subarray(address.offset, address.offset + address.size);
    const header = readPageHeader(block);
    if (header.type !== PageType.RowInternal) break;
    let child: FileAddress | undefined;
    for (let offset = BLOCK_PAYLOAD_OFFSET; offset < header.memSize && child === undefined; ) {
      const cell = unpackCell(block, offset, header.memSize, true);
      if (isAddressCell(cell.type) && cell.type !== CellType.AddressDeleted) child = decodeFileAddress(cell.data, allocationSize);
      offset += cell.size;
    }
    if (child === undefined) break;
    address = child;
  }
  return { root: cookie.root, alloc: cookie.alloc, leaf: address };
}

async function memSizeAt(home: string, file: string, offset: number): Promise<number> {
  const bytes = await readFile(join(home, file));
  return readPageHeader(bytes.subarray(offset, offset + 40)).memSize;
}

function fileStructure(name: string, file: string, readWhenServing: boolean, find: (home: string, tree: FileTree) => Promise<{ offset: number; length: number; what: string }>): Structure {
  return {
    name,
    storage: 'local',
    readWhenServing,
    shape: 'bytes',
    locate: async (home) => {
      const where = await find(home, await fileTree(home, file));
      return { region: { kind: 'file', file, offset: where.offset, length: where.length }, place: `${file} ${where.what} at offset ${where.offset}`, named: mentionsFile(file) };
    },
  };
}

const tableFile = `${sampleTable}.wt`;

/** The structures of local `.wt` files (in a `--storage local` home). */
export const fileStructures: Structure[] = [
  fileStructure('table descriptor block', tableFile, true, async () => ({ offset: 0, length: 4096, what: 'descriptor block' })),
  fileStructure('table root page header', tableFile, true, async (_home, tree) => ({ offset: tree.root.offset, length: 28, what: 'root page header' })),
  fileStructure('table leaf page header', tableFile, true, async (_home, tree) => ({ offset: tree.leaf.offset, length: 28, what: 'leaf page header' })),
  fileStructure('table leaf block header', tableFile, true, async (_home, tree) => ({ offset: tree.leaf.offset + 28, length: 12, what: 'leaf block header' })),
  fileStructure('table leaf cells', tableFile, true, async (home, tree) => {
    const memSize = await memSizeAt(home, tableFile, tree.leaf.offset);
    return { offset: tree.leaf.offset + BLOCK_PAYLOAD_OFFSET, length: memSize - BLOCK_PAYLOAD_OFFSET, what: 'leaf cells' };
  }),
  fileStructure('table extent list', tableFile, false, async (home, tree) => {
    const memSize = await memSizeAt(home, tableFile, tree.alloc.offset);
    return { offset: tree.alloc.offset, length: memSize, what: 'alloc extent list' };
  }),
  fileStructure('metadata file descriptor block', 'WiredTiger.wt', true, async () => ({ offset: 0, length: 4096, what: 'descriptor block' })),
  fileStructure('metadata file root page', 'WiredTiger.wt', true, async (home, tree) => {
    const memSize = await memSizeAt(home, 'WiredTiger.wt', tree.root.offset);
    return { offset: tree.root.offset, length: memSize, what: 'root page' };
  }),
  fileStructure('catalog table leaf cells', '_mdb_catalog.wt', true, async (home, tree) => {
    const memSize = await memSizeAt(home, '_mdb_catalog.wt', tree.leaf.offset);
    return { offset: tree.leaf.offset + BLOCK_PAYLOAD_OFFSET, length: memSize - BLOCK_PAYLOAD_OFFSET, what: 'leaf cells' };
  }),
  fileStructure('oplog leaf cells', 'local.oplog.rs.wt', true, async (home, tree) => {
    const memSize = await memSizeAt(home, 'local.oplog.rs.wt', tree.leaf.offset);
    return { offset: tree.leaf.offset + BLOCK_PAYLOAD_OFFSET, length: memSize - BLOCK_PAYLOAD_OFFSET, what: 'leaf cells' };
  }),
];

/** The local turtle file, in either storage mode. */
export function turtleFileStructure(storage: StorageMode): Structure {
  return {
    name: 'turtle file',
    storage,
    readWhenServing: true,
    shape: 'whole-file',
    // A missing turtle file is named as such ("no turtle file"), not by its file name.
    locate: async () => ({ region: { kind: 'whole-file', file: 'WiredTiger.turtle' }, place: 'WiredTiger.turtle', named: either(mentionsFile('WiredTiger.turtle'), (text) => /turtle file/i.test(text)) }),
  };
}

// ---------------------------------------------------------------------------------------------
// The page log (a disaggregated home).

/** What the newest checkpoint of a page log references. */
interface PageLogCheckpoint {
  completionLsn: number;
  /** The completion record before the newest one. */
  olderCompletionLsn: number | undefined;
  /** A key-provider page no completion record references any more (a rotated-out key). */
  olderKeyProviderLsn: number | undefined;
  turtleLsn: number;
  keyProviderLsn: number | undefined;
  sharedMetadataRoot: { pageId: number; lsn: number };
  table: { id: number; root: { pageId: number; lsn: number }; leaf: { pageId: number; lsn: number } };
}

async function sharedTableConfig(home: string, file: string): Promise<{ id: number; config: string }> {
  const list = await runReadPath(['list', '-v', '--json', home]);
  const entries = JSON.parse(list.stdout) as { uri: string; config: string; shared: boolean; id?: number }[];
  const entry = entries.find((candidate) => candidate.uri === `file:${file}` && candidate.shared);
  if (entry?.id === undefined) throw new Error(`no shared file:${file} in the metadata of ${home}`);
  return { id: entry.id, config: entry.config };
}

async function pageLogCheckpoint(home: string): Promise<PageLogCheckpoint> {
  const table = await sharedTableConfig(home, tableFile);
  const log = await openPageLog(join(home, 'pagelog'), { readOnly: true });
  try {
    const completion = log.getCompleteCheckpoint();
    if (completion === undefined) throw new Error('the page log has no completed checkpoint');
    const metadata = parseCompletionMetadata(completion.metadata, completion.lsn);
    const turtleRecord = log.openHandle(TURTLE_PAGE_TABLE_ID).get(1, metadata.metadataLsn).at(-1);
    if (turtleRecord === undefined) throw new Error('the turtle page is missing');
    const turtle = parseTurtlePage(turtleRecord.image, turtleRecord.lsn);
    const metadataRoot = decodePageLogAddress(Buffer.from(parseCheckpointList(turtle.checkpoint).at(-1)!.addr, 'hex'));
    const tableRoot = decodePageLogAddress(Buffer.from(newestCheckpointAddress(table.config), 'hex'));
    // Down the leftmost children to a leaf.
    const handle = log.openHandle(table.id);
    let leaf = { pageId: tableRoot.pageId, lsn: tableRoot.lsn };
    for (let depth = 0; depth < 10; depth++) {
      const chain = handle.get(leaf.pageId, leaf.lsn);
      const base = chain[0]!.image;
      const header = readPageHeader(base);
      if (header.type !== PageType.RowInternal || chain.length > 1) break;
      let child: { pageId: number; lsn: number } | undefined;
      for (let offset = DISAGG_BASE_PAYLOAD_OFFSET; offset < header.memSize && child === undefined; ) {
        const cell = unpackCell(base, offset, header.memSize, true);
        if (isAddressCell(cell.type) && cell.type !== CellType.AddressDeleted) child = decodePageLogAddress(cell.data);
        offset += cell.size;
      }
      if (child === undefined) break;
      leaf = { pageId: child.pageId, lsn: child.lsn };
    }
    const completions = log.listCompleteCheckpoints();
    return {
      completionLsn: completion.lsn,
      olderCompletionLsn: completions.at(-2)?.lsn,
      olderKeyProviderLsn: olderKeyProviderPages(log).filter((lsn) => lsn < (turtle.keyProvider?.lsn ?? 0)).at(-1),
      turtleLsn: turtleRecord.lsn,
      keyProviderLsn: turtle.keyProvider?.lsn,
      sharedMetadataRoot: { pageId: metadataRoot.pageId, lsn: metadataRoot.lsn },
      table: { id: table.id, root: { pageId: tableRoot.pageId, lsn: tableRoot.lsn }, leaf },
    };
  } finally {
    await log.close();
  }
}

/** LSNs of every key-provider page record in the log (older pages stay until pruned). */
function olderKeyProviderPages(log: Awaited<ReturnType<typeof openPageLog>>): number[] {
  const lsns: number[] = [];
  for (const entry of log.records()) if (entry.kind === 'page' && entry.record.tableId === KEY_PROVIDER_TABLE_ID) lsns.push(entry.record.lsn);
  return lsns;
}

function storeStructure(name: string, readWhenServing: boolean, find: (checkpoint: PageLogCheckpoint) => { database: StoreDatabase; key: Buffer; offset: number; length: number | undefined; place: string; named: (text: string) => boolean }): Structure {
  return {
    name,
    storage: 'disagg',
    readWhenServing,
    shape: 'bytes',
    locate: async (home) => {
      const where = find(await pageLogCheckpoint(home));
      return { region: { kind: 'store', database: where.database, key: where.key, offset: where.offset, length: where.length }, place: where.place, named: where.named };
    },
  };
}

function keyProviderLsn(checkpoint: PageLogCheckpoint): number {
  if (checkpoint.keyProviderLsn === undefined) throw new Error('the newest checkpoint has no key-provider page');
  return checkpoint.keyProviderLsn;
}

/** The structures of the page log (in a disaggregated home with a key provider). */
export const pageLogStructures: Structure[] = [
  storeStructure('page-log turtle page', true, (checkpoint) => ({
    database: 'pages', key: pageKey(TURTLE_PAGE_TABLE_ID, 1, checkpoint.turtleLsn), offset: 0, length: undefined,
    place: `turtle page (table ${TURTLE_PAGE_TABLE_ID}, page 1, LSN ${checkpoint.turtleLsn})`, named: mentionsLsn(checkpoint.turtleLsn),
  })),
  storeStructure('key-provider page header', true, (checkpoint) => ({
    database: 'pages', key: pageKey(KEY_PROVIDER_TABLE_ID, 1, keyProviderLsn(checkpoint)), offset: 0, length: 24,
    place: `key-provider page header (table ${KEY_PROVIDER_TABLE_ID}, page 1, LSN ${keyProviderLsn(checkpoint)})`, named: mentionsLsn(keyProviderLsn(checkpoint)),
  })),
  storeStructure('key-provider page blob', true, (checkpoint) => ({
    database: 'pages', key: pageKey(KEY_PROVIDER_TABLE_ID, 1, keyProviderLsn(checkpoint)), offset: 24, length: undefined,
    place: `key-provider page blob (table ${KEY_PROVIDER_TABLE_ID}, page 1, LSN ${keyProviderLsn(checkpoint)})`, named: mentionsLsn(keyProviderLsn(checkpoint)),
  })),
  storeStructure('completion record', true, (checkpoint) => ({
    database: 'checkpoints', key: lsnKey(checkpoint.completionLsn), offset: 0, length: undefined,
    place: `completion record (LSN ${checkpoint.completionLsn})`, named: mentionsLsn(checkpoint.completionLsn),
  })),
  storeStructure('page-log entry of the turtle page', true, (checkpoint) => ({
    database: 'log', key: lsnKey(checkpoint.turtleLsn), offset: 0, length: undefined,
    place: `log entry of the turtle page (LSN ${checkpoint.turtleLsn})`, named: mentionsLsn(checkpoint.turtleLsn),
  })),
  storeStructure('page-log entry of a table leaf page', true, (checkpoint) => ({
    database: 'log', key: lsnKey(checkpoint.table.leaf.lsn), offset: 0, length: undefined,
    place: `log entry of ${sampleTable}'s leaf page (LSN ${checkpoint.table.leaf.lsn})`, named: mentionsLsn(checkpoint.table.leaf.lsn),
  })),
  storeStructure('page-log format record', true, () => ({
    database: 'meta', key: formatRecordKey, offset: 0, length: undefined,
    place: 'the page log\'s format record', named: (text) => /format record|pagelog/i.test(text),
  })),
  // Not read by a server opening the newest checkpoint, but still part of the log: verify
  // must find them, and a server that starts must still serve the right documents.
  storeStructure('older completion record', false, (checkpoint) => {
    if (checkpoint.olderCompletionLsn === undefined) throw new Error('the page log holds one completion record only');
    return {
      database: 'checkpoints', key: lsnKey(checkpoint.olderCompletionLsn), offset: 0, length: undefined,
      place: `older completion record (LSN ${checkpoint.olderCompletionLsn})`, named: mentionsLsn(checkpoint.olderCompletionLsn),
    };
  }),
  storeStructure('rotated-out key-provider page', false, (checkpoint) => {
    if (checkpoint.olderKeyProviderLsn === undefined) throw new Error('the page log holds one key-provider page only');
    return {
      database: 'pages', key: pageKey(KEY_PROVIDER_TABLE_ID, 1, checkpoint.olderKeyProviderLsn), offset: 0, length: undefined,
      place: `rotated-out key-provider page (LSN ${checkpoint.olderKeyProviderLsn})`, named: mentionsLsn(checkpoint.olderKeyProviderLsn),
    };
  }),
  storeStructure('shared metadata root page', true, (checkpoint) => ({
    database: 'pages', key: pageKey(SHARED_METADATA_TABLE_ID, checkpoint.sharedMetadataRoot.pageId, checkpoint.sharedMetadataRoot.lsn), offset: 0, length: undefined,
    place: `shared metadata page (table ${SHARED_METADATA_TABLE_ID}, page ${checkpoint.sharedMetadataRoot.pageId}, LSN ${checkpoint.sharedMetadataRoot.lsn})`,
    named: either(mentionsLsn(checkpoint.sharedMetadataRoot.lsn), mentionsTable(SHARED_METADATA_TABLE_ID)),
  })),
  storeStructure('shared table root page', true, (checkpoint) => ({
    database: 'pages', key: pageKey(checkpoint.table.id, checkpoint.table.root.pageId, checkpoint.table.root.lsn), offset: 0, length: undefined,
    place: `${sampleTable} root page (table ${checkpoint.table.id}, page ${checkpoint.table.root.pageId}, LSN ${checkpoint.table.root.lsn})`,
    named: either(mentionsLsn(checkpoint.table.root.lsn), mentionsTable(checkpoint.table.id)),
  })),
  storeStructure('shared table leaf page', true, (checkpoint) => ({
    database: 'pages', key: pageKey(checkpoint.table.id, checkpoint.table.leaf.pageId, checkpoint.table.leaf.lsn), offset: 0, length: undefined,
    place: `${sampleTable} leaf page (table ${checkpoint.table.id}, page ${checkpoint.table.leaf.pageId}, LSN ${checkpoint.table.leaf.lsn})`,
    named: either(mentionsLsn(checkpoint.table.leaf.lsn), mentionsTable(checkpoint.table.id)),
  })),
];

/** Every structure, local files first. */
export const allStructures: Structure[] = [...fileStructures, turtleFileStructure('local'), ...pageLogStructures, turtleFileStructure('disagg')];
