import { isDocument } from '../values/index.js';
import { defineCommand } from './registry.js';

/** Session ids (`{id: UUID}` documents) as hex strings. */
export function sessionIds(list: unknown): Set<string> {
  const ids = new Set<string>();
  if (!Array.isArray(list)) return ids;
  for (const item of list) {
    const id = isDocument(item) ? (item.id as { toString?: (encoding: string) => string; toHexString?: () => string } | undefined) : undefined;
    const hex = id?.toHexString?.() ?? id?.toString?.('hex');
    if (hex) ids.add(hex);
  }
  return ids;
}

/** `endSessions`: the driver's goodbye; cursors those sessions opened are closed. */
export const endSessionsCommand = defineCommand({
  name: 'endSessions',
  help: 'ends logical sessions and closes their cursors',
  run: (request, context) => {
    context.server.cursors.killSessions(sessionIds(request.argument));
    return {};
  },
});
