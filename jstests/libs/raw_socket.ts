import { connect } from 'node:net';

/** What a raw connection saw after sending bytes. */
export interface RawExchange {
  /** Every byte the server sent back. */
  received: Buffer;
  /** True when the server closed the connection (rather than the wait ending). */
  closedByServer: boolean;
}

/**
 * Sends bytes on a fresh TCP connection to the server and collects what comes back until the
 * server closes the connection or `waitMs` passes. For malformed-input scenarios.
 */
export function sendRaw(port: number, bytes: Uint8Array | Uint8Array[], waitMs = 3000): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: '127.0.0.1', port });
    let settled = false;
    const finish = (closedByServer: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ received: Buffer.concat(chunks), closedByServer });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.on('connect', () => {
      for (const part of Array.isArray(bytes) ? bytes : [bytes]) socket.write(part);
    });
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('end', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNRESET') finish(true);
      else if (!settled) {
        settled = true;
        clearTimeout(timer);
        reject(error);
      }
    });
  });
}
