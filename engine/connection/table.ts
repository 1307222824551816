import type { BlockManager } from '../block/index.js';
import { Btree, treeLimits, type TimestampState } from '../btree/index.js';
import type { Cache } from '../cache/index.js';
import { ItemFormat } from '../format/index.js';
import type { TableSettings } from '../meta/index.js';
import type { CheckpointView } from './follower.js';

/** An open table: its entries, formats, block manager and tree. */
export class TableHandle {
  keyFormat: ItemFormat;
  valueFormat: ItemFormat;
  tree: Btree | undefined;
  block: BlockManager | undefined;
  /** A follower's shared table: the checkpoint view it is read as of (never written). */
  view: CheckpointView | undefined;

  constructor(
    readonly uri: string,
    readonly fileUri: string,
    public id: number,
    readonly shared: boolean,
    public settings: TableSettings,
  ) {
    this.keyFormat = new ItemFormat(settings.keyFormat);
    this.valueFormat = new ItemFormat(settings.valueFormat);
  }

  get fileName(): string {
    return this.fileUri.slice('file:'.length);
  }

  /** Opens the tree over `block` from the checkpoint's root. */
  open(block: BlockManager, cache: Cache, timestamps: TimestampState, rootAddress: Buffer | undefined, writeGen: bigint): Btree {
    this.block = block;
    this.tree = new Btree({
      block, cache, timestamps, rootAddress, writeGen,
      where: this.shared ? { uri: this.uri, tableId: this.id } : { uri: this.uri, file: this.fileName },
      ...treeLimits(this.settings),
    });
    return this.tree;
  }

  /** Decodes with new formats from now on (a spot-fix of an empty table's formats). */
  reformat(keyFormat: string, valueFormat: string): void {
    this.keyFormat = new ItemFormat(keyFormat);
    this.valueFormat = new ItemFormat(valueFormat);
    this.settings = { ...this.settings, keyFormat, valueFormat };
  }

  close(): void {
    this.tree?.release();
    this.block?.close();
    this.tree = undefined;
    this.block = undefined;
  }
}
