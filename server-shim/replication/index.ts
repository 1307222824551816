/** Single-member replica set behaviour: the stored configuration, hello fields and status. */
export {
  defaultReplicaSetConfig,
  electionId,
  helloReplicaSetFields,
  initiateReplicaSet,
  readReplicaSetConfig,
  replicaSetConfigNamespace,
  replicaSetStatus,
} from './replica_set.js';
export { recoverFromOplog, type ReplicationRecoveryResult } from './recovery.js';
