/**
 * The key-provider module's public entry: the extension interface, the loader and the
 * shipped modules, the key-provider page codec, and the checkpoint and open helpers.
 * Other modules import only from here. The export list is pinned by `index.test.ts`.
 */
export type {
  KeyProvider,
  KeyProviderFactory,
  KeyProviderStatus,
  KeyUpdate,
  KeyUpdateOutcome,
  PersistedKey,
} from './provider.js';

export { loadKeyProvider, shippedKeyProviderNames, type ShippedKeyProviderName } from './load.js';
export { parseKeyProviderConfig } from './config.js';

export {
  createExampleKeyProvider,
  ExampleKeyBlobLayout,
  type ExampleKeyProvider,
  type ExampleKeyProviderOptions,
} from './example.js';
export { createMockKeyProvider, mockKeyBlob, MockKeyBlobLayout, type MockKeyProvider } from './mock.js';
export { createNoopKeyProvider } from './noop.js';
export { describeKeyBlob } from './describe.js';

export {
  decodeKeyProviderPage,
  encodeKeyProviderPage,
  inspectKeyProviderPage,
  KeyProviderPageLayout,
  KeyProviderPageOffset,
  type DecodedKeyProviderPage,
  type KeyProviderPageCheck,
  type KeyProviderPageInspection,
  type KeyProviderPageLocation,
  type KeyProviderPageProblem,
} from './page.js';

export {
  persistProviderKey,
  readPersistedKey,
  type KeyPersistenceRequest,
  type KeyPersistenceResult,
  type KeyPersistenceStep,
} from './persist.js';
