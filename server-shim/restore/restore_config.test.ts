import { BSON, Binary, Int32, Long, ObjectId, Timestamp, UUID } from 'bson';
import { expect } from 'chai';
import { decodeDocument, type Document } from '../values/index.js';
import { ConfigErrorCode, parseRestoreConfiguration, RestoreConfigError } from './restore_config.js';
import { higherTermNoOpEntry, invalidMinValidDocument } from './restore_plan.js';

const maxCheckpointTs = new Timestamp({ t: 1_700_000_000, i: 5 });

function validConfig(): Document {
  return {
    nodeType: 'replicaSet',
    replicaSetConfig: { _id: 'rs0', version: 1, term: 1, members: [{ _id: 0, host: 'localhost:27017' }] },
    maxCheckpointTs,
  };
}

/** The configuration as the server reads it: through BSON, so every value keeps its BSON type. */
function parse(config: Document, replSet: string | undefined = 'rs0') {
  return parseRestoreConfiguration(decodeDocument(BSON.serialize(config)), replSet);
}

function refusal(config: Document): RestoreConfigError {
  try {
    parse(config);
  } catch (error) {
    if (error instanceof RestoreConfigError) return error;
    throw error;
  }
  throw new Error('the configuration was accepted');
}

const shardIdentityDocument = { shardName: 'shard1', clusterId: new ObjectId(), configsvrConnectionString: 'cfg/localhost:27019' };
const shardingRename = [{ sourceShardName: 'source', destinationShardName: 'destination', destinationShardConnectionString: 'rs1/localhost:27018' }];
const balancerSettings = { stopped: false };
const automationCredentials = {
  createRoleCommands: [{ createRole: 'automation', $db: 'admin', privileges: [], roles: [] }],
  createUserCommands: [{ createUser: 'agent', $db: 'admin', pwd: 'secret', roles: ['automation'] }],
};

describe('restore configuration', () => {
  it('accepts the required fields and returns them typed', () => {
    const config = parse(validConfig());
    expect(config.nodeType).to.equal('replicaSet');
    expect(config.maxCheckpointTs.equals(maxCheckpointTs)).to.equal(true);
    expect(config.replicaSetConfig._id).to.equal('rs0');
    expect(config.restoreToHigherTermThan).to.equal(undefined);
  });

  it('reads restoreToHigherTermThan as the term, from 1 up to 2^31 - 1', () => {
    expect(parse({ ...validConfig(), restoreToHigherTermThan: Long.fromNumber(1) }).restoreToHigherTermThan).to.equal(1n);
    expect(parse({ ...validConfig(), restoreToHigherTermThan: Long.fromNumber(2 ** 31 - 1) }).restoreToHigherTermThan).to.equal(2n ** 31n - 1n);
  });

  it('reads systemUuids as namespaces with their UUIDs', () => {
    const uuid = new UUID();
    const config = parse({ ...validConfig(), systemUuids: [{ ns: 'admin.system.users', uuid }] });
    expect(config.systemUuids).to.have.length(1);
    expect(config.systemUuids![0]!.ns).to.equal('admin.system.users');
    expect(config.systemUuids![0]!.uuid.equals(uuid)).to.equal(true);
  });

  it('accepts seedForUuids, which mongod reads and never uses', () => {
    expect(() => parse({ ...validConfig(), seedForUuids: new ObjectId() })).to.not.throw();
  });

  it('accepts automationCredentials whose commands parse, for the restore to check them', () => {
    const config = parse({ ...validConfig(), automationCredentials });
    expect(config.automationCredentials!.createUserCommands[0]!.createUser).to.equal('agent');
  });

  const refused: Array<[string, () => Document, number, RegExp, string | undefined]> = [
    ['restoreToHigherTermThan 0', () => ({ ...validConfig(), restoreToHigherTermThan: Long.fromNumber(0) }), ConfigErrorCode.BadValue,
      /^BSON field 'restoreToHigherTermThan' value must be >= 1, actual value '0'$/, 'restoreToHigherTermThan'],
    ['a negative restoreToHigherTermThan', () => ({ ...validConfig(), restoreToHigherTermThan: Long.fromNumber(-3) }), ConfigErrorCode.BadValue,
      /value must be >= 1, actual value '-3'/, 'restoreToHigherTermThan'],
    ['restoreToHigherTermThan of 2^31', () => ({ ...validConfig(), restoreToHigherTermThan: Long.fromNumber(2 ** 31) }), ConfigErrorCode.BadValue,
      /value must be < 2147483648, actual value '2147483648'/, 'restoreToHigherTermThan'],
    ['restoreToHigherTermThan as a 32-bit int (the IDL declares a long)', () => ({ ...validConfig(), restoreToHigherTermThan: new Int32(20) }),
      ConfigErrorCode.TypeMismatch, /^BSON field 'RestoreConfiguration.restoreToHigherTermThan' is the wrong type 'int', expected type 'long'$/, 'restoreToHigherTermThan'],
    ['maxCheckpointTs that is not a Timestamp', () => ({ ...validConfig(), maxCheckpointTs: 5 }), ConfigErrorCode.TypeMismatch,
      /'RestoreConfiguration.maxCheckpointTs' is the wrong type 'int', expected type 'timestamp'/, 'maxCheckpointTs'],
    ['a configuration without maxCheckpointTs', () => { const c = validConfig(); delete c.maxCheckpointTs; return c; }, ConfigErrorCode.MissingField,
      /^BSON field 'RestoreConfiguration.maxCheckpointTs' is missing but a required field$/, 'maxCheckpointTs'],
    ['a configuration without nodeType', () => { const c = validConfig(); delete c.nodeType; return c; }, ConfigErrorCode.MissingField,
      /'RestoreConfiguration.nodeType' is missing/, 'nodeType'],
    ['an unknown nodeType', () => ({ ...validConfig(), nodeType: 'standalone' }), ConfigErrorCode.BadValue,
      /^Enumeration value 'standalone' for field 'RestoreConfiguration.nodeType' is not a valid value.$/, 'nodeType'],
    ['an unknown field', () => ({ ...validConfig(), surprise: true }), ConfigErrorCode.UnknownField,
      /^BSON field 'RestoreConfiguration.surprise' is an unknown field.$/, 'surprise'],
    ['pointInTimeTimestamp equal to maxCheckpointTs', () => ({ ...validConfig(), pointInTimeTimestamp: maxCheckpointTs }),
      ConfigErrorCode.PointInTimeNotAfterCheckpoint, /^The pointInTimeTimestamp must be greater than the maxCheckpointTs./, 'pointInTimeTimestamp'],
    ['shardIdentityDocument on a replicaSet node', () => ({ ...validConfig(), shardIdentityDocument }), ConfigErrorCode.ShardingFieldOnReplicaSet,
      /^If the 'shardIdentityDocument', 'shardingRename', or 'balancerSettings' fields exist in the restore configuration, the node type must be either 'shard', 'configServer', or 'configShard'.$/,
      'shardIdentityDocument'],
    ['shardingRename on a replicaSet node', () => ({ ...validConfig(), shardingRename }), ConfigErrorCode.ShardingFieldOnReplicaSet,
      /the node type must be either 'shard', 'configServer', or 'configShard'/, 'shardingRename'],
    ['balancerSettings on a replicaSet node', () => ({ ...validConfig(), balancerSettings }), ConfigErrorCode.ShardingFieldOnReplicaSet,
      /the node type must be either/, 'balancerSettings'],
    ['shardingRename without shardIdentityDocument on a shard', () => ({ ...validConfig(), nodeType: 'shard', shardingRename }),
      ConfigErrorCode.ShardingRenameWithoutShardIdentity, /^If 'shardingRename' exists in the restore configuration, 'shardIdentityDocument' must also be passed in.$/,
      'shardingRename'],
    ['a shard with every sharding field (this server restores replica sets only)', () => ({
      ...validConfig(), nodeType: 'shard', shardIdentityDocument, shardingRename, balancerSettings,
    }), ConfigErrorCode.NotSupported, /nodeType 'shard' is not supported/, 'nodeType'],
    ['nodeType "configServer"', () => ({ ...validConfig(), nodeType: 'configServer' }), ConfigErrorCode.NotSupported, /not supported/, 'nodeType'],
    ['a shardIdentityDocument without clusterId (its IDL first)', () => ({
      ...validConfig(), shardIdentityDocument: { shardName: 'shard1', configsvrConnectionString: 'cfg/localhost:27019' },
    }), ConfigErrorCode.MissingField, /^BSON field 'RestoreConfiguration.shardIdentityDocument.clusterId' is missing but a required field$/,
      'shardIdentityDocument.clusterId'],
    ['balancerSettings.stopped that is not a bool', () => ({ ...validConfig(), balancerSettings: { stopped: 'no' } }), ConfigErrorCode.TypeMismatch,
      /'RestoreConfiguration.balancerSettings.stopped' is the wrong type 'string', expected type 'bool'/, 'balancerSettings.stopped'],
    ['an unknown field in a shardingRename mapping', () => ({ ...validConfig(), nodeType: 'shard', shardIdentityDocument, shardingRename: [{ ...shardingRename[0], extra: 1 }] }),
      ConfigErrorCode.UnknownField, /'RestoreConfiguration.shardingRename.extra' is an unknown field/, 'shardingRename.0.extra'],
    ['collectionsToRestore (a selective restore)', () => ({ ...validConfig(), collectionsToRestore: [{ ns: 'app.orders', uuid: new UUID() }] }),
      ConfigErrorCode.NotSupported, /collectionsToRestore/, 'collectionsToRestore'],
    ['a systemUuids uuid that is a string', () => ({ ...validConfig(), systemUuids: [{ ns: 'admin.system.users', uuid: new UUID() }, { ns: 'admin.system.roles', uuid: 'abc' }] }),
      ConfigErrorCode.TypeMismatch, /'RestoreConfiguration.systemUuids.uuid' is the wrong type 'string', expected type 'binData'/, 'systemUuids.1.uuid'],
    ['a systemUuids uuid of another binary subtype', () => ({ ...validConfig(), systemUuids: [{ ns: 'admin.system.users', uuid: new Binary(Buffer.alloc(16)) }] }),
      ConfigErrorCode.TypeMismatch, /expected type 'binData'/, 'systemUuids.0.uuid'],
    ['a systemUuids pair without ns', () => ({ ...validConfig(), systemUuids: [{ uuid: new UUID() }] }), ConfigErrorCode.MissingField,
      /'RestoreConfiguration.systemUuids.ns' is missing/, 'systemUuids.0.ns'],
    ['a systemUuids namespace without a collection', () => ({ ...validConfig(), systemUuids: [{ ns: 'admin', uuid: new UUID() }] }),
      ConfigErrorCode.InvalidNamespace, /Invalid namespace/, 'systemUuids.0.ns'],
    ['systemUuids that is not an array', () => ({ ...validConfig(), systemUuids: { ns: 'admin.system.users' } }), ConfigErrorCode.TypeMismatch,
      /'RestoreConfiguration.systemUuids' is the wrong type 'object', expected type 'array'/, 'systemUuids'],
    ['automationCredentials without createUserCommands', () => ({ ...validConfig(), automationCredentials: { createRoleCommands: [] } }),
      ConfigErrorCode.MissingField, /'RestoreConfiguration.automationCredentials.createUserCommands' is missing/, 'automationCredentials.createUserCommands'],
    ['a createRole command without privileges', () => ({
      ...validConfig(), automationCredentials: { createRoleCommands: [{ createRole: 'r', $db: 'admin', roles: [] }], createUserCommands: [] },
    }), ConfigErrorCode.MissingField, /^BSON field 'createRole.privileges' is missing but a required field$/, 'automationCredentials.createRoleCommands.0.privileges'],
    ['a createUser command without $db', () => ({
      ...validConfig(), automationCredentials: { createRoleCommands: [], createUserCommands: [{ createUser: 'u', roles: [] }] },
    }), ConfigErrorCode.MissingField, /^BSON field '\$db' is missing but a required field$/, 'automationCredentials.createUserCommands.0.$db'],
    ['a createUserCommands entry that is another command', () => ({
      ...validConfig(), automationCredentials: { createRoleCommands: [], createUserCommands: [{ dropUser: 'u', $db: 'admin' }] },
    }), ConfigErrorCode.MissingField, /'createUser.createUser' is missing/, 'automationCredentials.createUserCommands.0'],
    ['a replicaSetConfig without members', () => ({ ...validConfig(), replicaSetConfig: { _id: 'rs0', version: 1 } }), ConfigErrorCode.MissingField,
      /'RestoreConfiguration.replicaSetConfig.members' is missing/, 'replicaSetConfig.members'],
    ['a replicaSetConfig naming another set', () => ({ ...validConfig(), replicaSetConfig: { _id: 'other', members: [{ _id: 0, host: 'h:1' }] } }),
      ConfigErrorCode.BadValue, /--replSet is 'rs0'/, 'replicaSetConfig._id'],
  ];
  for (const [what, config, code, message, field] of refused) {
    it(`refuses ${what} with code ${code}`, () => {
      const error = refusal(config());
      expect(error.code, error.message).to.equal(code);
      expect(error.message).to.match(message);
      expect(error.field).to.equal(field);
    });
  }

  it('checks types and required fields before the cross-field rules, as the IDL parses first', () => {
    // A sharding field on a replica set with a malformed maxCheckpointTs: the type error comes first.
    expect(refusal({ ...validConfig(), shardIdentityDocument, maxCheckpointTs: 'now' }).code).to.equal(ConfigErrorCode.TypeMismatch);
    // A zero term and a sharding field: the IDL's range check comes before the node type rule.
    expect(refusal({ ...validConfig(), balancerSettings, restoreToHigherTermThan: Long.fromNumber(0) }).code).to.equal(ConfigErrorCode.BadValue);
  });
});

describe('restore documents', () => {
  it('writes the minvalid document mongod writes: zero ObjectId, term -1, timestamp (0, 1)', () => {
    const roundTripped = decodeDocument(BSON.serialize(invalidMinValidDocument()));
    expect(Object.keys(roundTripped)).to.deep.equal(['_id', 't', 'ts']);
    expect((roundTripped._id as ObjectId).toHexString()).to.equal('000000000000000000000000');
    expect(roundTripped.t).to.deep.equal(new Int32(-1));
    expect((roundTripped.ts as Timestamp).equals(new Timestamp({ t: 0, i: 1 }))).to.equal(true);
  });

  it('writes the higher-term no-op one second after the last entry, with the larger term plus 100', () => {
    const wall = new Date('2024-05-01T10:00:00.250Z');
    const last = { ts: new Timestamp({ t: 10, i: 7 }), t: Long.fromNumber(1), wall };
    const noop = higherTermNoOpEntry(last, 100n);
    expect(Object.keys(noop)).to.deep.equal(['op', 'ns', 'o', 'ts', 't', 'v', 'wall']);
    expect(noop.op).to.equal('n');
    expect(noop.ns).to.equal('');
    expect(noop.o).to.deep.equal({ msg: 'restore incrementing term' });
    expect((noop.ts as Timestamp).equals(new Timestamp({ t: 11, i: 1 }))).to.equal(true);
    expect(noop.t).to.deep.equal(Long.fromNumber(200));
    expect(noop.v).to.deep.equal(Long.fromNumber(2));
    expect((noop.wall as Date).getTime()).to.equal(wall.getTime() + 1000);
  });

  it('keeps the last entry term when it is the larger one', () => {
    const noop = higherTermNoOpEntry({ ts: new Timestamp({ t: 10, i: 1 }), t: Long.fromNumber(500), wall: new Date(10_000) }, 20n);
    expect(noop.t).to.deep.equal(Long.fromNumber(600));
  });
});
