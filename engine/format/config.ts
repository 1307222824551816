import { ConfigError, ErrorCode } from '../errors.js';

/**
 * WiredTiger configuration strings: `key=value,key=(nested,...),key="quoted",key=[a,b]`.
 * A key without `=` means `true`. Values keep their text; nested groups are parsed on demand.
 * Entries keep their order, so a parsed string serializes back to the same text.
 */

export interface ConfigEntry {
  key: string;
  /** The value text as written (quotes and brackets included); `true` for a bare key. */
  raw: string;
}

/**
 * The characters each scan stops at. The scans jump from one to the next with a regular
 * expression rather than reading a character at a time: a server's start-up parses some tens of
 * kilobytes of metadata, enough for a character loop to be compiled by the optimizing compiler
 * in the middle of the start, which costs more than all the parsing.
 */
const GROUP_STOPS: Record<string, RegExp> = { '(': /["()]/g, '[': /["[\]]/g };
const VALUE_STOPS = /[,()[\]"]/g;
const KEY_STOPS = /[=,:()[\]]/g;
const SEPARATORS = /[, \n]*/y;

/**
 * The index of the next match of global `stops` (one character) at or after `start`, or -1;
 * through `test`, which makes no match object.
 */
function nextStop(stops: RegExp, text: string, start: number): number {
  stops.lastIndex = start;
  return stops.test(text) ? stops.lastIndex - 1 : -1;
}

/** The index of the closing `)` or `]` of the group opened at `start`. */
function findClose(text: string, start: number): number {
  const open = text[start]!;
  const stops = GROUP_STOPS[open]!;
  let depth = 0;
  for (let i = start; ; i++) {
    i = nextStop(stops, text, i);
    if (i < 0) throw new ConfigError(`unbalanced "${open}"`, { offset: start });
    const ch = text[i];
    if (ch === '"') {
      i = text.indexOf('"', i + 1);
      if (i < 0) throw new ConfigError('unterminated quoted string', { offset: start });
    } else if (ch === open) depth++;
    else if (--depth === 0) return i;
  }
}

function scanValueEnd(text: string, start: number): number {
  let i = start;
  for (;;) {
    i = nextStop(VALUE_STOPS, text, i);
    if (i < 0) return text.length;
    const ch = text[i];
    if (ch === ',') return i;
    if (ch === '(' || ch === '[') i = findClose(text, i) + 1;
    else if (ch === '"') {
      const end = text.indexOf('"', i + 1);
      if (end < 0) throw new ConfigError('unterminated quoted string', { offset: i });
      i = end + 1;
    } else {
      throw new ConfigError(`unexpected "${ch}"`, { offset: i });
    }
  }
}

/** Splits a configuration string into its top-level entries, in order. */
export function parseConfig(text: string): ConfigEntry[] {
  const entries: ConfigEntry[] = [];
  let i = 0;
  // A whole string wrapped in parentheses is the same as its contents.
  if (text.startsWith('(') && findClose(text, 0) === text.length - 1) text = text.slice(1, -1);
  while (i < text.length) {
    SEPARATORS.lastIndex = i;
    SEPARATORS.test(text);
    i = SEPARATORS.lastIndex;
    if (i >= text.length) break;
    let keyEnd: number;
    if (text[i] === '"') {
      keyEnd = text.indexOf('"', i + 1);
      if (keyEnd < 0) throw new ConfigError('unterminated quoted key', { offset: i });
      keyEnd++;
    } else {
      keyEnd = nextStop(KEY_STOPS, text, i);
      if (keyEnd < 0) keyEnd = text.length;
      else if ('()[]'.includes(text[keyEnd]!)) throw new ConfigError(`unexpected "${text[keyEnd]}" in a key`, { offset: keyEnd });
    }
    const key = unquote(text.slice(i, keyEnd).trim());
    if (key.length === 0) throw new ConfigError('empty key', { offset: i });
    if (keyEnd >= text.length || text[keyEnd] === ',') {
      entries.push({ key, raw: 'true' });
      i = keyEnd;
      continue;
    }
    const valueStart = keyEnd + 1;
    const valueEnd = scanValueEnd(text, valueStart);
    entries.push({ key, raw: text.slice(valueStart, valueEnd) });
    i = valueEnd;
  }
  return entries;
}

/** Removes surrounding double quotes, if any. */
export function unquote(raw: string): string {
  return raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw;
}

/**
 * The top-level values of recently read configuration strings by key (the last occurrence of a
 * key wins, as in WiredTiger). A table's metadata entry (some 1.3 KB) is read for one key after
 * another, and a start-up reads the same few entries some fifty times.
 */
const recentIndexes = new Map<string, ReadonlyMap<string, string>>();
const RECENT_INDEXES = 64;

function configIndex(text: string): ReadonlyMap<string, string> {
  let index = recentIndexes.get(text);
  if (index === undefined) {
    const values = new Map<string, string>();
    for (const entry of parseConfig(text)) values.set(entry.key, entry.raw);
    // The oldest goes (a Map keeps insertion order).
    if (recentIndexes.size >= RECENT_INDEXES) recentIndexes.delete(recentIndexes.keys().next().value!);
    recentIndexes.set(text, values);
    index = values;
  }
  return index;
}

/** The raw text of `key` (the last occurrence wins, as in WiredTiger), or undefined. */
export function getConfigRaw(text: string, key: string): string | undefined {
  return configIndex(text).get(key);
}

/** The value of `key` with quotes removed, or undefined. A dotted key looks into nested groups. */
export function getConfigValue(text: string, key: string): string | undefined {
  const dot = key.indexOf('.');
  if (dot > 0) {
    const nested = getConfigRaw(text, key.slice(0, dot));
    return nested === undefined ? undefined : getConfigValue(stripParens(nested), key.slice(dot + 1));
  }
  const raw = getConfigRaw(text, key);
  return raw === undefined ? undefined : unquote(raw);
}

/** The contents of a `(...)` group. */
export function stripParens(raw: string): string {
  return raw.startsWith('(') && raw.endsWith(')') ? raw.slice(1, -1) : raw;
}

/** Parses a `(...)` group into its entries. */
export function parseNested(raw: string): ConfigEntry[] {
  return parseConfig(stripParens(raw));
}

export function serializeConfig(entries: ConfigEntry[]): string {
  return entries.map((e) => `${e.key}=${e.raw}`).join(',');
}

/** Returns `text` with `key` set to `raw`, replacing it in place or appending it. */
export function setConfigRaw(text: string, key: string, raw: string): string {
  const entries = parseConfig(text);
  let replaced = false;
  for (const entry of entries) {
    if (entry.key === key) {
      entry.raw = raw;
      replaced = true;
    }
  }
  if (!replaced) entries.push({ key, raw });
  return serializeConfig(entries);
}

/** Returns `text` without `key`. */
export function removeConfigKey(text: string, key: string): string {
  return serializeConfig(parseConfig(text).filter((e) => e.key !== key));
}

/** Quotes a string value when it holds characters that need it. */
export function quoteIfNeeded(value: string): string {
  return /^[A-Za-z0-9_.\-/:]*$/.test(value) ? value : `"${value}"`;
}

const SIZE_SUFFIXES: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

/** Parses a size such as `4KB`, `32KB`, `5MB` or `4096` into bytes. */
export function parseSize(raw: string, key?: string): number {
  const match = /^(\d+)([KMGT]?B)?$/i.exec(raw.trim());
  if (!match) throw new ConfigError(`"${raw}" is not a size`, { key }, ErrorCode.ConfigInvalid);
  return Number(match[1]) * (match[2] ? SIZE_SUFFIXES[match[2].toUpperCase()]! : 1);
}

/** Parses a boolean (`true`, `false`, `1`, `0`, `on`, `off`). */
export function parseBoolean(raw: string, key?: string): boolean {
  if (['true', '1', 'on'].includes(raw)) return true;
  if (['false', '0', 'off'].includes(raw)) return false;
  throw new ConfigError(`"${raw}" is not a boolean`, { key });
}

/** Parses a decimal integer, allowing negative values as WiredTiger prints them. */
export function parseInteger(raw: string, key?: string): bigint {
  if (!/^-?\d+$/.test(raw)) throw new ConfigError(`"${raw}" is not an integer`, { key });
  return BigInt(raw);
}

/** Throws `ConfigError` (code `CONFIG_UNKNOWN_KEY`) for a key not in `allowed`. */
export function rejectUnknownKeys(text: string, allowed: ReadonlySet<string>, what: string): void {
  for (const entry of parseConfig(text)) {
    if (!allowed.has(entry.key)) {
      throw new ConfigError(`unknown ${what} configuration key "${entry.key}"`, { key: entry.key }, ErrorCode.ConfigUnknownKey);
    }
  }
}
