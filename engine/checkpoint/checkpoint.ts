import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckpointInfo, EngineLogger } from '../api.js';
import type { FileBlockManager } from '../block/index.js';
import type { TimestampState } from '../btree/index.js';
import type { SharedStorage, TableHandle } from '../connection/index.js';
import { formatCheckpointList, formatLsn, plainCheckpoint, setConfigRaw, type Lsn } from '../format/index.js';
import type { WriteAheadLog } from '../log/index.js';
import { metadataFileEntry, PAIRED_CHECKPOINT_KEY, pairedCheckpointEntry, writeTurtleFile, type MetadataStore } from '../meta/index.js';

/** What a checkpoint reads and writes of an open connection. */
export interface CheckpointTarget {
  readonly home: string;
  readonly timestamps: TimestampState;
  readonly log: EngineLogger;
  readonly localMetadata: MetadataStore;
  readonly localMetadataBlock: FileBlockManager;
  /** The disaggregated half, in disaggregated mode on a leader. */
  readonly shared: SharedStorage | undefined;
  /**
   * On a follower (which writes no shared checkpoint): the page log and the checkpoint it had
   * picked up (0: none yet), which the local checkpoint records as its pairing.
   */
  readonly followerPairing?: { lsn: number; pageLog: string } | undefined;
  /** The journal, when it is on. */
  readonly wal: WriteAheadLog | undefined;
  /** The open tables (iterated several times). */
  tables(): Iterable<TableHandle>;
  /** Counts the metadata checkpoint order up and returns the new one. */
  nextOrder(): number;
  /** The largest file id in use (the turtle page records it). */
  largestFileId(): number;
  /** Takes the files of dropped tables, to delete once the checkpoint is durable. */
  takePendingFileDeletes(): string[];
  /** False while journal files must stay even when the checkpoint makes them unneeded (a backup). */
  mayRemoveJournalFiles(): boolean;
  /** The files of the local tables now (read as the local metadata is written). */
  localFileNames(): string[];
  /** Told, once the checkpoint is durable, which local files it names. */
  localFilesDurable(files: string[]): void;
}

function writeTimestampEntries(metadata: MetadataStore, now: number, stable: bigint, oldest: bigint, order: number): void {
  const hex = (v: bigint): string => v.toString(16);
  metadata.set('system:checkpoint', `checkpoint_timestamp="${hex(stable)}",checkpoint_time=${now},write_gen=${order}`);
  metadata.set('system:oldest', `oldest_timestamp="${hex(oldest)}",checkpoint_time=${now},write_gen=${order}`);
}

/** Writes a table's tree and records its new checkpoint in its metadata entry. */
function checkpointTable(table: TableHandle, metadata: MetadataStore, order: number, now: number): void {
  const tree = table.tree!;
  const root = tree.reconcile();
  const addr = table.block!.checkpoint(root);
  const fileConfig = metadata.get(table.fileUri)!;
  const entry = plainCheckpoint({ addr, order, time: now, size: table.block!.lastCheckpointBytes ?? 0, writeGen: tree.maxWriteGen, runWriteGen: 1n });
  metadata.set(table.fileUri, setConfigRaw(fileConfig, 'checkpoint', formatCheckpointList(entry)));
}

/**
 * Takes one checkpoint at the stable timestamp (see README.md): every dirty tree in one
 * synchronous step (with the journal's `checkpoint_lsn`), the disaggregated half through the
 * page log, then the local metadata and the turtle file, whose rename commits it; then the
 * space and files the checkpoint made unneeded are released. The caller serializes calls.
 */
export async function runCheckpoint(target: CheckpointTarget): Promise<CheckpointInfo> {
  const started = Date.now();
  const now = Math.floor(started / 1000);
  const order = target.nextOrder();
  const stable = target.timestamps.stable;
  const oldest = target.timestamps.oldest;
  let sharedInfo: Awaited<ReturnType<SharedStorage['checkpoint']>> | undefined;
  // Every table is written in one synchronous step, so all of them hold the same writes (no
  // transaction half in, half out) as of the same stable timestamp; writes made while the
  // checkpoint then waits for the page log belong to the next checkpoint.
  let checkpointLsn: Lsn | undefined;
  const writeLocalTables = (): void => {
    // Every journal record before this LSN is in the trees written now: it stops before the
    // first commit timestamped above `stable`, which the trees leave out.
    checkpointLsn = target.wal?.checkpointLsn(stable);
    for (const table of target.tables()) {
      if (!table.shared && table.tree?.dirty) checkpointTable(table, target.localMetadata, order, now);
    }
  };
  if (target.shared) {
    const shared = target.shared;
    sharedInfo = await shared.checkpoint({ stable, oldest, largestFileId: target.largestFileId() }, () => {
      for (const table of target.tables()) {
        if (table.shared && table.tree?.dirty) checkpointTable(table, shared.metadata, order, now);
      }
      writeTimestampEntries(shared.metadata, now, stable, oldest, order);
      writeLocalTables();
    });
  } else {
    writeLocalTables();
  }
  if (sharedInfo) target.localMetadata.set(PAIRED_CHECKPOINT_KEY, pairedCheckpointEntry({ lsn: sharedInfo.lsn, pageLog: target.shared!.pageLog.identity }));
  else if (target.followerPairing) target.localMetadata.set(PAIRED_CHECKPOINT_KEY, pairedCheckpointEntry({ ...target.followerPairing, role: 'follower' }));
  // Then the local metadata, then the turtle file: its rename is the commit.
  writeTimestampEntries(target.localMetadata, now, stable, oldest, order);
  const metadataRoot = target.localMetadata.tree.reconcile();
  const localFiles = target.localFileNames();
  const metadataAddr = target.localMetadataBlock.checkpoint(metadataRoot);
  const { backupError } = writeTurtleFile(target.home, metadataFileEntry(formatCheckpointList(plainCheckpoint({
    addr: metadataAddr, order, time: now, size: target.localMetadataBlock.lastCheckpointBytes, writeGen: target.localMetadata.tree.maxWriteGen, runWriteGen: 1n,
  })), checkpointLsn ? formatLsn(checkpointLsn) : undefined));
  if (backupError !== undefined) {
    target.log({
      level: 'warn', component: 'CHECKPOINT', msg: 'The turtle file backup was not written (the next checkpoint or writable open writes it)',
      attr: { file: 'WiredTiger.turtle.backup', error: backupError instanceof Error ? backupError.message : String(backupError) },
    });
  }
  target.localMetadataBlock.checkpointDurable();
  for (const table of target.tables()) table.block?.checkpointDurable();
  await target.shared?.checkpointDurable();
  target.localFilesDurable(localFiles);
  for (const file of target.takePendingFileDeletes()) rmSync(join(target.home, file), { force: true });
  if (target.wal && checkpointLsn) {
    // The checkpoint is committed (the turtle names it, with its checkpoint_lsn, which is all
    // recovery reads): a journal that fails now, a full disk say, must not report it failed.
    try {
      target.wal.logCheckpoint(checkpointLsn);
      const removed = target.mayRemoveJournalFiles() ? target.wal.removeBefore(checkpointLsn) : [];
      if (removed.length > 0) target.log({ level: 'info', component: 'JOURNAL', msg: 'Removed journal files the checkpoint made unneeded', attr: { files: removed } });
    } catch (error) {
      target.log({
        level: 'warn', component: 'JOURNAL', msg: 'The checkpoint is durable, but its journal record or the removal of journal files it made unneeded failed',
        attr: { error: error instanceof Error ? error.message : String(error) },
      });
    }
  }
  const info: CheckpointInfo = {
    id: sharedInfo ? String(sharedInfo.lsn) : String(order),
    timestamp: stable, oldestTimestamp: oldest, time: Date.now(),
    ...(sharedInfo ? { lsn: sharedInfo.lsn, metadataLsn: sharedInfo.metadataLsn, keyProviderPageLsn: sharedInfo.keyProviderPageLsn } : {}),
  };
  target.log({ level: 'info', component: 'CHECKPOINT', msg: 'Checkpoint completed', attr: { id: info.id, timestamp: String(stable), durationMillis: Date.now() - started } });
  return info;
}
