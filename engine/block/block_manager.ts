/**
 * The block layer's one interface. A btree hands it page images and gets back opaque
 * addresses; only the block layer decodes addresses. Two implementations: `.wt` files
 * (`FileBlockManager`) and the page log (`PageLogBlockManager`).
 */

/** A page read back: the image and where its cells start. */
export interface ReadPage {
  /** The page image: page header at 0; cells from `payloadOffset` to the header's `mem_size`. */
  image: Buffer;
  payloadOffset: number;
}

export interface BlockManager {
  readonly kind: 'file' | 'pagelog';
  /** Where errors point: a file name or `table id N`. */
  readonly name: string;
  /**
   * Reads and checks the page at `address`. Throws `ChecksumError` / `FormatError` with the
   * location when the bytes do not match the address.
   */
  read(address: Uint8Array): ReadPage;
  /**
   * A hint that the pages at `addresses` will be read soon (a scan going from leaf to leaf):
   * a block manager over a networked store fetches them together. Optional; never throws.
   */
  prefetch?(addresses: readonly Uint8Array[]): void;
  /**
   * Writes a page image (28-byte page header, 12 reserved block-header bytes, cells) and
   * returns its address. The image's header must be filled in (type, entries, mem_size).
   * `replaces` is the address of the same page's previous image, which the live tree no
   * longer references once this returns.
   */
  write(image: Buffer, replaces?: Uint8Array): Buffer;
  /**
   * False while writes must wait (a page-log checkpoint between its trees and its completion
   * record); eviction then keeps dirty pages. Absent: always true.
   */
  canWrite?(): boolean;
  /** Tells the block layer the live tree no longer references `address`. */
  free(address: Uint8Array): void;
  /**
   * Ends a checkpoint's writes for this tree: returns the value to store in the metadata
   * `addr=` field (hex text) for the tree whose root is `rootAddress` (undefined: empty tree),
   * after making every block of the tree durable.
   */
  checkpoint(rootAddress: Uint8Array | undefined): string;
  /**
   * The bytes of the tree the last `checkpoint` wrote (the metadata checkpoint's `size=`, as
   * WiredTiger records it); absent where the store does not count them.
   */
  readonly lastCheckpointBytes?: number;
  /** Called once the checkpoint is durable everywhere: space it replaced may now be reused. */
  checkpointDurable(): void;
  /** Root address stored in a metadata `addr=` value, or undefined for an empty tree. */
  rootFromCheckpoint(addr: string): Buffer | undefined;
  /** Human-readable form of an address for findings and errors. */
  describe(address: Uint8Array): string;
  close(): void;
}
