/** The repair worker: detect metadata inconsistencies; create a table or rewrite a file id through the PIT path. */
export {
  detect, createTable, modifyTable, injectIdCollision, repairAll,
  type RepairAllOptions, type RepairFinding, type RepairResult, type RepairRun, type MetadataChange,
} from './repair_worker.js';
