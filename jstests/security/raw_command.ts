import { BSON, type Document } from 'mongodb';
import { connect } from 'node:net';

/**
 * Runs one command as a raw OP_MSG and returns the reply document. The driver refuses some
 * database and collection names before sending them (a NUL, a `/`, a `..`); the server must
 * refuse them itself, so these scenarios send them past the driver.
 */
export function runRawCommand(port: number, command: Document, timeoutMs = 10_000): Promise<Document> {
  const body = Buffer.from(BSON.serialize(command));
  const message = Buffer.alloc(16 + 5 + body.length);
  message.writeInt32LE(message.length, 0);
  message.writeInt32LE(7, 4);
  message.writeInt32LE(2013, 12);
  body.copy(message, 21);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    let received = 0;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no reply to ${JSON.stringify(Object.keys(command))} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('connect', () => socket.write(message));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      const bytes = Buffer.concat(chunks);
      if (received < 4 || received < bytes.readInt32LE(0)) return;
      clearTimeout(timer);
      socket.destroy();
      const length = bytes.readInt32LE(0);
      const flags = bytes.readUInt32LE(16);
      resolve(BSON.deserialize(bytes.subarray(21, length - ((flags & 1) === 1 ? 4 : 0))));
    });
    socket.on('close', () => {
      clearTimeout(timer);
      if (received === 0) reject(new Error(`the server closed the connection instead of answering ${JSON.stringify(Object.keys(command))}`));
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}
