import { compileFilter } from '../query/index.js';
import type { Document } from '../values/index.js';
import { genericFields } from './arguments.js';
import { defineCommand } from './registry.js';

/** Fields of `currentOp` that are options, not part of the filter. */
const options = new Set(['currentOp', '$all', '$ownOps']);

/**
 * `currentOp`: the commands running now (`inprog`), filtered by the command's other fields as
 * a query (`{currentOp: 1, waitingForLock: true}`), with `fsyncLock: true` while an fsync lock
 * holds writes, as mongod reports it. Idle connections are not listed (`$all` is accepted).
 */
export const currentOpCommand = defineCommand({
  name: 'currentOp',
  adminOnly: true,
  help: 'lists the operations in progress and whether an fsync lock is held',
  run: (request, context) => {
    const filter: Document = {};
    for (const [field, value] of Object.entries(request.body)) if (!options.has(field) && !genericFields.has(field)) filter[field] = value;
    const matches = compileFilter(filter);
    const inprog = context.server.operations.describe(context.server.hostAndPort).filter((operation) => matches(operation));
    const reply: Document = { inprog };
    if (context.storage.fsyncLocked) {
      reply.fsyncLock = true;
      reply.info = 'use db.fsyncUnlock() to terminate the fsync write/snapshot lock';
    }
    return reply;
  },
});
