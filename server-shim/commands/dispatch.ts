import { Binary, Long, Timestamp } from 'bson';
import { codeName, CommandError, ErrorCodes, LocationCodes } from '../errors/index.js';
import { describeError, LogComponent, LogId } from '../log/index.js';
import { bigIntToTimestamp, notWritablePrimary, timestampToBigInt, type OperationState } from '../storage/index.js';
import { isNumeric, toNumber, type Document } from '../values/index.js';
import type { DocumentSequence } from '../wire/index.js';
import type { CommandContext, CommandRequest } from './context.js';
import type { CommandRegistry } from './registry.js';
import {
  checkWriteConcernForStandalone, parseWriteConcern, unsatisfiableReason, waitsForDurability, writeConcernDocument, type WriteConcern,
} from './write_concern.js';

/** Commands slower than this are logged as "Slow query", like mongod's default slowms. */
const slowCommandMillis = 100;

/**
 * Runs one command document and returns the reply, never throwing: failures become
 * `{ok: 0, errmsg, code, codeName}`. Checks `$db`, the command's gate and admin-only rule,
 * refuses multi-document transactions, parses `writeConcern` and `maxTimeMS` before the command
 * runs, bounds the command's waits by `maxTimeMS`, then (for commands that write) waits for the
 * write concern (durability from the journal's sync) and reports what it could not satisfy as `writeConcernError`, and adds
 * `operationTime` and `$clusterTime` when running as a replica set member.
 */
export async function dispatchCommand(registry: CommandRegistry, body: Document, context: CommandContext, sequences?: ReadonlyMap<string, DocumentSequence>): Promise<Document> {
  const started = Date.now();
  const name = Object.keys(body)[0];
  let reply: Document;
  try {
    if (name === undefined) throw new CommandError(ErrorCodes.CommandNotFound, 'no such command: \'\'');
    const db = body.$db;
    if (typeof db !== 'string') throw new CommandError(LocationCodes.OpMsgRequiresDatabase, 'OP_MSG requests require a $db argument');
    const definition = await registry.resolve(name, context.server.parameters);
    if (definition.adminOnly && db !== 'admin') throw new CommandError(ErrorCodes.Unauthorized, `${definition.name} may only be run against the admin database.`);
    if (body.startTransaction === true || body.autocommit === false) {
      throw new CommandError(ErrorCodes.IllegalOperation, 'Multi-document transactions are not supported by this server');
    }
    if (body.writeConcern !== undefined && !definition.writes) throw new CommandError(ErrorCodes.InvalidOptions, 'Command does not support writeConcern');
    const writeConcern = parseWriteConcern(body.writeConcern);
    if (context.server.options.replSet === undefined) checkWriteConcernForStandalone(writeConcern);
    const maxTimeMS = parseMaxTimeMS(body.maxTimeMS);
    if (context.server.options.replSet !== undefined) gossipClusterTime(body.$clusterTime, context);
    // As mongod: a write on a node that cannot accept writes fails as a whole, before it runs
    // (a follower of the shared page log writes its `local` database only).
    if (definition.writes && db !== 'local' && context.storage.role === 'follower') throw notWritablePrimary();
    const request: CommandRequest = sequences === undefined || sequences.size === 0 ? { name, argument: body[name], body, db } : { name, argument: body[name], body, db, sequences };
    context.logger.debug(LogComponent.Command, LogId.RunningCommand, 'About to run the command', { db, command: name });
    context.server.operationCounters.command += 1;
    const state: OperationState = { waitingForLock: false, ...(maxTimeMS === undefined ? {} : { deadline: started + maxTimeMS }) };
    const operation = context.server.operations.begin(request, context.client, state);
    try {
      reply = await context.storage.runOperation(state, async () => {
        let result: Document;
        try {
          result = await definition.run(request, context);
        } catch (error) {
          if (!definition.writes) throw error;
          // mongod waits for the write concern after a failed write command too.
          result = errorReply(error, context, name);
        }
        if (definition.writes) {
          const writeConcernError = await waitForWriteConcern(writeConcern, context);
          if (writeConcernError !== undefined) result.writeConcernError = writeConcernError;
        }
        return result;
      });
    } finally {
      context.server.operations.end(operation);
    }
    if (reply.ok === undefined) reply.ok = 1;
  } catch (error) {
    reply = errorReply(error, context, name);
  }
  if (context.server.options.replSet !== undefined) {
    const operationTime = bigIntToTimestamp(context.storage.lastAppliedTimestamp);
    reply.operationTime = operationTime;
    reply.$clusterTime = { clusterTime: operationTime, signature: { hash: new Binary(Buffer.alloc(20), 0), keyId: Long.fromNumber(0) } };
  }
  const duration = Date.now() - started;
  if (duration > slowCommandMillis && name !== 'hello' && name !== 'isMaster' && name !== 'ismaster') {
    context.logger.info(LogComponent.Command, LogId.SlowQuery, 'Slow query', { command: name, db: body.$db, durationMillis: duration, ok: reply.ok });
  }
  return reply;
}

/** How far ahead of the wall clock a gossiped cluster time may be: mongod's `maxAcceptableLogicalClockDriftSecs` default. */
const maxClusterTimeDriftSeconds = 365 * 24 * 60 * 60;

/**
 * A `$clusterTime` the client sends moves the node's logical clock up to it, as on mongod
 * without authentication (where no signature is checked): the next write's timestamp is above
 * it. A time more than a year ahead of the wall clock is refused (209), as mongod refuses it.
 */
function gossipClusterTime(gossiped: unknown, context: CommandContext): void {
  if (gossiped === null || typeof gossiped !== 'object' || !((gossiped as Document).clusterTime instanceof Timestamp)) return;
  const clusterTime = (gossiped as Document).clusterTime as Timestamp;
  const wallSeconds = Math.floor(Date.now() / 1000);
  if (clusterTime.t - wallSeconds > maxClusterTimeDriftSeconds) {
    throw new CommandError(
      ErrorCodes.ClusterTimeFailsRateLimiter,
      `New cluster time, ${clusterTime.t}, is too far from this node's wall clock time, ${wallSeconds}.`,
    );
  }
  context.storage.advanceClusterTime(timestampToBigInt(clusterTime));
}

/**
 * `maxTimeMS` as mongod reads it: a non-negative integer up to 2^31 - 1 (BadValue otherwise);
 * 0 or missing means no limit.
 */
function parseMaxTimeMS(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isNumeric(value)) throw new CommandError(ErrorCodes.BadValue, 'maxTimeMS must be a number');
  const milliseconds = toNumber(value);
  if (!Number.isInteger(milliseconds)) throw new CommandError(ErrorCodes.BadValue, 'maxTimeMS has non-integral value');
  if (milliseconds < 0 || milliseconds > 0x7fffffff) throw new CommandError(ErrorCodes.BadValue, 'maxTimeMS out of range');
  return milliseconds === 0 ? undefined : milliseconds;
}

/**
 * Waits for what the write concern asks once the command has applied its writes: durability
 * (`j`, `fsync`, `majority`) within `wtimeout` and the command's `maxTimeMS`, then enough
 * members. Returns the `writeConcernError` to report, or nothing when it is satisfied.
 */
async function waitForWriteConcern(concern: WriteConcern, context: CommandContext): Promise<Document | undefined> {
  const errInfo = (extra: Document = {}): Document => ({ ...extra, writeConcern: writeConcernDocument(concern) });
  if (waitsForDurability(concern)) {
    const timedOut = Symbol('wtimeout');
    let timer: NodeJS.Timeout | undefined;
    const waits: Array<Promise<unknown>> = [context.storage.untilDeadline(context.storage.awaitJournalDurable())];
    if (concern.wtimeout > 0) waits.push(new Promise((resolve) => (timer = setTimeout(() => resolve(timedOut), concern.wtimeout))));
    try {
      if ((await Promise.race(waits)) === timedOut) {
        return { code: ErrorCodes.WriteConcernFailed, codeName: codeName(ErrorCodes.WriteConcernFailed), errmsg: 'waiting for replication timed out', errInfo: errInfo({ wtimeout: true }) };
      }
    } catch (error) {
      const failure = error instanceof CommandError ? error : new CommandError(ErrorCodes.InternalError, error instanceof Error ? error.message : String(error));
      return { code: failure.code, codeName: failure.codeName, errmsg: failure.message, errInfo: errInfo() };
    } finally {
      clearTimeout(timer);
    }
  }
  const unsatisfiable = unsatisfiableReason(concern);
  if (unsatisfiable !== undefined) return { code: unsatisfiable.code, codeName: codeName(unsatisfiable.code), errmsg: unsatisfiable.errmsg, errInfo: errInfo() };
  return undefined;
}

function errorReply(error: unknown, context: CommandContext, name: string | undefined): Document {
  if (error instanceof CommandError) {
    context.logger.debug(LogComponent.Command, LogId.CommandFailed, 'Command failed', { command: name, error: describeError(error) });
    const reply = error.toReply();
    // A state-change error carries the topology version, as mongod's: a driver then knows the
    // reply is no news (its monitor has seen that version) and does not wait for a new hello.
    if (error.code === ErrorCodes.NotWritablePrimary) reply.topologyVersion = { processId: context.server.processId, counter: Long.fromNumber(context.server.topologyCounter) };
    return reply;
  }
  // Not a command error: a bug or an unexpected engine failure. Say what it was, loudly.
  context.logger.error(LogComponent.Command, LogId.CommandFailedUnexpectedly, 'Command failed with an unexpected error', {
    command: name,
    error: describeError(error),
    stack: error instanceof Error ? error.stack : undefined,
  });
  return new CommandError(ErrorCodes.InternalError, error instanceof Error ? error.message : String(error)).toReply();
}
