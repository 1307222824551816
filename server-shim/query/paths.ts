import { asDocumentLike, isDocument, type Document } from '../values/index.js';

/** Marks a path that does not exist in a document (distinct from a stored null). */
export const Missing: unique symbol = Symbol('missing');
export type Missing = typeof Missing;

/** True for a path component that can index an array ("0", "12"). */
export function isArrayIndex(component: string): boolean {
  return /^(0|[1-9]\d*)$/.test(component);
}

/** Splits a dotted path; rejects empty components like mongod ("a..b", ".a", "a."). */
export function splitPath(path: string): string[] {
  return path.split('.');
}

/**
 * The values a query predicate looks at for `path`, with mongod's implicit array traversal: at
 * each step, an array is searched element by element (documents in it are descended into) and a
 * numeric component may also index it. Where a document on the way lacks the field, `Missing`
 * is reported, so `{"a.b": null}` matches `{a: [{b: 1}, {}]}` as it does in mongod. The final
 * values are returned as stored: arrays are not expanded here (the matcher tries an array and
 * then its elements).
 */
export function valuesAtPath(document: Document, path: string | string[]): (unknown | Missing)[] {
  const components = typeof path === 'string' ? splitPath(path) : path;
  const found: (unknown | Missing)[] = [];
  collect(document, components, 0, found);
  return found;
}

function collect(value: unknown, components: string[], index: number, found: (unknown | Missing)[]): void {
  if (index === components.length) {
    found.push(value);
    return;
  }
  const component = components[index]!;
  const current = asDocumentLike(value);
  if (isDocument(current)) {
    collect(Object.hasOwn(current, component) ? current[component] : Missing, components, index + 1, found);
    return;
  }
  if (Array.isArray(current)) {
    let any = false;
    if (isArrayIndex(component)) {
      const position = Number(component);
      if (position < current.length) {
        collect(current[position], components, index + 1, found);
        any = true;
      }
    }
    for (const element of current) {
      const elementLike = asDocumentLike(element);
      // Documents in the array are searched; nested arrays are not (as in mongod).
      if (isDocument(elementLike)) {
        collect(elementLike, components, index, found);
        any = true;
      }
    }
    if (!any) found.push(Missing);
    return;
  }
  found.push(Missing);
}

/**
 * The value at `path` without array traversal except through numeric components; `Missing` when
 * absent. Used by updates and projections, which address one location.
 */
export function valueAt(document: Document, path: string | string[]): unknown | Missing {
  const components = typeof path === 'string' ? splitPath(path) : path;
  let current: unknown = document;
  for (const component of components) {
    const like = asDocumentLike(current);
    if (isDocument(like)) {
      if (!Object.hasOwn(like, component)) return Missing;
      current = like[component];
    } else if (Array.isArray(like) && isArrayIndex(component)) {
      const position = Number(component);
      if (position >= like.length) return Missing;
      current = like[position];
    } else {
      return Missing;
    }
  }
  return current;
}

/**
 * The value of a field path in an aggregation expression (`$a.b`): arrays map over their
 * elements and missing values are dropped, so `$a.b` over `{a: [{b: 1}, {b: 2}, {}]}` is `[1, 2]`.
 */
export function expressionPathValue(value: unknown, components: string[], index = 0): unknown | Missing {
  if (index === components.length) return value;
  const like = asDocumentLike(value);
  if (isDocument(like)) {
    const component = components[index]!;
    if (!Object.hasOwn(like, component)) return Missing;
    return expressionPathValue(like[component], components, index + 1);
  }
  if (Array.isArray(like)) {
    const mapped: unknown[] = [];
    for (const element of like) {
      const result = expressionPathValue(element, components, index);
      if (result !== Missing && (isDocument(asDocumentLike(element)) || Array.isArray(element))) mapped.push(result);
    }
    return mapped;
  }
  return Missing;
}
