import { RE2JS } from 're2js';
import { CommandError, ErrorCodes } from '../errors/index.js';

/** A compiled `$regex`: whether it matches somewhere in a string. */
export interface QueryRegex {
  test(text: string): boolean;
}

const badValue = (message: string): CommandError => new CommandError(ErrorCodes.BadValue, message);

/**
 * Longest string a pattern with backreferences or lookaround is matched against. Such a
 * pattern runs on a backtracking engine, whose time grows with a power of the text's length
 * even without the shapes `backtrackingShape` refuses; past this length the match fails with
 * an error, as mongod's does at PCRE's match limit.
 */
export const BACKTRACKING_TEXT_LIMIT = 1024;

/**
 * Compiles a BSON regex's pattern and options (`i`, `m`, `s`, `x`, `u`; `l` is accepted and
 * ignored, as mongod does), with PCRE's meaning where it differs from the engines underneath:
 * `$` without `m` also matches before a final newline, `\Z` is that same position, and `\s`
 * includes the vertical tab.
 *
 * Every client shares one event loop and a JavaScript regex cannot be interrupted, so a pattern
 * that backtracks for seconds would stall every client. Patterns therefore run on RE2 (through
 * re2js), whose matching time is linear in the text whatever the pattern. RE2 has no
 * backreferences and no lookaround; a pattern that uses them runs on JavaScript's engine, only
 * with at most one unbounded quantifier and none of the shapes that backtrack without bound,
 * and only on strings up to `BACKTRACKING_TEXT_LIMIT` characters.
 */
export function compileRegex(pattern: string, options: string): QueryRegex {
  let jsFlags = '';
  let re2Flags = 0;
  let extended = false;
  for (const option of options) {
    if (option === 'i') re2Flags |= RE2JS.CASE_INSENSITIVE;
    else if (option === 'm') re2Flags |= RE2JS.MULTILINE;
    else if (option === 's') re2Flags |= RE2JS.DOTALL;
    else if (option === 'x') extended = true;
    else if (option !== 'u' && option !== 'l') throw badValue(`invalid flag in regex options: ${option}`);
    if ('ims'.includes(option) && !jsFlags.includes(option)) jsFlags += option;
  }
  const scanned = scanPattern(pattern, { extended, multiline: jsFlags.includes('m') });
  if (!scanned.needsBacktracking) {
    try {
      return RE2JS.compile(scanned.re2Source, re2Flags);
    } catch (error) {
      throw badValue(`Regular expression is invalid: ${(error as Error).message}: /${pattern}/`);
    }
  }
  if (scanned.unsupportedEscape !== undefined) {
    throw badValue(`Regular expression is invalid: the escape \\${scanned.unsupportedEscape} is not supported next to backreferences or lookaround: /${pattern}/`);
  }
  let regex: RegExp;
  try {
    regex = new RegExp(scanned.jsSource, jsFlags);
  } catch (error) {
    throw badValue(`Regular expression is invalid: ${(error as Error).message}`);
  }
  const shape = scanned.unboundedQuantifiers > 1 ? 'more than one unbounded quantifier in a row' : backtrackingShape(scanned.jsSource);
  if (shape !== undefined) {
    throw badValue(`Regular expression is too complex: it uses backreferences or lookaround, and ${shape}, which can backtrack without bound: /${pattern}/`);
  }
  return {
    test(text) {
      if (text.length > BACKTRACKING_TEXT_LIMIT) {
        throw badValue(`Regular expression is too complex to match a string of ${text.length} characters: /${pattern}/ uses backreferences or lookaround, which are matched on strings of up to ${BACKTRACKING_TEXT_LIMIT} characters`);
      }
      return regex.test(text);
    },
  };
}

/** What one pass over a pattern finds, and the pattern rewritten for each engine. */
interface ScannedPattern {
  re2Source: string;
  jsSource: string;
  /** Backreferences (`\1`, `\k<name>`) or lookaround (`(?=`, `(?!`, `(?<=`, `(?<!`). */
  needsBacktracking: boolean;
  /**
   * The most unbounded quantifiers (`*`, `+`, `{n,}`) in one stretch that backtracking can
   * revisit: the pattern outside lookarounds, or one lookaround's body (JavaScript never
   * backtracks into a lookaround that has matched).
   */
  unboundedQuantifiers: number;
  /** A letter escape JavaScript would read as the plain letter (PCRE's `\K`, `\h`, `\R`...). */
  unsupportedEscape: string | undefined;
}

/** Letters JavaScript's engine gives a meaning after a backslash (without the `u` flag). */
const JS_LETTER_ESCAPES = new Set('dDwWsSbBnrtfvcxuk');
const PCRE_SPACE = '\\t\\n\\v\\f\\r ';

function scanPattern(pattern: string, mode: { extended: boolean; multiline: boolean }): ScannedPattern {
  let re2 = '';
  let js = '';
  let needsBacktracking = false;
  let unsupportedEscape: string | undefined;
  let inClass = false;
  // One entry per open group: whether it is a lookaround. Counters: one per stretch.
  const groups: boolean[] = [];
  const counters: number[] = [0];
  let unboundedQuantifiers = 0;
  const emit = (both: string, forJs = both): void => {
    re2 += both;
    js += forJs;
  };
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      const next = pattern[i + 1] ?? '';
      i++;
      if (!inClass && ((next >= '1' && next <= '9') || next === 'k')) needsBacktracking = true;
      if (next === 'Q') {
        // Quoted text up to \E: literal characters for both engines.
        const end = pattern.indexOf('\\E', i + 1);
        const quoted = pattern.slice(i + 1, end < 0 ? pattern.length : end);
        const literal = quoted.replace(/[\\^$.*+?()[\]{}|\/-]/g, '\\$&');
        emit(literal);
        i = end < 0 ? pattern.length : end + 1;
        continue;
      }
      if (/[a-zA-Z]/.test(next) && !JS_LETTER_ESCAPES.has(next) && next !== 'A' && next !== 'z' && next !== 'Z') unsupportedEscape ??= next;
      if (next === 's') emit(inClass ? PCRE_SPACE : `[${PCRE_SPACE}]`);
      else if (next === 'S' && !inClass) emit(`[^${PCRE_SPACE}]`);
      else if (next === 'Z' && !inClass) emit('(?:\\n?\\z)', '(?=\\n?$)');
      else if (next === 'z' && !inClass) emit('\\z', '$(?![\\s\\S])');
      else if (next === 'A' && !inClass) emit('\\A', '^(?<![\\s\\S])');
      else emit(`\\${next}`);
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      emit(c);
      continue;
    }
    if (mode.extended && /\s/.test(c)) continue;
    if (mode.extended && c === '#') {
      while (i + 1 < pattern.length && pattern[i + 1] !== '\n') i++;
      continue;
    }
    if (c === '[') {
      inClass = true;
      emit(c);
      // A `]` right after `[` or `[^` is a literal, not the end of the class.
      if (pattern[i + 1] === '^') emit(pattern[++i]!);
      if (pattern[i + 1] === ']') emit(pattern[++i]!);
      continue;
    }
    if (c === '(') {
      const lookaround = /^\?<?[=!]/.test(pattern.slice(i + 1, i + 4));
      needsBacktracking ||= lookaround;
      groups.push(lookaround);
      if (lookaround) counters.push(0);
    } else if (c === ')') {
      if (groups.pop() === true) unboundedQuantifiers = Math.max(unboundedQuantifiers, counters.pop()!);
    } else if (c === '*' || c === '+' || (c === '{' && /^\{\d*,\}/.test(pattern.slice(i)))) {
      // A quantifier's own `+` or `?` (possessive, lazy) is no new quantifier.
      const previous = pattern[i - 1];
      if (!(c === '+' && (previous === '*' || previous === '+' || previous === '?' || previous === '}'))) counters[counters.length - 1]!++;
    }
    if (c === '$' && !mode.multiline) emit('(?:\\n?\\z)', '(?=\\n?$)');
    else emit(c);
  }
  for (const count of counters) unboundedQuantifiers = Math.max(unboundedQuantifiers, count);
  return { re2Source: re2, jsSource: js, needsBacktracking, unboundedQuantifiers, unsupportedEscape };
}

/**
 * Names the shape of catastrophic backtracking a pattern has, if any: a group that contains an
 * unbounded quantifier (`*`, `+`, `{n,}`) or alternatives (`|`) and is itself repeated, without
 * bound (`(a+)+`, `(a|a)*`, exponential) or a bounded number of times above one (`(.*a){12}`,
 * polynomial of that degree).
 */
export function backtrackingShape(source: string): string | undefined {
  const groups: boolean[] = [];
  let inner = false;
  let inClass = false;
  const quantifierAt = (i: number): 'unbounded' | 'repeated' | undefined => {
    const c = source[i];
    if (c === '*' || c === '+') return 'unbounded';
    if (c !== '{') return undefined;
    const braces = /^\{(\d*)(,?)(\d*)\}/.exec(source.slice(i));
    if (braces === null) return undefined;
    if (braces[2] === ',' && braces[3] === '') return 'unbounded';
    const most = Number(braces[2] === ',' ? braces[3] : braces[1]);
    return most > 1 ? 'repeated' : undefined;
  };
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') inClass = true;
    else if (c === '(') {
      groups.push(inner);
      inner = false;
    } else if (c === '|') {
      if (groups.length > 0) inner = true;
    } else if (c === ')') {
      const contained: boolean = inner;
      inner = groups.pop() ?? false;
      const after = quantifierAt(i + 1);
      if (contained && after === 'unbounded') return 'a group that repeats a quantifier or alternatives is repeated without bound';
      if (contained && after === 'repeated') return 'a group that repeats a quantifier or alternatives is repeated several times';
      inner ||= contained || after === 'unbounded';
    } else if (quantifierAt(i) === 'unbounded') inner = true;
  }
  return undefined;
}
