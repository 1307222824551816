import type { KeyProvider } from '../key_provider/index.js';
import { createNoopKeyProvider } from '../key_provider/noop.js';

/**
 * A key provider module for tests: the no-op provider, with `getKey` answering after
 * `delay_ms` milliseconds (default 100), as a provider that asks a key service would. It keeps
 * a checkpoint waiting between writing its trees and its completion record.
 */
export default function createSlowKeyProvider(config: Record<string, string> = {}): KeyProvider {
  const inner = createNoopKeyProvider();
  const delay = Number(config['delay_ms'] ?? 100);
  return {
    name: 'slow',
    loadKey: (persisted) => inner.loadKey(persisted),
    async getKey(checkpoint) {
      await new Promise((resolve) => setTimeout(resolve, delay));
      return inner.getKey(checkpoint);
    },
    onKeyUpdate: (outcome) => inner.onKeyUpdate(outcome),
    terminate: () => inner.terminate(),
    status: () => inner.status(),
  };
}
