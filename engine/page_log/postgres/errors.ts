/**
 * PostgreSQL's errors as the page log's: a server out of reach is `STORE_UNAVAILABLE` (the
 * write is tried again once it is back), anything else is the statement's own error.
 */
import { ErrorCode, PageLogError } from '../../errors.js';
import { maskedUrl } from './masked_url.js';

/** A SQLSTATE is five characters; anything else is the client's own code (ECONNREFUSED...). */
export function sqlState(code: string | undefined): string {
  if (code === undefined) return '';
  return /^[0-9A-Z]{5}$/.test(code) ? ` (SQLSTATE ${code})` : ` (${code})`;
}

/**
 * True when the error says the server is out of reach: class 08 (connection exception), 57P
 * (operator intervention: a shutdown), a socket error, or no code at all (the client's own
 * "Connection terminated", a query timeout).
 */
export function isUnreachable(code: string | undefined): boolean {
  return code === undefined || code.startsWith('08') || code.startsWith('57P') || /^E[A-Z]+$/.test(code);
}

/** The page log's error for a PostgreSQL error, naming the store with its password masked. */
export function postgresError(error: { message: string; code?: string }, url: string): PageLogError {
  const code = isUnreachable(error.code) ? ErrorCode.StoreUnavailable : ErrorCode.PageLog;
  return new PageLogError(`PostgreSQL store: ${error.message}${sqlState(error.code)}`, { uri: maskedUrl(url) }, code);
}
