/**
 * The format layer: WiredTiger's on-disk structures as pure encode / decode functions
 * (FORMATS.md). Nothing here does I/O.
 */
export * from './packed.js';
export * from './checksum.js';
export * from './block.js';
export * from './cell.js';
export * from './address.js';
export * from './extent.js';
export * from './config.js';
export * from './checkpoint_config.js';
export * from './turtle.js';
export * from './items.js';
export * from './disagg.js';
export * from './log.js';
