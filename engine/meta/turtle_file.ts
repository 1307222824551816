import { closeSync, existsSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ChecksumError, CorruptionError, EngineError, ErrorCode, FormatError, IoError } from '../errors.js';
import {
  checkTurtleBytes, formatTurtle, TURTLE_BACKUP_FILE, TURTLE_BACKUP_TEMP_FILE, TURTLE_FILE, TURTLE_METADATA_KEY, TURTLE_TEMP_FILE,
  type CheckedTurtle,
} from '../format/index.js';
import { HISTORY_STORE_FILE, METADATA_FILE } from './schema.js';
import { embeddedStoreDataFile } from '../page_log/index.js';

/** Flushes a directory so a rename inside it is durable. */
export function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes a whole file and flushes it. */
export function writeFileDurably(path: string, data: string | Buffer): void {
  const fd = openSync(path, 'w');
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    let done = 0;
    while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Replaces `dir/name` atomically through `dir/temp`: write and sync the temporary, rename, sync the directory. */
function replaceFileDurably(dir: string, name: string, temp: string, data: string | Buffer): void {
  writeFileDurably(join(dir, temp), data);
  renameSync(join(dir, temp), join(dir, name));
  syncDirectory(dir);
}

/**
 * Replaces `WiredTiger.turtle` atomically: write `WiredTiger.turtle.set`, sync it, rename it
 * over the turtle, sync the directory. A crash at any point leaves the old or the new turtle.
 * Then `WiredTiger.turtle.backup` gets the same text the same way: a crash between the two
 * leaves a backup one checkpoint behind, which the next writable open rewrites
 * (`refreshTurtleBackup`). The turtle's rename has committed the checkpoint by then, so a
 * failing backup write (a full disk) does not fail it: it is returned for the caller to log.
 */
export function writeTurtleFile(home: string, metadataConfig: string): { backupError?: unknown } {
  const text = formatTurtle(metadataConfig);
  replaceFileDurably(home, TURTLE_FILE, TURTLE_TEMP_FILE, text);
  try {
    replaceFileDurably(home, TURTLE_BACKUP_FILE, TURTLE_BACKUP_TEMP_FILE, text);
  } catch (backupError) {
    // A backup left naming an older checkpoint would let --repair roll the home back silently
    // (its blocks may even be reused by now): no backup at all is the honest state.
    try {
      rmSync(join(home, TURTLE_BACKUP_FILE), { force: true });
    } catch {
      // Then the next checkpoint or writable open tries again; the turtle itself is sound.
    }
    return { backupError };
  }
  return {};
}

/** The backup copy when it passes every turtle check, else undefined. */
function intactBackup(home: string): CheckedTurtle | undefined {
  try {
    return checkTurtleBytes(readFileSync(join(home, TURTLE_BACKUP_FILE)), TURTLE_BACKUP_FILE);
  } catch {
    return undefined;
  }
}

/** `error` again, its message saying that `--repair` restores the turtle from its intact backup. */
function withRestoreHint(error: EngineError): EngineError {
  const message = `${error.message}; ${TURTLE_BACKUP_FILE} is intact: start with --repair to restore ${TURTLE_FILE} from it`;
  const options = { file: error.location.file, key: error.location.key, cause: error };
  if (error.code === ErrorCode.ChecksumMismatch) return new ChecksumError(message, options);
  if (error instanceof IoError) return new IoError(message, options, error.code);
  return new FormatError(message, options, error.code);
}

/**
 * Reads and checks the turtle file (`checkTurtleBytes`). A leftover `WiredTiger.turtle.set` is
 * used only when the turtle itself is missing (a crash between its sync and the rename), as
 * WiredTiger does; otherwise it is ignored. Returns undefined for a home without a turtle (a new
 * one). A missing or damaged turtle whose backup is intact is refused with an error saying that
 * `--repair` restores it: the engine never picks one of two differing copies on its own.
 */
export function readTurtleFile(home: string, readOnly: boolean): CheckedTurtle | undefined {
  const path = join(home, TURTLE_FILE);
  const temp = join(home, TURTLE_TEMP_FILE);
  if (!existsSync(path)) {
    if (!existsSync(temp)) {
      if (existsSync(join(home, TURTLE_BACKUP_FILE))) {
        const error = new IoError(`${TURTLE_FILE} is missing while ${TURTLE_BACKUP_FILE} exists: this home had data`, { file: TURTLE_FILE }, ErrorCode.MissingFile);
        throw intactBackup(home) === undefined ? error : withRestoreHint(error);
      }
      return undefined;
    }
    if (readOnly) return checkTurtleBytes(readFileSync(temp), TURTLE_TEMP_FILE);
    renameSync(temp, path);
    syncDirectory(home);
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (cause) {
    throw new IoError('cannot read the turtle file', { file: TURTLE_FILE, cause }, ErrorCode.Io);
  }
  try {
    return checkTurtleBytes(bytes, TURTLE_FILE);
  } catch (error) {
    if (error instanceof EngineError && intactBackup(home) !== undefined) throw withRestoreHint(error);
    throw error;
  }
}

/** What `turtleBackupState` found. */
export type TurtleBackupState =
  | { state: 'current' }
  | { state: 'missing' }
  | { state: 'invalid'; error: EngineError }
  | { state: 'stale' };

/** Whether `WiredTiger.turtle.backup` is an intact copy of the metadata entry `turtle` names. */
export function turtleBackupState(home: string, turtle: CheckedTurtle): TurtleBackupState {
  const path = join(home, TURTLE_BACKUP_FILE);
  if (!existsSync(path)) return { state: 'missing' };
  let backup: CheckedTurtle;
  try {
    backup = checkTurtleBytes(readFileSync(path), TURTLE_BACKUP_FILE);
  } catch (error) {
    if (error instanceof EngineError) return { state: 'invalid', error };
    return { state: 'invalid', error: new IoError(`cannot read ${TURTLE_BACKUP_FILE}`, { file: TURTLE_BACKUP_FILE, cause: error }) };
  }
  return backup.metadataConfig === turtle.metadataConfig ? { state: 'current' } : { state: 'stale' };
}

/**
 * Rewrites `WiredTiger.turtle.backup` from a sound turtle when it is missing, damaged or behind
 * (a crash between the two renames, or a turtle WiredTiger rewrote). Returns what it found, or
 * undefined when the backup was already current.
 */
export function refreshTurtleBackup(home: string, turtle: CheckedTurtle): TurtleBackupState | undefined {
  const found = turtleBackupState(home, turtle);
  if (found.state === 'current') return undefined;
  replaceFileDurably(home, TURTLE_BACKUP_FILE, TURTLE_BACKUP_TEMP_FILE, formatTurtle(turtle.metadataConfig));
  return found;
}

/** What `restoreTurtleFromBackup` did. */
export interface TurtleRestore {
  restored: boolean;
  /** Why the turtle was restored (the error reading it), or why nothing was done. */
  reason: string;
}

/**
 * Restores `WiredTiger.turtle` from `WiredTiger.turtle.backup` when the turtle is missing or
 * fails its checks and the backup passes them; the restored file is written atomically, as
 * every turtle is, and also a turtle that names no metadata checkpoint in a home holding data
 * (`requireMetadataCheckpoint`) when the backup names one. A sound turtle, a home without either
 * file, or one whose backup is not intact either is left alone (the open then reports the
 * damage). Raises only when writing fails.
 */
export function restoreTurtleFromBackup(home: string, pageLogPath?: string): TurtleRestore {
  const path = join(home, TURTLE_FILE);
  let damage: EngineError;
  if (!existsSync(path)) {
    if (!existsSync(join(home, TURTLE_BACKUP_FILE))) return { restored: false, reason: 'the home has neither a turtle file nor a backup' };
    damage = new IoError(`${TURTLE_FILE} is missing`, { file: TURTLE_FILE }, ErrorCode.MissingFile);
  } else {
    try {
      requireMetadataCheckpoint(home, checkTurtleBytes(readFileSync(path), TURTLE_FILE), pageLogPath);
      return { restored: false, reason: `${TURTLE_FILE} is sound` };
    } catch (error) {
      if (!(error instanceof EngineError)) throw error;
      damage = error;
    }
  }
  const backup = intactBackup(home);
  if (backup !== undefined && backup.checkpoint === undefined && homeDataEvidence(home, pageLogPath).length > 0) {
    return { restored: false, reason: `${TURTLE_BACKUP_FILE} names no metadata checkpoint either; ${damage.message}` };
  }
  if (backup === undefined) return { restored: false, reason: `${TURTLE_BACKUP_FILE} is not intact either; ${damage.message}` };
  replaceFileDurably(home, TURTLE_FILE, TURTLE_TEMP_FILE, formatTurtle(backup.metadataConfig));
  return { restored: true, reason: damage.message };
}

/** Files that only a home with data has, besides its turtle file. */
export function homeDataEvidence(home: string, pageLogPath = join(home, 'pagelog')): string[] {
  const evidence: string[] = [];
  const sizeOf = (path: string): number => {
    try {
      return statSync(path).size;
    } catch {
      return 0;
    }
  };
  // A metadata file with a checkpoint holds blocks past its 4 KB descriptor.
  const metadataBytes = sizeOf(join(home, METADATA_FILE));
  if (metadataBytes > 4096) evidence.push(`${METADATA_FILE} holds ${metadataBytes} bytes`);
  let names: string[] = [];
  try {
    names = readdirSync(home);
  } catch {
    names = [];
  }
  const tableFiles = names.filter((name) => name.endsWith('.wt') && name !== METADATA_FILE && name !== HISTORY_STORE_FILE).sort();
  if (tableFiles.length > 0) evidence.push(`table files (${tableFiles.slice(0, 5).join(', ')}${tableFiles.length > 5 ? ', ...' : ''})`);
  const dataFile = embeddedStoreDataFile(pageLogPath);
  const pageLogBytes = dataFile === undefined ? 0 : sizeOf(dataFile);
  if (pageLogBytes > 0) evidence.push(`a page log (${dataFile}, ${pageLogBytes} bytes)`);
  if (existsSync(join(home, TURTLE_BACKUP_FILE))) evidence.push(TURTLE_BACKUP_FILE);
  return evidence;
}

/**
 * Refuses a turtle that names no metadata checkpoint in a home that holds data: opening it would
 * serve an empty database beside the old files. (A home this engine creates gets its first
 * checkpoint before its turtle, so only damage or a foreign tool leaves one without.)
 */
export function requireMetadataCheckpoint(home: string, turtle: CheckedTurtle, pageLogPath?: string): void {
  if (turtle.checkpoint !== undefined) return;
  const evidence = homeDataEvidence(home, pageLogPath);
  if (evidence.length === 0) return;
  const restorable = intactBackup(home)?.checkpoint !== undefined
    ? `; ${TURTLE_BACKUP_FILE} is intact and names one: start with --repair to restore ${TURTLE_FILE} from it`
    : '';
  throw new CorruptionError(
    `${TURTLE_FILE} names no checkpoint of ${METADATA_FILE} in its "${TURTLE_METADATA_KEY}" entry, but the home holds data: ${evidence.join('; ')}${restorable}`,
    { file: TURTLE_FILE, key: TURTLE_METADATA_KEY },
    ErrorCode.MetadataCheckpointMissing,
  );
}
