/** Module loader hooks (see `module_trace.ts`): each loaded module's URL goes to `MODULE_TRACE_FILE`. */
import { appendFileSync } from 'node:fs';

type NextLoad = (url: string, context: unknown) => Promise<unknown>;

const traceFile = process.env.MODULE_TRACE_FILE;

export async function load(url: string, context: unknown, nextLoad: NextLoad): Promise<unknown> {
  if (traceFile !== undefined && !url.startsWith('node:')) appendFileSync(traceFile, `${url}\n`);
  return nextLoad(url, context);
}
