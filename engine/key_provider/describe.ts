/**
 * Describing a persisted key blob without knowing which module wrote it, for the read-path
 * tool: the turtle page records the key-provider page's LSN but not the module's name.
 */
import { describeExampleBlob, ExampleKeyBlobLayout } from './example.js';
import { describeMockBlob, MockKeyBlobLayout } from './mock.js';
import { describeNoopBlob } from './noop.js';

/**
 * Non-secret description of a blob written by one of the shipped modules, recognised by its
 * magic (or, for `noop`, by being 32 zero bytes). Anything else is described as
 * `{ module: 'unknown', length }`. Never returns key bytes and never throws.
 */
export function describeKeyBlob(blob: Buffer): Record<string, unknown> {
  const magic = blob.subarray(0, 4);
  if (magic.equals(ExampleKeyBlobLayout.magic)) return describeExampleBlob(blob);
  if (magic.equals(MockKeyBlobLayout.magic)) return describeMockBlob(blob);
  const noop = describeNoopBlob(blob);
  if (noop.valid === true) return noop;
  return { module: 'unknown', length: blob.length };
}
