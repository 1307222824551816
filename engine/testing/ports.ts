import { createServer } from 'node:net';

/**
 * A TCP port free on 127.0.0.1 at the moment of the call, for a command line or a server that
 * must be told its port up front (`--fork`, a README command, a PostgreSQL server). A server
 * that can take `--port 0` should, which cannot race.
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('the system gave no TCP port');
  return address.port;
}
