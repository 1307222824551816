import { Binary, Timestamp, UUID } from 'bson';
import { namespaceString, parseNamespace } from '../storage/index.js';
import { isDocument, typeName, type Document } from '../values/index.js';

/** MongoDB's codes for an invalid restore configuration (its IDL parser's and magic restore's). */
export const ConfigErrorCode = {
  /** A value outside its enumeration or range (IDL enums and validators). */
  BadValue: 2,
  /** A field of the wrong BSON type (IDL). */
  TypeMismatch: 14,
  /** A namespace that is not `db.collection` or not a valid name. */
  InvalidNamespace: 73,
  /** A field or value this server does not support. */
  NotSupported: 115,
  /** A required field is missing (IDL). */
  MissingField: 40414,
  /** A field the configuration does not know (IDL, strict structs). */
  UnknownField: 40415,
  /** `pointInTimeTimestamp` is not greater than `maxCheckpointTs`. */
  PointInTimeNotAfterCheckpoint: 8290601,
  /** A sharding field (`shardIdentityDocument`, `shardingRename`, `balancerSettings`) on a `replicaSet` node. */
  ShardingFieldOnReplicaSet: 8290602,
  /** `shardingRename` without `shardIdentityDocument`. */
  ShardingRenameWithoutShardIdentity: 8290603,
} as const;

/**
 * An invalid restore configuration: MongoDB's code and message, and `field`, the exact place
 * (`systemUuids.1.uuid`, array positions included, which MongoDB's messages leave out).
 */
export class RestoreConfigError extends Error {
  constructor(readonly code: number, message: string, readonly field?: string) {
    super(message);
    this.name = 'RestoreConfigError';
  }
}

/** A collection's namespace and UUID (`systemUuids`, `collectionsToRestore`). */
export interface NamespaceUuid {
  ns: string;
  uuid: UUID;
}

/** The `createRole` and `createUser` commands of `automationCredentials`, checked. */
export interface AutomationCredentials {
  createRoleCommands: Document[];
  createUserCommands: Document[];
}

/** The restore configuration, checked. */
export interface RestoreConfiguration {
  nodeType: 'replicaSet';
  replicaSetConfig: Document;
  maxCheckpointTs: Timestamp;
  pointInTimeTimestamp?: Timestamp;
  /** At least 1 and below 2^31. */
  restoreToHigherTermThan?: bigint;
  /** Internal collections to create, when missing, with these UUIDs. */
  systemUuids?: NamespaceUuid[];
  automationCredentials?: AutomationCredentials;
}

/** The node types of MongoDB's `NodeType` enumeration; only `replicaSet` is restored here. */
const NODE_TYPES = ['replicaSet', 'shard', 'configShard', 'configServer'] as const;

/** The largest `restoreToHigherTermThan` (exclusive): a term must fit a 32-bit signed integer. */
const TERM_LIMIT = 2n ** 31n;

/** The BSON types fields are declared with, by MongoDB's type names. */
type Kind = 'string' | 'timestamp' | 'long' | 'bool' | 'objectId' | 'uuid' | 'object' | 'array';

/** A struct as the IDL declares it: its fields in order, and whether unknown fields are refused. */
interface StructSpec {
  strict: boolean;
  fields: Record<string, FieldSpec>;
}

interface FieldSpec {
  kind: Kind | StructSpec;
  /** For arrays: each element's kind. */
  element?: Kind | StructSpec;
  optional?: true;
}

const namespaceUuidPair: StructSpec = { strict: true, fields: { ns: { kind: 'string' }, uuid: { kind: 'uuid' } } };

/** The fields of the restore configuration, MongoDB's `RestoreConfiguration` (strict). */
const restoreConfigurationSpec: StructSpec = {
  strict: true,
  fields: {
    nodeType: { kind: 'string' },
    // The server reads a few fields of the set's configuration (below); mongod installs the rest as given.
    replicaSetConfig: { kind: { strict: false, fields: { _id: { kind: 'string' }, members: { kind: 'array' } } } },
    pointInTimeTimestamp: { kind: 'timestamp', optional: true },
    restoreToHigherTermThan: { kind: 'long', optional: true },
    maxCheckpointTs: { kind: 'timestamp' },
    collectionsToRestore: { kind: 'array', element: namespaceUuidPair, optional: true },
    shardingRename: {
      kind: 'array',
      element: {
        strict: true,
        fields: { sourceShardName: { kind: 'string' }, destinationShardName: { kind: 'string' }, destinationShardConnectionString: { kind: 'string' } },
      },
      optional: true,
    },
    shardIdentityDocument: {
      kind: { strict: true, fields: { shardName: { kind: 'string' }, clusterId: { kind: 'objectId' }, configsvrConnectionString: { kind: 'string' } } },
      optional: true,
    },
    seedForUuids: { kind: 'objectId', optional: true },
    balancerSettings: { kind: { strict: true, fields: { stopped: { kind: 'bool' } } }, optional: true },
    automationCredentials: {
      kind: { strict: true, fields: { createRoleCommands: { kind: 'array', element: 'object' }, createUserCommands: { kind: 'array', element: 'object' } } },
      optional: true,
    },
    systemUuids: { kind: 'array', element: namespaceUuidPair, optional: true },
  },
};

/** The fields each automation credential command needs (MongoDB's `createRole` and `createUser` commands). */
const credentialCommandFields: Record<'createRole' | 'createUser', Record<string, Kind>> = {
  createRole: { createRole: 'string', privileges: 'array', roles: 'array', $db: 'string' },
  createUser: { createUser: 'string', roles: 'array', $db: 'string' },
};

/** Where a value sits: MongoDB's dotted path (no array positions) and the exact one. */
interface Place {
  path: string;
  field: string;
}

function child(place: Place, name: string, position?: number): Place {
  const field = place.field === '' ? name : `${place.field}.${name}`;
  return { path: `${place.path}.${name}`, field: position === undefined ? field : `${field}.${position}` };
}

function isUuid(value: unknown): boolean {
  return value instanceof UUID || (value instanceof Binary && value.sub_type === Binary.SUBTYPE_UUID && value.length() === 16);
}

function hasKind(value: unknown, kind: Kind): boolean {
  switch (kind) {
    case 'string':
      return typeof value === 'string';
    case 'timestamp':
      return value instanceof Timestamp;
    case 'long':
      return typeName(value) === 'long';
    case 'bool':
      return typeof value === 'boolean';
    case 'objectId':
      return typeName(value) === 'objectId';
    case 'uuid':
      return isUuid(value);
    case 'object':
      return isDocument(value);
    case 'array':
      return Array.isArray(value);
  }
}

function wrongType(place: Place, value: unknown, kind: Kind): RestoreConfigError {
  const expected = kind === 'uuid' ? 'binData' : kind;
  return new RestoreConfigError(ConfigErrorCode.TypeMismatch, `BSON field '${place.path}' is the wrong type '${typeName(value)}', expected type '${expected}'`, place.field);
}

function missing(place: Place): RestoreConfigError {
  return new RestoreConfigError(ConfigErrorCode.MissingField, `BSON field '${place.path}' is missing but a required field`, place.field);
}

function checkValue(value: unknown, kind: Kind | StructSpec, place: Place): void {
  if (typeof kind !== 'string') {
    if (!isDocument(value)) throw wrongType(place, value, 'object');
    checkStruct(value, kind, place);
  } else if (!hasKind(value, kind)) {
    throw wrongType(place, value, kind);
  }
}

/**
 * Checks a document against a struct, in the order MongoDB's IDL parser does: each field as it
 * comes (unknown fields of a strict struct, types, nested structs), then the required fields
 * that are missing, in declaration order.
 */
function checkStruct(document: Document, spec: StructSpec, place: Place): void {
  for (const [name, value] of Object.entries(document)) {
    const field = spec.fields[name];
    const at = child(place, name);
    if (field === undefined) {
      if (spec.strict) throw new RestoreConfigError(ConfigErrorCode.UnknownField, `BSON field '${at.path}' is an unknown field.`, at.field);
      continue;
    }
    checkValue(value, field.kind, at);
    if (field.element !== undefined) {
      (value as unknown[]).forEach((element, position) => checkValue(element, field.element!, { path: at.path, field: `${at.field}.${position}` }));
    }
  }
  for (const [name, field] of Object.entries(spec.fields)) {
    if (!field.optional && document[name] === undefined) throw missing(child(place, name));
  }
}

/** The range MongoDB's IDL declares for `restoreToHigherTermThan`: 1 <= term < 2^31. */
function checkTermRange(term: bigint): void {
  if (term < 1n) {
    throw new RestoreConfigError(ConfigErrorCode.BadValue, `BSON field 'restoreToHigherTermThan' value must be >= 1, actual value '${term}'`, 'restoreToHigherTermThan');
  }
  if (term >= TERM_LIMIT) {
    throw new RestoreConfigError(ConfigErrorCode.BadValue, `BSON field 'restoreToHigherTermThan' value must be < ${TERM_LIMIT}, actual value '${term}'`, 'restoreToHigherTermThan');
  }
}

function checkNodeType(value: string): void {
  if (!(NODE_TYPES as readonly string[]).includes(value)) {
    throw new RestoreConfigError(ConfigErrorCode.BadValue, `Enumeration value '${value}' for field 'RestoreConfiguration.nodeType' is not a valid value.`, 'nodeType');
  }
}

/** A `db.collection` namespace of `systemUuids` or `collectionsToRestore`, normalized. */
function checkPairNamespace(ns: string, field: string): string {
  try {
    return namespaceString(parseNamespace(ns));
  } catch (error) {
    throw new RestoreConfigError(ConfigErrorCode.InvalidNamespace, (error as Error).message, field);
  }
}

function namespaceUuids(pairs: Document[], field: string): NamespaceUuid[] {
  return pairs.map((pair, position) => {
    const uuid = pair.uuid instanceof UUID ? pair.uuid : (pair.uuid as Binary).toUUID();
    return { ns: checkPairNamespace(pair.ns as string, `${field}.${position}.ns`), uuid };
  });
}

/**
 * The commands of `automationCredentials`, checked as MongoDB parses them before running them:
 * the command name first with the role or user name, its required arrays, and `$db`.
 */
function checkCredentialCommands(commands: Document[], command: 'createRole' | 'createUser', field: string): void {
  commands.forEach((body, position) => {
    const at: Place = { path: command, field: `automationCredentials.${field}.${position}` };
    if (Object.keys(body)[0] !== command) {
      throw new RestoreConfigError(ConfigErrorCode.MissingField, `BSON field '${command}.${command}' is missing but a required field`, at.field);
    }
    for (const [name, kind] of Object.entries(credentialCommandFields[command])) {
      const fieldAt: Place = { path: name === '$db' ? name : `${command}.${name}`, field: `${at.field}.${name}` };
      if (body[name] === undefined) throw missing(fieldAt);
      if (!hasKind(body[name], kind)) throw wrongType(fieldAt, body[name], kind);
    }
  });
}

/**
 * Checks the first document of a magic-restore stream as MongoDB does: its IDL (known fields,
 * types, required fields, the node type enumeration, the range of `restoreToHigherTermThan`),
 * then magic restore's own rules (the point in time after the checkpoint, the sharding fields
 * only on sharded node types, `shardingRename` only with `shardIdentityDocument`), then what
 * this server supports: replica set nodes, no selective restore.
 */
export function parseRestoreConfiguration(document: Document, replSetName: string | undefined): RestoreConfiguration {
  checkStruct(document, restoreConfigurationSpec, { path: 'RestoreConfiguration', field: '' });
  const nodeType = document.nodeType as string;
  checkNodeType(nodeType);
  const restoreToHigherTermThan = document.restoreToHigherTermThan === undefined ? undefined : BigInt(String(document.restoreToHigherTermThan));
  if (restoreToHigherTermThan !== undefined) checkTermRange(restoreToHigherTermThan);

  const maxCheckpointTs = document.maxCheckpointTs as Timestamp;
  const pointInTimeTimestamp = document.pointInTimeTimestamp as Timestamp | undefined;
  if (pointInTimeTimestamp !== undefined && pointInTimeTimestamp.compare(maxCheckpointTs) <= 0) {
    throw new RestoreConfigError(
      ConfigErrorCode.PointInTimeNotAfterCheckpoint,
      `The pointInTimeTimestamp must be greater than the maxCheckpointTs. (pointInTimeTimestamp ${pointInTimeTimestamp.toString()}, maxCheckpointTs ${maxCheckpointTs.toString()})`,
      'pointInTimeTimestamp',
    );
  }
  const shardingFields = ['shardIdentityDocument', 'shardingRename', 'balancerSettings'].filter((field) => document[field] !== undefined);
  if (shardingFields.length > 0) {
    if (nodeType === 'replicaSet') {
      throw new RestoreConfigError(
        ConfigErrorCode.ShardingFieldOnReplicaSet,
        "If the 'shardIdentityDocument', 'shardingRename', or 'balancerSettings' fields exist in the restore configuration, the node type must be either 'shard', 'configServer', or 'configShard'.",
        shardingFields[0],
      );
    }
    if (document.shardingRename !== undefined && document.shardIdentityDocument === undefined) {
      throw new RestoreConfigError(
        ConfigErrorCode.ShardingRenameWithoutShardIdentity,
        "If 'shardingRename' exists in the restore configuration, 'shardIdentityDocument' must also be passed in.",
        'shardingRename',
      );
    }
  }

  if (nodeType !== 'replicaSet') {
    throw new RestoreConfigError(ConfigErrorCode.NotSupported, `nodeType '${nodeType}' is not supported: this server restores replica set nodes only`, 'nodeType');
  }
  if (document.collectionsToRestore !== undefined) {
    throw new RestoreConfigError(ConfigErrorCode.NotSupported, 'collectionsToRestore (a selective restore) is not supported', 'collectionsToRestore');
  }

  const replicaSetConfig = document.replicaSetConfig as Document;
  if ((replicaSetConfig.members as unknown[]).length === 0) {
    throw new RestoreConfigError(ConfigErrorCode.BadValue, "BSON field 'RestoreConfiguration.replicaSetConfig.members' must name at least one member", 'replicaSetConfig.members');
  }
  if (replSetName !== undefined && replicaSetConfig._id !== replSetName) {
    throw new RestoreConfigError(ConfigErrorCode.BadValue, `replicaSetConfig._id is '${replicaSetConfig._id as string}' but --replSet is '${replSetName}'`, 'replicaSetConfig._id');
  }

  const config: RestoreConfiguration = { nodeType: 'replicaSet', replicaSetConfig, maxCheckpointTs };
  if (pointInTimeTimestamp !== undefined) config.pointInTimeTimestamp = pointInTimeTimestamp;
  if (restoreToHigherTermThan !== undefined) config.restoreToHigherTermThan = restoreToHigherTermThan;
  if (document.systemUuids !== undefined) config.systemUuids = namespaceUuids(document.systemUuids as Document[], 'systemUuids');
  if (document.automationCredentials !== undefined) {
    const credentials = document.automationCredentials as Document;
    const createRoleCommands = credentials.createRoleCommands as Document[];
    const createUserCommands = credentials.createUserCommands as Document[];
    checkCredentialCommands(createRoleCommands, 'createRole', 'createRoleCommands');
    checkCredentialCommands(createUserCommands, 'createUser', 'createUserCommands');
    config.automationCredentials = { createRoleCommands, createUserCommands };
  }
  return config;
}
