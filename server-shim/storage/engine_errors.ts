import { EngineError, ErrorCode, isCorruption } from '../../engine/index.js';
import { CommandError, ErrorCodes } from '../errors/index.js';

/** True for an engine error with one of `codes`. */
export function isEngineError(error: unknown, ...codes: string[]): error is EngineError {
  return error instanceof EngineError && (codes.length === 0 || codes.includes(error.code));
}

/** Engine errors that have a MongoDB code of their own. */
const codeFor: Partial<Record<string, number>> = {
  [ErrorCode.NotFound]: ErrorCodes.NamespaceNotFound,
  [ErrorCode.AlreadyExists]: ErrorCodes.NamespaceExists,
  [ErrorCode.ReservedId]: ErrorCodes.BadValue,
  [ErrorCode.IdCollision]: ErrorCodes.BadValue,
  [ErrorCode.InvalidArgument]: ErrorCodes.BadValue,
  [ErrorCode.TypeMismatch]: ErrorCodes.BadValue,
  [ErrorCode.ConfigInvalid]: ErrorCodes.BadValue,
  [ErrorCode.ConfigUnknownKey]: ErrorCodes.BadValue,
  [ErrorCode.NoSpace]: ErrorCodes.OutOfDiskSpace,
  [ErrorCode.StorageReplaced]: ErrorCodes.OperationFailed,
  // A follower, or a leader a newer term fenced: mongod's answer to a write on a secondary.
  [ErrorCode.NotLeader]: ErrorCodes.NotWritablePrimary,
  [ErrorCode.Fenced]: ErrorCodes.NotWritablePrimary,
  [ErrorCode.LeaderActive]: ErrorCodes.NotWritablePrimary,
  [ErrorCode.CheckpointNotFound]: ErrorCodes.NoSuchKey,
};

/**
 * The command error a client sees for an engine failure: what the engine classes as corruption
 * (`isCorruption`: damaged bytes, failed checksums, a broken pairing) is DataCorruptionDetected
 * (with the engine's location in the message), a closed engine is
 * InterruptedAtShutdown, unknown tables NamespaceNotFound, existing ones NamespaceExists, bad
 * arguments (reserved or taken ids, wrong types, bad configurations) BadValue, a full disk
 * OutOfDiskSpace (14031, as mongod), storage replaced under the server OperationFailed, anything else
 * InternalError. The engine's code and location go in the
 * reply as `engineError` so that a test can assert on them.
 */
export function engineErrorToCommandError(error: unknown): CommandError {
  if (error instanceof CommandError) return error;
  if (!(error instanceof EngineError)) {
    return new CommandError(ErrorCodes.InternalError, error instanceof Error ? error.message : String(error), {}, { cause: error });
  }
  const extra = { engineError: { code: error.code, ...error.location } };
  if (isCorruption(error)) return new CommandError(ErrorCodes.DataCorruptionDetected, `${error.code}: ${error.message}`, extra, { cause: error });
  if (error.code === ErrorCode.Closed) return new CommandError(ErrorCodes.InterruptedAtShutdown, 'interrupted at shutdown', extra, { cause: error });
  const mapped = codeFor[error.code];
  if (mapped !== undefined) return new CommandError(mapped, error.message, extra, { cause: error });
  return new CommandError(ErrorCodes.InternalError, `${error.code}: ${error.message}`, extra, { cause: error });
}
