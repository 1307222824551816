import { ConfigError } from '../errors.js';
import { getConfigRaw, parseConfig, parseInteger, parseNested, unquote } from './config.js';

/**
 * The metadata `checkpoint=(NAME.N=(addr="HEX",order=N,time=...,...))` value of a `file:`
 * entry (FORMATS.md 6.4), and the fields the engine reads and writes in it.
 */
export interface CheckpointEntry {
  /** `WiredTigerCheckpoint` for the engine's own checkpoints. */
  name: string;
  /** Hex text of the checkpoint cookie; empty for an empty tree. */
  addr: string;
  order: number;
  /** Seconds since the epoch. */
  time: number;
  /** Tree size in bytes (disaggregated trees store the root page id here). */
  size: number;
  newestStartDurableTs: bigint;
  oldestStartTs: bigint;
  newestTxn: bigint;
  newestStopDurableTs: bigint;
  newestStopTs: bigint;
  newestStopTxn: bigint;
  prepare: number;
  writeGen: bigint;
  runWriteGen: bigint;
}

export const DEFAULT_CHECKPOINT_NAME = 'WiredTigerCheckpoint';
/** `checkpoint_lsn` as WiredTiger writes it with logging off. */
export const NO_LOG_CHECKPOINT_LSN = '(4294967295,2147483647)';

const REQUIRED = ['addr', 'order', 'time', 'size', 'write_gen'];

/** Parses the raw value of `checkpoint=` (with or without its parentheses). */
export function parseCheckpointList(raw: string): CheckpointEntry[] {
  const list: CheckpointEntry[] = [];
  for (const entry of parseNested(raw)) {
    const dot = entry.key.lastIndexOf('.');
    const name = dot > 0 && /^\d+$/.test(entry.key.slice(dot + 1)) ? entry.key.slice(0, dot) : entry.key;
    const fields = new Map(parseNested(entry.raw).map((e) => [e.key, e.raw]));
    for (const key of REQUIRED) {
      if (!fields.has(key)) throw new ConfigError(`checkpoint "${entry.key}" lacks "${key}"`, { key });
    }
    const int = (key: string, fallback: bigint): bigint => {
      const value = fields.get(key);
      return value === undefined ? fallback : parseInteger(value, key);
    };
    const asTs = (v: bigint): bigint => (v < 0n ? BigInt.asUintN(64, v) : v);
    list.push({
      name,
      addr: unquote(fields.get('addr')!),
      order: Number(int('order', 0n)),
      time: Number(int('time', 0n)),
      size: Number(int('size', 0n)),
      newestStartDurableTs: asTs(int('newest_start_durable_ts', 0n)),
      oldestStartTs: asTs(int('oldest_start_ts', 0n)),
      newestTxn: asTs(int('newest_txn', 0n)),
      newestStopDurableTs: asTs(int('newest_stop_durable_ts', 0n)),
      newestStopTs: asTs(int('newest_stop_ts', -1n)),
      newestStopTxn: asTs(int('newest_stop_txn', -11n)),
      prepare: Number(int('prepare', 0n)),
      writeGen: int('write_gen', 0n),
      runWriteGen: int('run_write_gen', 0n),
    });
  }
  return list;
}

/** The newest checkpoint of a `file:` entry's config, or undefined when it has none. */
export function latestCheckpoint(fileConfig: string): CheckpointEntry | undefined {
  const raw = getConfigRaw(fileConfig, 'checkpoint');
  if (raw === undefined || raw === '' || raw === '()') return undefined;
  const list = parseCheckpointList(raw);
  return list.reduce<CheckpointEntry | undefined>((best, c) => (!best || c.order > best.order ? c : best), undefined);
}

const signed = (v: bigint): string => BigInt.asIntN(64, v).toString();

/** Serializes one checkpoint as the raw value of `checkpoint=`, exactly as WiredTiger writes it. */
export function formatCheckpointList(c: CheckpointEntry): string {
  return `(${c.name}.${c.order}=(addr="${c.addr}",order=${c.order},time=${c.time},size=${c.size},`
    + `newest_start_durable_ts=${signed(c.newestStartDurableTs)},oldest_start_ts=${signed(c.oldestStartTs)},`
    + `newest_txn=${signed(c.newestTxn)},newest_stop_durable_ts=${signed(c.newestStopDurableTs)},`
    + `newest_stop_ts=${signed(c.newestStopTs)},newest_stop_txn=${signed(c.newestStopTxn)},`
    + `prepare=${c.prepare},write_gen=${c.writeGen},run_write_gen=${c.runWriteGen}))`;
}

/** A checkpoint entry for data without time windows (FORMATS.md 6.5). */
export function plainCheckpoint(fields: { addr: string; order: number; time: number; size: number; writeGen: bigint; runWriteGen: bigint }): CheckpointEntry {
  return {
    name: DEFAULT_CHECKPOINT_NAME,
    ...fields,
    newestStartDurableTs: 0n,
    oldestStartTs: 0n,
    newestTxn: 0n,
    newestStopDurableTs: 0n,
    newestStopTs: (1n << 64n) - 1n,
    newestStopTxn: (1n << 64n) - 11n,
    prepare: 0,
  };
}

/** Keys of a config string, for checks that a required key is present. */
export function configKeys(text: string): Set<string> {
  return new Set(parseConfig(text).map((e) => e.key));
}
