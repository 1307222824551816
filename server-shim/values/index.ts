/**
 * BSON values as mongod sees them: type names and the canonical type order, exact numeric
 * comparison and arithmetic, the total order used by sort and equality, the document codec, and
 * encoded documents read and rearranged as bytes.
 */
export * from './types.js';
export { addNumbers, compareNumbers, integerResult, multiplyNumbers, numberValue, numericKind, subtractNumbers, toExactInteger, toNumber } from './numbers.js';
export type { NumericKind } from './numbers.js';
export { compareStrings, compareValues, valuesEqual } from './compare.js';
export { copyDocument, decodeDocument, documentSize, encodeDocument, maximumDocumentSize } from './codec.js';
export { encodeKey, encodeObjectIdKey, encodeTimestampKey, typeBracketEnd, typeBracketStart, typeByte } from './key_string.js';
export { newObjectId, newUuid } from './identifiers.js';
export { copyBytes, elementValueSize, leadingElementDocument, leadingElementEnd, moveIdFirst, prependObjectId, topLevelElements } from './bson_bytes.js';
export type { ElementSpan, TopLevelElements } from './bson_bytes.js';
