import { ChecksumError, ErrorCode, FormatError } from '../errors.js';
import { checksum } from './checksum.js';
import { getConfigValue, parseConfig } from './config.js';
import { latestCheckpoint, type CheckpointEntry } from './checkpoint_config.js';

/**
 * The local turtle file `WiredTiger.turtle` (FORMATS.md 7.3): key line / value line pairs,
 * each ending in `\n`. It holds the version and the metadata file's own entry.
 */

export const TURTLE_FILE = 'WiredTiger.turtle';
export const TURTLE_TEMP_FILE = 'WiredTiger.turtle.set';
export const TURTLE_VERSION_STRING_KEY = 'WiredTiger version string';
export const TURTLE_VERSION_KEY = 'WiredTiger version';
export const TURTLE_METADATA_KEY = 'file:WiredTiger.wt';
/**
 * The key of the pair this engine appends to every turtle it writes: the CRC-32C of every byte
 * before the key line. WiredTiger searches the turtle line by line for the key it wants, so it
 * never reads this pair, and drops it when it rewrites the file.
 */
export const TURTLE_CHECKSUM_KEY = 'Turtle checksum';
/** The copy of the turtle kept beside it, written after it in the same atomic way. */
export const TURTLE_BACKUP_FILE = 'WiredTiger.turtle.backup';
export const TURTLE_BACKUP_TEMP_FILE = 'WiredTiger.turtle.backup.set';
/** Keys WiredTiger 12 writes (the last two only in some configurations), and the checksum. */
export const TURTLE_KNOWN_KEYS: readonly string[] = [
  'WiredTiger version string', 'WiredTiger version', 'file:WiredTiger.wt', 'Compatibility version', 'Live Restore', TURTLE_CHECKSUM_KEY,
];
export const ENGINE_VERSION = { major: 12, minor: 0, patch: 0 };
export const ENGINE_VERSION_STRING = 'WiredTiger 12.0.0: (November 15, 2024)';

export interface TurtleFile {
  /** The pairs in file order. */
  entries: Array<[string, string]>;
}

export function parseTurtle(text: string, file = TURTLE_FILE): TurtleFile {
  // Every line ends with a newline. Without the last one the file was cut short inside the
  // metadata entry, and what is left can parse as an entry without its checkpoint: an empty
  // database instead of an error.
  if (text !== '' && !text.endsWith('\n')) {
    throw new FormatError('turtle file does not end with a newline: it was cut short', { file, offset: text.length }, ErrorCode.FormatTruncated);
  }
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines.length % 2 !== 0) {
    throw new FormatError('turtle file has a key without a value', { file, offset: text.length }, ErrorCode.FormatTruncated);
  }
  const entries: Array<[string, string]> = [];
  for (let i = 0; i < lines.length; i += 2) entries.push([lines[i]!, lines[i + 1]!]);
  const turtle = { entries };
  const version = turtleValue(turtle, TURTLE_VERSION_KEY);
  if (version === undefined) throw new FormatError(`turtle file lacks "${TURTLE_VERSION_KEY}"`, { file, key: TURTLE_VERSION_KEY });
  const match = /^major=(\d+),minor=(\d+),patch=(\d+)$/.exec(version);
  if (!match) throw new FormatError(`turtle file version "${version}" does not parse`, { file, key: TURTLE_VERSION_KEY });
  const [major, minor] = [Number(match[1]), Number(match[2])];
  if (major < 3 || (major === 3 && minor < 2)) {
    throw new FormatError(`turtle file version ${version} is older than 3.2.0`, { file, key: TURTLE_VERSION_KEY });
  }
  if (turtleValue(turtle, TURTLE_METADATA_KEY) === undefined) {
    throw new FormatError(`turtle file lacks "${TURTLE_METADATA_KEY}"`, { file, key: TURTLE_METADATA_KEY });
  }
  return turtle;
}

export function turtleValue(turtle: TurtleFile, key: string): string | undefined {
  return turtle.entries.find(([k]) => k === key)?.[1];
}

/**
 * The turtle text for a metadata entry: the version lines WiredTiger writes first, the entry,
 * then the checksum pair over everything before it.
 */
export function formatTurtle(metadataConfig: string): string {
  const { major, minor, patch } = ENGINE_VERSION;
  const body = `${TURTLE_VERSION_STRING_KEY}\n${ENGINE_VERSION_STRING}\n`
    + `${TURTLE_VERSION_KEY}\nmajor=${major},minor=${minor},patch=${patch}\n`
    + `${TURTLE_METADATA_KEY}\n${metadataConfig}\n`;
  return `${body}${TURTLE_CHECKSUM_KEY}\n${formatTurtleChecksum(Buffer.from(body, 'utf8'))}\n`;
}

function formatTurtleChecksum(body: Uint8Array): string {
  return `crc32c=0x${checksum(body).toString(16).padStart(8, '0')}`;
}

/** A turtle file that passed every check of `checkTurtleBytes`. */
export interface CheckedTurtle {
  turtle: TurtleFile;
  /** The metadata file's own entry. */
  metadataConfig: string;
  /** Its newest checkpoint; undefined when the entry names none (see `METADATA_CHECKPOINT_MISSING`). */
  checkpoint: CheckpointEntry | undefined;
  /** Whether the file carries the checksum pair (turtles WiredTiger wrote do not). */
  checksummed: boolean;
}

/**
 * Every check a turtle file must pass before a home is opened from it, shared by the engine's
 * open and the verifier so that both refuse the same files: UTF-8 text without NUL bytes, key
 * and value line pairs, a known version, no repeated or unknown key, the checksum pair (when
 * present, last, and matching), and a metadata entry that parses with `id=0`, `key_format=S`,
 * `value_format=S` and a checkpoint list that parses. Raises `FormatError` (or `ChecksumError`)
 * naming `file` and, where one is to blame, the key.
 */
export function checkTurtleBytes(bytes: Uint8Array, file = TURTLE_FILE): CheckedTurtle {
  const text = Buffer.from(bytes).toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(Buffer.from(bytes))) throw new FormatError('turtle file is not valid UTF-8 text', { file });
  const nul = text.indexOf('\0');
  if (nul >= 0) throw new FormatError('turtle file holds a NUL byte', { file, offset: Buffer.byteLength(text.slice(0, nul)) });
  const turtle = parseTurtle(text, file);
  const versionString = turtleValue(turtle, TURTLE_VERSION_STRING_KEY);
  if (versionString !== undefined && !/^WiredTiger \d+\.\d+\.\d+/.test(versionString)) {
    throw new FormatError(`turtle file version string "${versionString}" does not name a WiredTiger version`, { file, key: TURTLE_VERSION_STRING_KEY });
  }
  const keys = new Set<string>();
  for (const [key] of turtle.entries) {
    if (keys.has(key)) throw new FormatError(`turtle file repeats the key "${key}"`, { file, key });
    keys.add(key);
    if (!TURTLE_KNOWN_KEYS.includes(key)) throw new FormatError(`turtle file has an unknown key "${key}"`, { file, key });
  }
  const checksummed = keys.has(TURTLE_CHECKSUM_KEY);
  if (checksummed) {
    const last = turtle.entries[turtle.entries.length - 1]!;
    if (last[0] !== TURTLE_CHECKSUM_KEY) throw new FormatError(`"${TURTLE_CHECKSUM_KEY}" is not the turtle file's last pair`, { file, key: TURTLE_CHECKSUM_KEY });
    const covered = Buffer.byteLength(text) - Buffer.byteLength(`${TURTLE_CHECKSUM_KEY}\n${last[1]}\n`);
    const expected = formatTurtleChecksum(Buffer.from(bytes).subarray(0, covered));
    if (last[1] !== expected) {
      throw new ChecksumError(`turtle file checksum does not match its contents: stored "${last[1]}", computed "${expected}"`, {
        file, key: TURTLE_CHECKSUM_KEY, offset: covered, expected: last[1], actual: expected,
      });
    }
  }
  const metadataConfig = turtleValue(turtle, TURTLE_METADATA_KEY)!;
  let checkpoint: CheckpointEntry | undefined;
  try {
    parseConfig(metadataConfig);
    checkpoint = latestCheckpoint(metadataConfig);
  } catch (error) {
    throw new FormatError(`the metadata file's entry does not parse: ${error instanceof Error ? error.message : String(error)}`, { file, key: TURTLE_METADATA_KEY, cause: error });
  }
  if (getConfigValue(metadataConfig, 'id') !== '0') throw new FormatError('the metadata file\'s entry does not have id=0', { file, key: TURTLE_METADATA_KEY });
  if (getConfigValue(metadataConfig, 'key_format') !== 'S' || getConfigValue(metadataConfig, 'value_format') !== 'S') {
    throw new FormatError('the metadata file\'s entry does not have key_format=S,value_format=S', { file, key: TURTLE_METADATA_KEY });
  }
  return { turtle, metadataConfig, checkpoint, checksummed };
}
