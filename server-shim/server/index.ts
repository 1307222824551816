/** The network server: listeners, client connections, background tasks. */
export { Server } from './server.js';
export { ClientConnection } from './client_connection.js';
export type { ConnectionOwner } from './client_connection.js';
