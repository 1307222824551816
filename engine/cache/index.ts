/** The page cache shared by every tree of a connection. */
export { Cache, type EvictionTarget } from './cache.js';
