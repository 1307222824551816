import type { EngineEventName } from '../../engine/index.js';

/**
 * Numeric ids of the server's log lines. mongod gives every log statement a unique id so tools
 * can match lines without parsing messages; where mongod has a line with the same meaning its
 * id is reused, so existing log tooling and habits (`grep '"id":23016'`) carry over.
 */
export const LogId = {
  // Start-up and shutdown (CONTROL).
  Starting: 4615611,
  BuildInfo: 23403,
  OptionsSet: 21951,
  AccessControlNotEnabled: 22120,
  TestingEnabled: 7140203,
  RepairCommandsEnabled: 7140204,
  ShuttingDown: 23138,
  NowExiting: 20565,
  ReceivedSignal: 23377,
  Fatal: 23091,
  UncaughtException: 23090,
  LockFileHeld: 20557,
  LockFileTakenOver: 7140200,
  StartupModeNotSupported: 7140201,
  // Network (NETWORK).
  WaitingForConnections: 23016,
  ListenerError: 20568,
  ConnectionAccepted: 22943,
  ConnectionEnded: 22944,
  ClientMetadata: 51800,
  ReceiveError: 22988,
  SendError: 22989,
  HttpOnNativePort: 7140202,
  // Commands (COMMAND).
  RunningCommand: 21965,
  SlowQuery: 51803,
  CommandFailed: 7140230,
  CommandFailedUnexpectedly: 7140231,
  ShutdownCommand: 20605,
  // Storage (STORAGE).
  EngineOpening: 22315,
  EngineOpened: 4795906,
  EngineOpenFailed: 28595,
  CheckpointTaken: 22430,
  CheckpointFailed: 22435,
  StorageFailed: 7140250,
  FsyncLocked: 20495,
  FsyncUnlocked: 20497,
  BackupCursorOpened: 24200,
  BackupCursorClosed: 24203,
  CatalogLoaded: 7140210,
  CatalogEntryWithoutTable: 7140211,
  CollectionCreated: 20320,
  CollectionDropped: 20318,
  DatabaseDropped: 20336,
  EngineClosing: 4795902,
  EngineClosed: 4795901,
  // Replication (REPL).
  ReplicaSetInitiated: 21392,
  /** mongod's "Recovering from stable timestamp" (replication recovery at start-up). */
  ReplicationRecoveryStarting: 23987,
  /** mongod's "Applied oplog entries during replication recovery". */
  ReplicationRecoveryFinished: 21536,
  ReplicationRecoverySkipped: 7140280,
  /** mongod's "Transition to PRIMARY complete" and related lines of a role change. */
  SteppedUp: 21331,
  SteppedDown: 21402,
  // Disaggregated roles (STORAGE).
  CheckpointPickedUp: 7140281,
  CheckpointPickUpFailed: 7140282,
  Fenced: 7140283,
  WaitingForFirstCheckpoint: 7140284,
  // Engine events forwarded as they are.
  EngineEvent: 7140220,
  // Key provider (KEY_PROVIDER): engine events with a stable name, never with key bytes.
  KeyProviderLoaded: 7140260,
  KeyProviderKeyPushed: 7140261,
  KeyProviderKeyRotated: 7140262,
  KeyProviderUpdateFailed: 7140263,
  // Cursors (QUERY).
  CursorTimedOut: 20529,
  // Repair (REPAIR).
  RepairFinding: 7140240,
  RepairAction: 7140241,
  RepairFinished: 7140242,
  FaultInjected: 7140243,
  RepairTurtleRestored: 7140244,
  // Magic restore (RESTORE).
  MagicRestoreBeginning: 8290800,
  MagicRestoreStep: 7140270,
  MagicRestoreFinished: 8290817,
  /** mongod's fatal line when the data's recovery timestamp is not `maxCheckpointTs`. */
  MagicRestoreCheckpointMismatch: 8290700,
  /** mongod's fatal line when `automationCredentials` needs an auth collection that does not exist. */
  MagicRestoreInternalCollectionMissing: 8816900,
  MagicRestoreCreatingInternalCollection: 8816901,
  MagicRestoreInternalCollectionExists: 8816902,
} as const;

export type LogIdValue = (typeof LogId)[keyof typeof LogId];

/** The log id of each named engine event (`EngineLogEvent.event`); other engine events are `EngineEvent`. */
export const engineEventLogIds: Readonly<Record<EngineEventName, LogIdValue>> = {
  keyProviderLoaded: LogId.KeyProviderLoaded,
  keyProviderKeyPushed: LogId.KeyProviderKeyPushed,
  keyProviderKeyRotated: LogId.KeyProviderKeyRotated,
  keyProviderUpdateFailed: LogId.KeyProviderUpdateFailed,
};
