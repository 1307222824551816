import { newUuid } from '../values/index.js';
import { defineCommand } from './registry.js';

/** `startSession`: a new logical session id (sessions hold no server state here). */
export const startSessionCommand = defineCommand({
  name: 'startSession',
  help: 'starts a logical session',
  run: () => ({ id: { id: newUuid() }, timeoutMinutes: 30 }),
});
