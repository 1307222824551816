/** Row-store B+trees: in-memory pages, search and updates, splits, reconciliation, eviction. */
export { Btree, type BtreeOptions, type Batch, type TimestampState } from './btree.js';
export { LeafPage, InternalPage, Ref, UpdateChain, pageCells, decodeLeaf, decodeInternal, loadPage, type Page } from './page.js';
export {
  buildLeafImage, buildInternalImage, buildOverflowImage, leafItemLimits, splitPageSize, treeLimits, type LeafItemLimits, type PageSizes,
} from './reconcile.js';
export { copyTree, treeAddresses, type CopySlicing } from './tree_copy.js';
