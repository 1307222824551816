import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, IoError } from '../errors.js';
import { formatTurtle, parseTurtle, TURTLE_FILE, TURTLE_METADATA_KEY, TURTLE_TEMP_FILE, turtleValue } from '../format/index.js';

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

/**
 * Replaces `WiredTiger.turtle` atomically: write `WiredTiger.turtle.set`, sync it, rename it
 * over the turtle, sync the directory. A crash at any point leaves the old or the new turtle.
 */
export function writeTurtleFile(home: string, metadataConfig: string): void {
  const temp = join(home, TURTLE_TEMP_FILE);
  writeFileDurably(temp, formatTurtle(metadataConfig));
  renameSync(temp, join(home, TURTLE_FILE));
  syncDirectory(home);
}

/**
 * Reads the metadata file's entry from the turtle. A leftover `WiredTiger.turtle.set` is used
 * only when the turtle itself is missing (a crash between its sync and the rename), as
 * WiredTiger does; otherwise it is ignored.
 */
export function readTurtleFile(home: string, readOnly: boolean): string | undefined {
  const path = join(home, TURTLE_FILE);
  const temp = join(home, TURTLE_TEMP_FILE);
  if (!existsSync(path)) {
    if (!existsSync(temp)) return undefined;
    if (readOnly) return turtleValue(parseTurtle(readFileSync(temp, 'utf8'), TURTLE_TEMP_FILE), TURTLE_METADATA_KEY);
    renameSync(temp, path);
    syncDirectory(home);
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new IoError('cannot read the turtle file', { file: TURTLE_FILE, cause }, ErrorCode.Io);
  }
  return turtleValue(parseTurtle(text), TURTLE_METADATA_KEY)!;
}
