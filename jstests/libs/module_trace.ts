/**
 * Loaded with `node --import` into a server process to record every module it loads: registers
 * `module_trace_hooks.js`, which appends each loaded module's URL, one a line, to the file named
 * by `MODULE_TRACE_FILE`. For tests that check a mode loads only what it needs.
 */
import { register } from 'node:module';

register(new URL('./module_trace_hooks.js', import.meta.url));
