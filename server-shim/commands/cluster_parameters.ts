import { Long, Timestamp } from 'bson';
import { CommandError, ErrorCodes } from '../errors/index.js';
import type { ServerParameters } from '../options/index.js';
import type { Storage } from '../storage/index.js';
import type { Document } from '../values/index.js';

/** Where cluster parameters are stored, one document per parameter (`_id` = its name). */
export const clusterParametersNamespace = 'config.clusterParameters';

/** The cluster parameters mongod 8.0 knows, with their default values. */
const defaults: Record<string, () => Document> = {
  changeStreamOptions: () => ({ preAndPostImages: { expireAfterSeconds: 'off' } }),
  changeStreams: () => ({ expireAfterSeconds: Long.fromNumber(3600) }),
  defaultMaxTimeMS: () => ({ readOperations: Long.fromNumber(0) }),
  fleCompactionOptions: () => ({ maxCompactionSize: 268435456, maxAnchorCompactionSize: 268435456, maxESCEntriesPerCompactionDelete: 350000 }),
  pauseMigrationsDuringMultiUpdates: () => ({ enabled: false }),
};

/** Test-only cluster parameters, known only with `enableTestCommands=1` (as in mongod). */
const testDefaults: Record<string, () => Document> = {
  testIntClusterParameter: () => ({ intData: Long.fromNumber(16) }),
  testStrClusterParameter: () => ({ strData: 'off' }),
  testBoolClusterParameter: () => ({ boolData: false }),
};

/** The known parameter names (test ones included when test commands are enabled). */
export function knownClusterParameters(parameters: ServerParameters): string[] {
  return [...Object.keys(defaults), ...(parameters.getBoolean('enableTestCommands') ? Object.keys(testDefaults) : [])];
}

/** NoSuchKey (4) unless `name` is a known cluster parameter, as mongod answers. */
export function checkClusterParameterName(name: string, parameters: ServerParameters): void {
  if (!knownClusterParameters(parameters).includes(name)) throw new CommandError(ErrorCodes.NoSuchKey, `Unknown Cluster Parameter ${name}`);
}

/** The stored value of a cluster parameter, or its default (with `clusterParameterTime` 0). */
export function readClusterParameter(storage: Storage, name: string): Document {
  const entry = storage.collection(clusterParametersNamespace);
  const stored = entry === undefined ? undefined : storage.findByKey(entry, name)?.document;
  if (stored !== undefined) return stored;
  const value = (defaults[name] ?? testDefaults[name])?.() ?? {};
  return { _id: name, clusterParameterTime: new Timestamp({ t: 0, i: 0 }), ...value };
}
