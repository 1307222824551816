/** The block layer: one interface, a `.wt` file implementation and a page-log implementation. */
export type { BlockManager, ReadPage } from './block_manager.js';
export { FileBlockManager, type FileBlockManagerOptions } from './file_block_manager.js';
export { ExtentSet } from './extent_set.js';
export { PageLogBlockManager } from './page_log_block_manager.js';
