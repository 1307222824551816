import { createHash } from 'node:crypto';
import type { Connection } from '../api.js';
import { compareKeys } from './model.js';

/** The tables the crash workload writes: one shared, and in disaggregated mode one local. */
export const CRASH_TABLES = ['table:crash_a', 'table:crash_b'] as const;

/** Table contents by URI, as the workload's model holds them. */
export type TablesState = Record<string, Map<string, string>>;

export function emptyState(): TablesState {
  return Object.fromEntries(CRASH_TABLES.map((uri) => [uri, new Map<string, string>()]));
}

export function cloneState(state: TablesState): TablesState {
  return Object.fromEntries(Object.entries(state).map(([uri, map]) => [uri, new Map(map)]));
}

/** A short fingerprint of every table's records in key order, and their count. */
export function digestState(state: TablesState): { digest: string; records: number } {
  const hash = createHash('sha256');
  let records = 0;
  for (const uri of CRASH_TABLES) {
    hash.update(`${uri}\n`);
    const entries = [...(state[uri] ?? new Map<string, string>())].sort(([a], [b]) => compareKeys(a, b));
    for (const [key, value] of entries) hash.update(`${key}\t${value}\n`);
    records += entries.length;
  }
  return { digest: hash.digest('hex').slice(0, 16), records };
}

/** What a connection holds in the crash tables (a missing table reads as empty). */
export function readState(connection: Connection): TablesState {
  const state = emptyState();
  const session = connection.openSession();
  for (const uri of CRASH_TABLES) {
    if (!connection.hasTable(uri)) continue;
    for (const [key, value] of session.openCursor(uri).entries()) state[uri]!.set(key as string, value as string);
  }
  session.close();
  return state;
}

/** One line the workload prints on stdout (JSON). */
export type WorkloadMessage =
  | { ready: true; digest: string; records: number; stable: string }
  | { begin: number; digest: string; records: number; stable: string }
  | { completed: number; id: string }
  | { failed: string };
