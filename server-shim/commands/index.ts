/**
 * Commands: the registry, the built-in command list, the dispatcher that turns a command
 * document into a reply, and the context commands run in.
 */
export { builtinCommands } from './builtin.js';
export { dispatchCommand } from './dispatch.js';
export { CommandRegistry, defineCommand } from './registry.js';
export type { CommandDefinition, CommandEntry, CommandGate } from './registry.js';
export type { ClientState, CommandContext, CommandRequest, ConnectionStatistics, ServerState } from './context.js';
export { commandsTakingRawSequences } from './context.js';
export { isAwaitableHello, wireVersions } from './handshake.js';
export { checkKnownFields, collectionNamespace, optionalBoolean, optionalDocument, optionalInteger, optionalString } from './arguments.js';
export { OperationRegistry } from './operations.js';
