import { CommandError, ErrorCodes, LocationCodes } from '../errors/index.js';
import { isDocument, isNumeric, toNumber, type Document } from '../values/index.js';
import { compileExpression, type Expression } from './expressions.js';
import { Missing } from './paths.js';

/** A compiled projection. */
export type Projector = (document: Document) => Document;

/** One node of the projection tree: a leaf action or named children. */
interface ProjectionNode {
  action?: 'include' | 'exclude' | Expression;
  children: Map<string, ProjectionNode>;
}

const newNode = (): ProjectionNode => ({ children: new Map() });

/** True for projection values that mean "include" (1, true) or "exclude" (0, false). */
function booleanLike(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (isNumeric(value)) return toNumber(value) !== 0;
  return undefined;
}

/**
 * Compiles a projection with mongod's rules: inclusion or exclusion (never both, except `_id`),
 * `_id` kept unless excluded, dotted paths reaching into embedded documents and arrays of
 * documents, inclusion keeping the document's own field order, and computed fields
 * (`{total: {$add: ["$a", "$b"]}}`, `{name: "$user.name"}`) added after the included ones.
 */
export function compileProjection(specification: unknown, where = 'projection'): Projector | undefined {
  if (specification === undefined || specification === null) return undefined;
  if (!isDocument(specification)) throw new CommandError(ErrorCodes.TypeMismatch, `${where} must be an object`);
  const entries = Object.entries(specification);
  if (entries.length === 0) return undefined;

  let mode: 'inclusion' | 'exclusion' | undefined;
  let idAction: ProjectionNode['action'];
  const root = newNode();
  for (const [path, value] of entries) {
    const flag = booleanLike(value);
    let action: ProjectionNode['action'];
    if (flag === undefined) {
      if (isDocument(value) && ['$slice', '$elemMatch', '$meta'].includes(Object.keys(value)[0] ?? '')) {
        throw new CommandError(ErrorCodes.BadValue, `${Object.keys(value)[0]} projections are not supported by this server`);
      }
      action = compileExpression(value);
    } else {
      action = flag ? 'include' : 'exclude';
    }
    if (path === '_id') {
      idAction = action;
      continue;
    }
    const fieldMode = action === 'exclude' ? 'exclusion' : 'inclusion';
    if (mode !== undefined && mode !== fieldMode) {
      throw fieldMode === 'exclusion'
        ? new CommandError(LocationCodes.ExclusionInInclusionProjection, `Cannot do exclusion on field ${path} in inclusion projection`)
        : new CommandError(LocationCodes.InclusionInExclusionProjection, `Cannot do inclusion on field ${path} in exclusion projection`);
    }
    mode = fieldMode;
    insertPath(root, path, action);
  }
  if (mode === undefined) mode = idAction === 'exclude' ? 'exclusion' : 'inclusion';
  if (idAction === undefined) idAction = mode === 'inclusion' ? 'include' : undefined;
  if (idAction !== undefined) {
    if (mode === 'exclusion' && idAction !== 'exclude') {
      throw new CommandError(LocationCodes.InclusionInExclusionProjection, 'Cannot do inclusion on field _id in exclusion projection');
    }
    root.children.set('_id', { action: idAction, children: new Map() });
  }

  if (mode === 'exclusion') return (document) => applyExclusion(document, root);
  return (document) => applyInclusion(document, root, { root: document, current: document, now: new Date() });
}

function insertPath(root: ProjectionNode, path: string, action: ProjectionNode['action']): void {
  const components = path.split('.');
  if (components.some((component) => component === '')) throw new CommandError(ErrorCodes.BadValue, `FieldPath field names may not be empty strings: ${path}`);
  if (components[0]!.startsWith('$')) throw new CommandError(ErrorCodes.BadValue, `FieldPath field names may not start with '$': ${path}`);
  let node = root;
  for (const [index, component] of components.entries()) {
    if (node.action !== undefined) throw new CommandError(31250, `Path collision at ${path}`);
    let child = node.children.get(component);
    if (child === undefined) {
      child = newNode();
      node.children.set(component, child);
    }
    if (index === components.length - 1) {
      if (child.action !== undefined || child.children.size > 0) throw new CommandError(31250, `Path collision at ${path}`);
      child.action = action;
    }
    node = child;
  }
}

function applyInclusion(document: Document, node: ProjectionNode, scope: { root: Document; current: Document; now: Date }): Document {
  const result: Document = {};
  const computed: [string, ProjectionNode][] = [];
  const idNode = node.children.get('_id');
  if (idNode?.action === 'include' && Object.hasOwn(document, '_id')) result._id = document._id;
  for (const [key, value] of Object.entries(document)) {
    const child = node.children.get(key);
    if (child === undefined || (key === '_id' && child === idNode && child.action === 'include')) continue;
    if (child.action === 'include') result[key] = value;
    else if (child.action === undefined) {
      const projected = projectNested(value, child, (inner) => applyInclusion(inner, child, scope), false);
      if (projected !== Missing) result[key] = projected;
    }
  }
  for (const [key, child] of node.children) {
    if (typeof child.action === 'function') computed.push([key, child]);
    else if (child.action === undefined && hasComputed(child) && !Object.hasOwn(result, key)) computed.push([key, child]);
  }
  for (const [key, child] of computed) {
    if (typeof child.action === 'function') {
      // Field paths in a projection are relative to the whole document, not to the subtree.
      const value = child.action(scope);
      if (value !== Missing) result[key] = value;
    } else {
      // A subtree with computed fields under a field the document lacks.
      result[key] = applyInclusion({}, child, scope);
    }
  }
  return result;
}

function hasComputed(node: ProjectionNode): boolean {
  for (const child of node.children.values()) if (typeof child.action === 'function' || hasComputed(child)) return true;
  return false;
}

/**
 * Applies a sub-projection to a field's value: a document is projected, an array has its
 * documents projected (other elements are dropped when including, kept when excluding), and a
 * scalar is dropped when including and kept when excluding.
 */
function projectNested(value: unknown, node: ProjectionNode, project: (inner: Document) => Document, keepScalars: boolean): unknown | Missing {
  if (isDocument(value)) return project(value);
  if (Array.isArray(value)) {
    const elements: unknown[] = [];
    for (const element of value) {
      if (isDocument(element) || Array.isArray(element)) {
        const projected = projectNested(element, node, project, keepScalars);
        if (projected !== Missing) elements.push(projected);
      } else if (keepScalars) {
        elements.push(element);
      }
    }
    return elements;
  }
  return keepScalars ? value : Missing;
}

function applyExclusion(document: Document, node: ProjectionNode): Document {
  const result: Document = {};
  for (const [key, value] of Object.entries(document)) {
    const child = node.children.get(key);
    if (child === undefined) result[key] = value;
    else if (child.action === 'exclude') continue;
    else {
      const projected = projectNested(value, child, (inner) => applyExclusion(inner, child), true);
      if (projected !== Missing) result[key] = projected;
    }
  }
  return result;
}
