/** Server-side cursors: lazy document streams handed out batch by batch, with an idle timeout. */
export { cursorIdString, CursorManager, defaultFirstBatchSize, maximumBatchBytes, ServerCursor } from './cursor_manager.js';
export type { Batch, CursorOptions } from './cursor_manager.js';
