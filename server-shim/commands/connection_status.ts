import { defineCommand } from './registry.js';

/** `connectionStatus`: no authentication here, so nobody is authenticated. */
export const connectionStatusCommand = defineCommand({
  name: 'connectionStatus',
  help: 'authentication state of this connection',
  run: () => ({ authInfo: { authenticatedUsers: [], authenticatedUserRoles: [] } }),
});
