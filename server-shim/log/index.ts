/** Structured JSON logging in mongod's format. */
export { Logger, LogComponent, describeError, fileSink, logTimestamp, memorySink, processLogger, setProcessLogger, standardOutputSink } from './logger.js';
export type { LogEntry, LoggerOptions, LogSink, Severity } from './logger.js';
export { engineEventLogIds, LogId } from './ids.js';
export type { LogIdValue } from './ids.js';
