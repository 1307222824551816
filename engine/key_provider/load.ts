/**
 * Loading a key provider by shipped-module name or from an ES module file, the way
 * WiredTiger loads an extension library.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { EngineError, ErrorCode, KeyProviderError } from '../errors.js';
import { importModuleFile } from '../module_files.js';
import { parseKeyProviderConfig } from './config.js';
import { createExampleKeyProvider, type ExampleKeyProvider } from './example.js';
import { createMockKeyProvider, type MockKeyProvider } from './mock.js';
import { createNoopKeyProvider } from './noop.js';
import type { KeyProvider, KeyProviderFactory } from './provider.js';

const shippedModules = Object.freeze({
  example: createExampleKeyProvider,
  mock: createMockKeyProvider,
  noop: createNoopKeyProvider,
});

/** Names `loadKeyProvider` accepts without a path. */
export type ShippedKeyProviderName = keyof typeof shippedModules;

/** The shipped module names, in a fixed order. */
export const shippedKeyProviderNames: readonly ShippedKeyProviderName[] = Object.freeze(['example', 'mock', 'noop']);

const requiredMethods = ['loadKey', 'getKey', 'onKeyUpdate', 'terminate', 'status'] as const;
const optionalMethods = ['setKey', 'requestRotation', 'describeBlob'] as const;

/** A bare word is a module name; anything that looks like a file is a path. */
function isModulePath(nameOrPath: string): boolean {
  return /[\\/]/.test(nameOrPath) || nameOrPath.startsWith('.') || /\.(m?js|cjs|ts)$/.test(nameOrPath);
}

function isShippedName(name: string): name is ShippedKeyProviderName {
  return Object.hasOwn(shippedModules, name);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Checks that what a module's factory returned has the interface's methods. */
function checkProviderShape(candidate: unknown, file: string): KeyProvider {
  if (typeof candidate !== 'object' || candidate === null) {
    throw new KeyProviderError(`key-provider module factory returned ${candidate === null ? 'null' : typeof candidate}, not a provider object`, { file });
  }
  const provider = candidate as Record<string, unknown>;
  if (typeof provider.name !== 'string' || provider.name === '') {
    throw new KeyProviderError('key-provider module returned a provider without a non-empty string "name"', { file });
  }
  for (const method of requiredMethods) {
    if (typeof provider[method] !== 'function') {
      throw new KeyProviderError(`key-provider module returned a provider without the method ${method}()`, { file });
    }
  }
  for (const method of optionalMethods) {
    if (provider[method] !== undefined && typeof provider[method] !== 'function') {
      throw new KeyProviderError(`key-provider module returned a provider whose ${method} is not a function`, { file });
    }
  }
  return candidate as KeyProvider;
}

async function loadModuleFile(path: string, config: Record<string, string>): Promise<KeyProvider> {
  const file = resolve(path);
  const found = statSync(file, { throwIfNoEntry: false })?.isFile() ?? false;
  if (!found) throw new KeyProviderError('key-provider module file not found', { file }, ErrorCode.MissingFile);
  let namespace: Record<string, unknown>;
  try {
    namespace = await importModuleFile(pathToFileURL(file).href);
  } catch (error) {
    throw new KeyProviderError(`could not import key-provider module: ${messageOf(error)}`, { file, cause: error });
  }
  const factory = [namespace.default, namespace.createKeyProvider].find((exported) => typeof exported === 'function') as
    | KeyProviderFactory
    | undefined;
  if (factory === undefined) {
    throw new KeyProviderError(
      'key-provider module does not export a factory: expected a default export or a named export createKeyProvider that is a function',
      { file },
    );
  }
  let provider: unknown;
  try {
    provider = await factory(config);
  } catch (error) {
    if (error instanceof EngineError) throw error;
    throw new KeyProviderError(`key-provider module factory failed: ${messageOf(error)}`, { file, cause: error });
  }
  return checkProviderShape(provider, file);
}

/**
 * Loads a key provider.
 *
 * @param nameOrPath `example`, `mock` or `noop` for a shipped module; otherwise a path
 *   (absolute, or relative to the working directory) to an ES module whose default export or
 *   named export `createKeyProvider` is a `KeyProviderFactory`.
 * @param config a `key=value,...` configuration string, parsed and handed to the factory.
 * @returns a provider on which no method has been called yet; call `loadKey` next.
 * @throws KeyProviderError `CONFIG_INVALID` or `CONFIG_UNKNOWN_KEY` (with `key`) for the
 *   configuration; `KEY_PROVIDER` for an unknown module name, or, naming the file, a module
 *   that cannot be imported, exports no factory, or returns something that is not a
 *   provider; `MISSING_FILE` when the path does not exist.
 */
export function loadKeyProvider(name: 'example', config?: string): Promise<ExampleKeyProvider>;
export function loadKeyProvider(name: 'mock', config?: string): Promise<MockKeyProvider>;
export function loadKeyProvider(nameOrPath: string, config?: string): Promise<KeyProvider>;
export async function loadKeyProvider(nameOrPath: string, config?: string): Promise<KeyProvider> {
  const parsed = parseKeyProviderConfig(config);
  if (isModulePath(nameOrPath)) return loadModuleFile(nameOrPath, parsed);
  if (isShippedName(nameOrPath)) return shippedModules[nameOrPath](parsed);
  throw new KeyProviderError(
    `unknown key-provider module "${nameOrPath}": shipped modules are ${shippedKeyProviderNames.join(', ')}; give a path to load a module file`,
  );
}
