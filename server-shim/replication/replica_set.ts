import { Long, ObjectId, Timestamp } from 'bson';
import type { ServerState } from '../commands/context.js';
import { LogComponent, LogId, type Logger } from '../log/index.js';
import { bigIntToTimestamp, parseNamespace, type Storage } from '../storage/index.js';
import { newObjectId, type Document } from '../values/index.js';

/** Where a replica set member keeps its configuration. */
export const replicaSetConfigNamespace = 'local.system.replset';

/** The `electionId` a single primary reports: the term in the last bytes, like mongod's. */
export function electionId(term: number): ObjectId {
  return new ObjectId(`7fffffff${term.toString(16).padStart(16, '0')}`);
}

/** The configuration a fresh single-member set starts with (what `rs.initiate()` would write). */
export function defaultReplicaSetConfig(setName: string, host: string): Document {
  return {
    _id: setName,
    version: 1,
    term: 1,
    members: [{ _id: 0, host, arbiterOnly: false, buildIndexes: true, hidden: false, priority: 1, tags: {}, secondaryDelaySecs: Long.fromNumber(0), votes: 1 }],
    protocolVersion: Long.fromNumber(1),
    writeConcernMajorityJournalDefault: true,
    settings: {
      chainingAllowed: true,
      heartbeatIntervalMillis: 2000,
      heartbeatTimeoutSecs: 10,
      electionTimeoutMillis: 10000,
      catchUpTimeoutMillis: -1,
      catchUpTakeoverDelayMillis: 30000,
      getLastErrorModes: {},
      getLastErrorDefaults: { w: 1, wtimeout: 0 },
      replicaSetId: newObjectId(),
    },
  };
}

/** The stored replica set configuration, if any. */
export function readReplicaSetConfig(storage: Storage): Document | undefined {
  const entry = storage.collection(replicaSetConfigNamespace);
  if (entry === undefined) return undefined;
  for (const record of storage.scan(entry)) return record.document;
  return undefined;
}

/**
 * Makes this node the primary of a one-member set: on first start with `--replSet`, writes the
 * configuration to `local.system.replset` and the "initiating set" no-op to the oplog, as
 * `rs.initiate()` does. Later starts keep the stored configuration.
 */
export async function initiateReplicaSet(storage: Storage, setName: string, host: string, logger: Logger): Promise<void> {
  const existing = readReplicaSetConfig(storage);
  if (existing !== undefined) {
    if (existing._id !== setName) {
      logger.warning(LogComponent.Replication, LogId.ReplicaSetInitiated, 'The stored replica set configuration names another set', {
        stored: existing._id,
        commandLine: setName,
      });
    }
    return;
  }
  await storage.write(() => {
    const entry = storage.collection(replicaSetConfigNamespace) ?? storage.createCollection(parseNamespace(replicaSetConfigNamespace));
    storage.insertDocument(entry, defaultReplicaSetConfig(setName, host));
    storage.logOperation({ op: 'n', ns: '', o: { msg: 'initiating set' } });
  });
  logger.info(LogComponent.Replication, LogId.ReplicaSetInitiated, 'Initiated a single-member replica set', { setName, host });
}

/** An optime: `{ts, t}`. */
function optime(storage: Storage, timestamp: bigint): Document {
  return { ts: bigIntToTimestamp(timestamp), t: Long.fromNumber(storage.term) };
}

/** Seconds-resolution wall time of a timestamp. */
function wallTime(timestamp: bigint): Date {
  return new Date(Number(timestamp >> 32n) * 1000);
}

/** The replica set fields of `hello` for a single primary. */
export function helloReplicaSetFields(server: ServerState, setName: string): Document {
  const storage = server.storage;
  const last = storage.lastAppliedTimestamp;
  const config = readReplicaSetConfig(storage);
  const leader = storage.role === 'leader';
  return {
    hosts: [server.hostAndPort],
    setName,
    setVersion: config?.version ?? 1,
    isWritablePrimary: leader,
    secondary: !leader,
    // A follower does not know where the leader serves clients.
    ...(leader ? { primary: server.hostAndPort } : {}),
    me: server.hostAndPort,
    electionId: electionId(storage.term),
    lastWrite: {
      opTime: optime(storage, last),
      lastWriteDate: wallTime(last),
      majorityOpTime: optime(storage, last),
      majorityWriteDate: wallTime(last),
    },
  };
}

/** `replSetGetStatus` for a single primary; every write is majority-committed at once. */
export function replicaSetStatus(server: ServerState, setName: string): Document {
  const storage = server.storage;
  const last = storage.lastAppliedTimestamp;
  const checkpoint = storage.lastCheckpoint();
  const now = new Date();
  const uptimeSeconds = Math.floor((now.getTime() - server.startedAt.getTime()) / 1000);
  const applied = optime(storage, last);
  return {
    set: setName,
    date: now,
    myState: storage.role === 'leader' ? 1 : 2,
    term: Long.fromNumber(storage.term),
    syncSourceHost: '',
    syncSourceId: -1,
    heartbeatIntervalMillis: Long.fromNumber(2000),
    majorityVoteCount: 1,
    writeMajorityCount: 1,
    votingMembersCount: 1,
    writableVotingMembersCount: 1,
    optimes: {
      lastCommittedOpTime: applied,
      lastCommittedWallTime: wallTime(last),
      readConcernMajorityOpTime: applied,
      appliedOpTime: applied,
      durableOpTime: applied,
      lastAppliedWallTime: wallTime(last),
      lastDurableWallTime: wallTime(last),
    },
    lastStableRecoveryTimestamp: bigIntToTimestamp(checkpoint?.timestamp ?? 0n),
    members: [
      {
        _id: 0,
        name: server.hostAndPort,
        health: 1,
        state: storage.role === 'leader' ? 1 : 2,
        stateStr: storage.role === 'leader' ? 'PRIMARY' : 'SECONDARY',
        uptime: uptimeSeconds,
        optime: applied,
        optimeDate: wallTime(last),
        lastAppliedWallTime: wallTime(last),
        lastDurableWallTime: wallTime(last),
        syncSourceHost: '',
        syncSourceId: -1,
        infoMessage: '',
        electionTime: new Timestamp({ t: Math.floor(server.startedAt.getTime() / 1000), i: 1 }),
        electionDate: server.startedAt,
        configVersion: readReplicaSetConfig(storage)?.version ?? 1,
        configTerm: storage.term,
        self: true,
        lastHeartbeatMessage: '',
      },
    ],
  };
}
