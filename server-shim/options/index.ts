/** Command-line options and server parameters. */
export { badOptionsExitCode, parseCommandLine, serverVersion } from './command_line.js';
export type { ParseResult, ServerOptions } from './command_line.js';
export { ParameterError, ServerParameters, parameterDefinitions } from './parameters.js';
export type { ParameterDefinition, ParameterType, ParameterValue } from './parameters.js';
