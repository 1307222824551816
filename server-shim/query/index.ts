/**
 * The query language, without storage: filters, sort, projection, aggregation expressions and
 * stages, update operators, and access planning by the key field. Pure functions over decoded
 * documents.
 */
export { compileFilter, equalityFields, isOperatorObject } from './matcher.js';
export { compileRegex, type QueryRegex } from './regex.js';
export type { Matcher } from './matcher.js';
export { compileSort, parseSort, sortKeyValue } from './sort.js';
export type { Sort, SortField } from './sort.js';
export { compileProjection } from './projection.js';
export type { Projector } from './projection.js';
export { compileExpression, expressionTruthy } from './expressions.js';
export type { Expression, ExpressionScope } from './expressions.js';
export { compilePipeline, sortStage } from './pipeline.js';
export type { Pipeline, PipelineContext, Stage } from './pipeline.js';
export { compileUpdate, describeValue, upsertSeed } from './update.js';
export type { CompiledUpdate } from './update.js';
export { planAccess } from './plan.js';
export type { AccessPlan, RangeBound } from './plan.js';
export { Missing, valueAt, valuesAtPath } from './paths.js';
