import type { Connection } from '../../engine/index.js';
import type { Logger } from '../log/index.js';
import type { ServerOptions, ServerParameters } from '../options/index.js';
import type { Storage } from '../storage/index.js';
import type { RestoreInput } from './magic_restore.js';

/**
 * What a start-up mode (`--magicRestore`, `--repair`) receives: the open engine connection and
 * storage layer on the dbpath (the lock is held), the options, a logger and the process's
 * standard input. No client can connect while a mode runs.
 */
export interface StartupModeContext {
  readonly connection: Connection;
  readonly storage: Storage;
  readonly options: ServerOptions;
  readonly parameters: ServerParameters;
  readonly logger: Logger;
  /** Standard input (magic restore reads its BSON stream here). */
  readonly input: NodeJS.ReadableStream;
  /** Magic restore: the stream, already read and checked before the engine opened. */
  readonly restoreInput?: RestoreInput;
  /** Run every check and plan every step on a read-only engine, write nothing, and return 0. */
  readonly checkOnly?: boolean;
}

/**
 * A start-up mode: does its work and resolves with the exit code (0 on success). Throw
 * `FatalError` (exit 6) for invalid input or a failed step. On success the server closes the
 * engine (final checkpoint); on failure it exits without closing, so nothing written since the
 * last checkpoint becomes durable and the files stay as they were. The lock is released either way.
 */
export type StartupMode = (context: StartupModeContext) => Promise<number>;
