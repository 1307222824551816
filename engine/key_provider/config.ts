/**
 * Key-provider configuration strings: WiredTiger's `key=value,key2=value2` form, parsed flat.
 * Values may be double-quoted (to hold commas) or parenthesised (kept as raw text); a key
 * with no `=` means `true`, as in WiredTiger. A later duplicate key wins.
 */
import { ErrorCode, KeyProviderError } from '../errors.js';

const keyPattern = /^[A-Za-z_][A-Za-z0-9_.]*$/;

function configInvalid(message: string, offset: number): KeyProviderError {
  return new KeyProviderError(message, { offset }, ErrorCode.ConfigInvalid);
}

/** Splits at commas outside quotes and parentheses, keeping each item's start offset. */
function splitItems(config: string): { text: string; offset: number }[] {
  const items: { text: string; offset: number }[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let index = 0; index < config.length; index += 1) {
    const character = config[index];
    if (quoted) {
      if (character === '\\') index += 1;
      else if (character === '"') quoted = false;
    } else if (character === '"') {
      quoted = true;
    } else if (character === '(') {
      depth += 1;
    } else if (character === ')') {
      depth -= 1;
      if (depth < 0) throw configInvalid('unbalanced ")" in key-provider configuration', index);
    } else if (character === ',' && depth === 0) {
      items.push({ text: config.slice(start, index), offset: start });
      start = index + 1;
    }
  }
  if (quoted) throw configInvalid('unterminated quoted value in key-provider configuration', config.lastIndexOf('"'));
  if (depth !== 0) throw configInvalid('unbalanced "(" in key-provider configuration', config.lastIndexOf('('));
  items.push({ text: config.slice(start), offset: start });
  return items;
}

function unquote(value: string, offset: number): string {
  if (!value.startsWith('"')) return value;
  if (value.length < 2 || !value.endsWith('"')) {
    throw configInvalid('text after a quoted value in key-provider configuration', offset);
  }
  return value.slice(1, -1).replace(/\\(.)/g, '$1');
}

/**
 * Parses a configuration string into a flat record. `undefined` and `''` give `{}`.
 *
 * @throws KeyProviderError `CONFIG_INVALID` with the byte offset for an empty or malformed
 *   key, an unterminated quote or unbalanced parentheses.
 */
export function parseKeyProviderConfig(config: string | undefined): Record<string, string> {
  const entries: [string, string][] = [];
  if (config === undefined || config.trim() === '') return {};
  for (const item of splitItems(config)) {
    if (item.text.trim() === '') continue;
    const equals = item.text.indexOf('=');
    const key = (equals === -1 ? item.text : item.text.slice(0, equals)).trim();
    if (!keyPattern.test(key)) {
      throw configInvalid(`invalid key-provider configuration key "${key}"`, item.offset);
    }
    const value = equals === -1 ? 'true' : unquote(item.text.slice(equals + 1).trim(), item.offset + equals + 1);
    entries.push([key, value]);
  }
  // fromEntries defines own properties, so a key such as "__proto__" cannot reach the prototype.
  return Object.fromEntries(entries);
}

/**
 * Rejects configuration keys a module does not know, naming the first unknown key.
 *
 * @throws KeyProviderError `CONFIG_UNKNOWN_KEY` with `key` set.
 */
export function rejectUnknownConfigKeys(module: string, config: Record<string, string>, known: readonly string[]): void {
  for (const key of Object.keys(config)) {
    if (!known.includes(key)) {
      const accepted = known.length === 0 ? 'it takes no configuration' : `it accepts ${known.join(', ')}`;
      throw new KeyProviderError(`unknown configuration key for key-provider module "${module}"; ${accepted}`, { key }, ErrorCode.ConfigUnknownKey);
    }
  }
}

/**
 * Reads an optional non-negative integer setting.
 *
 * @throws KeyProviderError `CONFIG_INVALID` with `key` set when the value is not a decimal
 *   integer at least `minimum`.
 */
export function readIntegerConfig(
  module: string,
  config: Record<string, string>,
  key: string,
  minimum: number,
): number | undefined {
  const text = config[key];
  if (text === undefined) return undefined;
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < minimum) {
    throw new KeyProviderError(
      `key-provider module "${module}" needs an integer of at least ${minimum}`,
      { key, expected: `integer >= ${minimum}`, actual: text },
      ErrorCode.ConfigInvalid,
    );
  }
  return value;
}

/**
 * Reads an optional call-number setting that also accepts `always`: the mock's failure
 * switches. Returns `'always'`, a call number (1 or more), or undefined.
 */
export function readCallNumberConfig(
  module: string,
  config: Record<string, string>,
  key: string,
): number | 'always' | undefined {
  if (config[key] === 'always') return 'always';
  return readIntegerConfig(module, config, key, 1);
}
