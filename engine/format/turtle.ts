import { ErrorCode, FormatError } from '../errors.js';

/**
 * The local turtle file `WiredTiger.turtle` (FORMATS.md 7.3): key line / value line pairs,
 * each ending in `\n`. It holds the version and the metadata file's own entry.
 */

export const TURTLE_FILE = 'WiredTiger.turtle';
export const TURTLE_TEMP_FILE = 'WiredTiger.turtle.set';
export const TURTLE_VERSION_STRING_KEY = 'WiredTiger version string';
export const TURTLE_VERSION_KEY = 'WiredTiger version';
export const TURTLE_METADATA_KEY = 'file:WiredTiger.wt';
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

/** The turtle text for a metadata entry, with the version lines WiredTiger writes first. */
export function formatTurtle(metadataConfig: string): string {
  const { major, minor, patch } = ENGINE_VERSION;
  return `${TURTLE_VERSION_STRING_KEY}\n${ENGINE_VERSION_STRING}\n`
    + `${TURTLE_VERSION_KEY}\nmajor=${major},minor=${minor},patch=${patch}\n`
    + `${TURTLE_METADATA_KEY}\n${metadataConfig}\n`;
}
