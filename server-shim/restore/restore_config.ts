import { Timestamp } from 'bson';
import { numericKind, toExactInteger, type Document } from '../values/index.js';

/** MongoDB's codes for an invalid restore configuration. */
export const ConfigErrorCode = {
  /** A field of the wrong type or value. */
  BadValue: 2,
  /** `pointInTimeTimestamp` is not greater than `maxCheckpointTs`. */
  PointInTimeNotAfterCheckpoint: 8290601,
  /** A required field is missing (IDL). */
  MissingField: 40414,
  /** A field the configuration does not know (IDL). */
  UnknownField: 40415,
  /** A field or value this server does not support. */
  NotSupported: 115,
} as const;

export class RestoreConfigError extends Error {
  constructor(readonly code: number, message: string, readonly field?: string) {
    super(message);
    this.name = 'RestoreConfigError';
  }
}

/** The restore configuration, checked. */
export interface RestoreConfiguration {
  nodeType: 'replicaSet';
  replicaSetConfig: Document;
  maxCheckpointTs: Timestamp;
  pointInTimeTimestamp?: Timestamp;
  restoreToHigherTermThan?: bigint;
  systemUuids?: Document[];
}

const KNOWN_FIELDS = new Set(['nodeType', 'replicaSetConfig', 'maxCheckpointTs', 'pointInTimeTimestamp', 'restoreToHigherTermThan', 'systemUuids', 'collectionsToRestore']);
const OTHER_NODE_TYPES = new Set(['shard', 'configServer', 'configShard']);

function requireTimestamp(document: Document, field: string): Timestamp {
  const value = document[field];
  if (value === undefined) throw new RestoreConfigError(ConfigErrorCode.MissingField, `the restore configuration needs "${field}"`, field);
  if (!(value instanceof Timestamp)) throw new RestoreConfigError(ConfigErrorCode.BadValue, `"${field}" must be a Timestamp`, field);
  return value;
}

/**
 * Checks the first document of a magic-restore stream: required fields, types, supported
 * values, the point in time after the checkpoint, and no field it does not know.
 */
export function parseRestoreConfiguration(document: Document, replSetName: string | undefined): RestoreConfiguration {
  for (const field of Object.keys(document)) {
    if (!KNOWN_FIELDS.has(field)) throw new RestoreConfigError(ConfigErrorCode.UnknownField, `unknown field "${field}" in the restore configuration`, field);
  }
  if (document.collectionsToRestore !== undefined) {
    throw new RestoreConfigError(ConfigErrorCode.NotSupported, 'collectionsToRestore (a selective restore) is not supported', 'collectionsToRestore');
  }
  const nodeType = document.nodeType;
  if (nodeType === undefined) throw new RestoreConfigError(ConfigErrorCode.MissingField, 'the restore configuration needs "nodeType"', 'nodeType');
  if (typeof nodeType !== 'string') throw new RestoreConfigError(ConfigErrorCode.BadValue, '"nodeType" must be a string', 'nodeType');
  if (OTHER_NODE_TYPES.has(nodeType)) {
    throw new RestoreConfigError(ConfigErrorCode.NotSupported, `nodeType "${nodeType}" is not supported: only "replicaSet"`, 'nodeType');
  }
  if (nodeType !== 'replicaSet') throw new RestoreConfigError(ConfigErrorCode.BadValue, `unknown nodeType "${nodeType}"`, 'nodeType');

  const replicaSetConfig = document.replicaSetConfig;
  if (replicaSetConfig === undefined) throw new RestoreConfigError(ConfigErrorCode.MissingField, 'the restore configuration needs "replicaSetConfig"', 'replicaSetConfig');
  if (typeof replicaSetConfig !== 'object' || replicaSetConfig === null || Array.isArray(replicaSetConfig) || replicaSetConfig instanceof Timestamp) {
    throw new RestoreConfigError(ConfigErrorCode.BadValue, '"replicaSetConfig" must be a document', 'replicaSetConfig');
  }
  const setConfig = replicaSetConfig as Document;
  if (typeof setConfig._id !== 'string' || setConfig._id.length === 0) {
    throw new RestoreConfigError(ConfigErrorCode.BadValue, '"replicaSetConfig._id" must name the replica set', 'replicaSetConfig');
  }
  if (!Array.isArray(setConfig.members) || setConfig.members.length === 0) {
    throw new RestoreConfigError(ConfigErrorCode.BadValue, '"replicaSetConfig.members" must be a non-empty array', 'replicaSetConfig');
  }
  if (replSetName !== undefined && setConfig._id !== replSetName) {
    throw new RestoreConfigError(ConfigErrorCode.BadValue, `"replicaSetConfig._id" is "${setConfig._id}" but --replSet is "${replSetName}"`, 'replicaSetConfig');
  }

  const maxCheckpointTs = requireTimestamp(document, 'maxCheckpointTs');
  const config: RestoreConfiguration = { nodeType: 'replicaSet', replicaSetConfig: setConfig, maxCheckpointTs };
  if (document.pointInTimeTimestamp !== undefined) {
    const pointInTime = requireTimestamp(document, 'pointInTimeTimestamp');
    if (pointInTime.compare(maxCheckpointTs) <= 0) {
      throw new RestoreConfigError(
        ConfigErrorCode.PointInTimeNotAfterCheckpoint,
        `pointInTimeTimestamp ${pointInTime.toString()} must be greater than maxCheckpointTs ${maxCheckpointTs.toString()}`,
        'pointInTimeTimestamp',
      );
    }
    config.pointInTimeTimestamp = pointInTime;
  }
  if (document.restoreToHigherTermThan !== undefined) {
    const term = numericKind(document.restoreToHigherTermThan) === undefined ? undefined : toExactInteger(document.restoreToHigherTermThan);
    if (term === undefined || term < 0n) {
      throw new RestoreConfigError(ConfigErrorCode.BadValue, '"restoreToHigherTermThan" must be a non-negative integer', 'restoreToHigherTermThan');
    }
    config.restoreToHigherTermThan = term;
  }
  if (document.systemUuids !== undefined) {
    const uuids = document.systemUuids;
    if (!Array.isArray(uuids) || !uuids.every((u) => typeof u === 'object' && u !== null && typeof (u as Document).ns === 'string')) {
      throw new RestoreConfigError(ConfigErrorCode.BadValue, '"systemUuids" must be an array of {ns, uuid} documents', 'systemUuids');
    }
    config.systemUuids = uuids as Document[];
  }
  return config;
}
