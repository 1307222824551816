import { defineCommand } from './registry.js';

/** `ping`: answers `{ok: 1}`. */
export const pingCommand = defineCommand({
  name: 'ping',
  help: 'answers ok: 1',
  run: () => ({}),
});
