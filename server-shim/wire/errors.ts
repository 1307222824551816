/**
 * A message that cannot be read: bad lengths, truncated or invalid BSON, unknown op codes or
 * flags, a checksum that does not match. The connection it came on is closed; `code` is the
 * MongoDB error code that names the problem in the log.
 */
export class WireProtocolError extends Error {
  constructor(
    message: string,
    readonly code: number,
    /** Byte offset within the message where reading failed, when known. */
    readonly offset?: number,
    options?: { cause?: unknown },
  ) {
    super(offset === undefined ? message : `${message} (at byte ${offset})`, options);
    this.name = 'WireProtocolError';
  }
}
