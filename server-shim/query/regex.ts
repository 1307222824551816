import { RE2JS } from 're2js';
import { CommandError, ErrorCodes } from '../errors/index.js';

/** A compiled `$regex`: whether it matches somewhere in a string. */
export interface QueryRegex {
  test(text: string): boolean;
}

const badValue = (message: string): CommandError => new CommandError(ErrorCodes.BadValue, message);

/**
 * Compiles a BSON regex's pattern and options (`i`, `m`, `s`, `x`, `u`; `l` is accepted and
 * ignored, as mongod does).
 *
 * Every client shares one event loop and a JavaScript regex cannot be interrupted, so a pattern
 * that backtracks for seconds would stall every client. Patterns therefore run on RE2 (through
 * re2js), whose matching time is linear in the text whatever the pattern. RE2 has no
 * backreferences and no lookaround; a pattern that needs them runs on JavaScript's engine,
 * and only when it has none of the shapes that backtrack without bound.
 */
export function compileRegex(pattern: string, options: string): QueryRegex {
  let source = pattern;
  let jsFlags = '';
  let re2Flags = 0;
  for (const option of options) {
    if (option === 'i') re2Flags |= RE2JS.CASE_INSENSITIVE;
    else if (option === 'm') re2Flags |= RE2JS.MULTILINE;
    else if (option === 's') re2Flags |= RE2JS.DOTALL;
    else if (option === 'x') {
      // Extended mode: unescaped whitespace and #-comments are not part of the pattern.
      source = source.replace(/\\#|\\\s|#[^\n]*|\s+/g, (match) => (match.startsWith('\\') ? match : ''));
      continue;
    } else if (option !== 'u' && option !== 'l') throw badValue(`invalid flag in regex options: ${option}`);
    if (option !== 'l' && !jsFlags.includes(option)) jsFlags += option;
  }
  let re2Error: Error;
  try {
    return RE2JS.compile(source, re2Flags);
  } catch (error) {
    re2Error = error as Error;
  }
  let regex: RegExp;
  try {
    regex = new RegExp(source, jsFlags);
  } catch {
    throw badValue(`Regular expression is invalid: ${re2Error.message}`);
  }
  const shape = backtrackingShape(source);
  if (shape !== undefined) {
    throw badValue(`Regular expression is too complex: it uses backreferences or lookaround, and ${shape}, which can backtrack without bound: /${pattern}/`);
  }
  return regex;
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
