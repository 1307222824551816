#!/usr/bin/env node
/**
 * The `wt-readpath` executable. Everything lives in `program.ts`; this file only runs it.
 */
import { main } from './program.js';

await main(process.argv);
