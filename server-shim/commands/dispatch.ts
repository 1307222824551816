import { Binary, Long } from 'bson';
import { CommandError, ErrorCodes, LocationCodes } from '../errors/index.js';
import { describeError, LogComponent, LogId } from '../log/index.js';
import { bigIntToTimestamp } from '../storage/index.js';
import { isDocument, type Document } from '../values/index.js';
import type { CommandContext, CommandRequest } from './context.js';
import type { CommandRegistry } from './registry.js';

/** Commands slower than this are logged as "Slow query", like mongod's default slowms. */
const slowCommandMillis = 100;

/**
 * Runs one command document and returns the reply, never throwing: failures become
 * `{ok: 0, errmsg, code, codeName}`. Checks `$db`, the command's gate and admin-only rule,
 * refuses multi-document transactions, honours `writeConcern` `{j: true}`, `{fsync: true}` and
 * `{w: 'majority'}` (writeConcernMajorityJournalDefault) by waiting for the journal, and
 * adds `operationTime` and `$clusterTime` when running as a replica set member.
 */
export async function dispatchCommand(registry: CommandRegistry, body: Document, context: CommandContext): Promise<Document> {
  const started = Date.now();
  const name = Object.keys(body)[0];
  let reply: Document;
  try {
    if (name === undefined) throw new CommandError(ErrorCodes.CommandNotFound, 'no such command: \'\'');
    const db = body.$db;
    if (typeof db !== 'string') throw new CommandError(LocationCodes.OpMsgRequiresDatabase, 'OP_MSG requests require a $db argument');
    const definition = registry.resolve(name, context.server.parameters);
    if (definition.adminOnly && db !== 'admin') throw new CommandError(ErrorCodes.Unauthorized, `${definition.name} may only be run against the admin database.`);
    if (body.startTransaction === true || body.autocommit === false) {
      throw new CommandError(ErrorCodes.IllegalOperation, 'Multi-document transactions are not supported by this server');
    }
    const request: CommandRequest = { name, argument: body[name], body, db };
    context.logger.debug(LogComponent.Command, LogId.RunningCommand, 'About to run the command', { db, command: name });
    context.server.operationCounters.command += 1;
    reply = await definition.run(request, context);
    if (definition.writes && isDocument(body.writeConcern) && waitsForJournal(body.writeConcern)) {
      // The write and its oplog entry are durable once the journal holding them is synced.
      await context.storage.awaitJournalDurable();
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

/** True for the write concerns that wait for the journal: `j: true`, `fsync: true`, `w: 'majority'`. */
function waitsForJournal(writeConcern: Document): boolean {
  return writeConcern.j === true || writeConcern.fsync === true || writeConcern.w === 'majority';
}

function errorReply(error: unknown, context: CommandContext, name: string | undefined): Document {
  if (error instanceof CommandError) {
    context.logger.debug(LogComponent.Command, LogId.CommandFailed, 'Command failed', { command: name, error: describeError(error) });
    return error.toReply();
  }
  // Not a command error: a bug or an unexpected engine failure. Say what it was, loudly.
  context.logger.error(LogComponent.Command, LogId.CommandFailedUnexpectedly, 'Command failed with an unexpected error', {
    command: name,
    error: describeError(error),
    stack: error instanceof Error ? error.stack : undefined,
  });
  return new CommandError(ErrorCodes.InternalError, error instanceof Error ? error.message : String(error)).toReply();
}
