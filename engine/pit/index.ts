/** The point-in-time (PIT) write path: internal mutations applied as of a timestamp, then a checkpoint. */
export { pitWrite, checkMutations, type PitMutation, type PitWriteRequest, type PitWriteResult } from './pit_write.js';
