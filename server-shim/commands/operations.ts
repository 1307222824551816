import { EJSON, Long } from 'bson';
import type { OperationState } from '../storage/index.js';
import { decodeDocument, documentSize, type Document } from '../values/index.js';
import type { ClientState, CommandRequest } from './context.js';

/** One command running now, as `currentOp` reports it. */
export interface RunningOperation {
  readonly opid: number;
  readonly request: CommandRequest;
  readonly client: ClientState;
  readonly started: number;
  /** Shared with storage: `waitingForLock` is true while the command waits at the write gate. */
  readonly state: OperationState;
}

/** Commands larger than this are shown truncated, as mongod does (an insert of many documents). */
const maximumShownCommandBytes = 1024;

/**
 * The command as `currentOp` shows it: whole, or mongod's `{$truncated: "..."}` when large. A
 * document sequence kept as received is shown as its array, decoded only as far as shown.
 */
function shownCommand(request: CommandRequest): Document {
  let body = request.body;
  let shownInPart = false;
  if (request.sequences !== undefined) {
    body = { ...body };
    for (const [identifier, sequence] of request.sequences) {
      const documents: Document[] = [];
      // Decoded until their text alone fills what is shown, so that what is left out is past the cut.
      let characters = 0;
      for (let index = 0; index < sequence.length; index++) {
        if (characters > maximumShownCommandBytes) {
          shownInPart = true;
          break;
        }
        const document = decodeDocument(sequence.bytes(index));
        documents.push(document);
        characters += EJSON.stringify(document, { relaxed: true }).length + 1;
      }
      body[identifier] = documents;
    }
  }
  if (!shownInPart && documentSize(body) <= maximumShownCommandBytes) return body;
  return { $truncated: `${EJSON.stringify(body, { relaxed: true }).slice(0, maximumShownCommandBytes)} ...` };
}

/** mongod's `op` field for a command name. */
function operationKind(name: string): string {
  switch (name) {
    case 'insert':
      return 'insert';
    case 'update':
      return 'update';
    case 'delete':
      return 'remove';
    case 'find':
      return 'query';
    case 'getMore':
      return 'getmore';
    default:
      return 'command';
  }
}

/** The commands running on the server now, for `currentOp`. */
export class OperationRegistry {
  private nextOpid = 1;
  private readonly running = new Map<number, RunningOperation>();

  /** Records a command as running; call `end` with the result when it is done. */
  begin(request: CommandRequest, client: ClientState, state: OperationState): RunningOperation {
    const operation: RunningOperation = { opid: this.nextOpid++, request, client, started: Date.now(), state };
    this.running.set(operation.opid, operation);
    return operation;
  }

  end(operation: RunningOperation): void {
    this.running.delete(operation.opid);
  }

  /** Every running command as a `currentOp` `inprog` document, oldest first. */
  describe(host: string, now = Date.now()): Document[] {
    return [...this.running.values()].map((operation) => {
      const { request, client } = operation;
      const elapsedMicros = (now - operation.started) * 1000;
      const document: Document = {
        type: 'op',
        host,
        desc: `conn${client.connectionId}`,
        connectionId: client.connectionId,
        client: client.remote,
        active: true,
        currentOpTime: new Date(now).toISOString(),
        opid: operation.opid,
        secs_running: Long.fromNumber(Math.floor(elapsedMicros / 1_000_000)),
        microsecs_running: Long.fromNumber(elapsedMicros),
        op: operationKind(request.name),
        ns: typeof request.argument === 'string' ? `${request.db}.${request.argument}` : `${request.db}.$cmd`,
        command: shownCommand(request),
        numYields: 0,
        waitingForLock: operation.state.waitingForLock,
        locks: {},
      };
      if (client.metadata !== undefined) document.clientMetadata = client.metadata;
      return document;
    });
  }
}
