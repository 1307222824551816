/**
 * Key bytes must never reach errors, logs, status, blob descriptions or any printed form of a
 * provider. These tests print everything a caller could print after rotations, pushes and
 * failures, and search the output for every key in the forms bytes usually leak in.
 */
import { inspect } from 'node:util';
import { expect } from 'chai';
import { describeKeyBlob } from './describe.js';
import { createExampleKeyProvider } from './example.js';
import { createMockKeyProvider } from './mock.js';
import { encodeKeyProviderPage, inspectKeyProviderPage } from './page.js';
import { persistProviderKey } from './persist.js';
import type { KeyProvider } from './provider.js';

/** Where the key sits in each module's blob. */
const keyOffset = 16;

/** Every 8-byte window of a key, in hex, spaced hex (Buffer inspect), decimal list (Buffer JSON) and base64. */
function leakPatterns(key: Buffer): string[] {
  const patterns = [key.toString('base64'), key.toString('base64url'), key.toString('latin1')];
  for (let start = 0; start + 8 <= key.length; start += 1) {
    const window = key.subarray(start, start + 8);
    const hex = window.toString('hex');
    patterns.push(hex, hex.toUpperCase(), hex.match(/../g)!.join(' '), [...window].join(','));
  }
  for (let start = 0; start + 9 <= key.length; start += 3) patterns.push(key.subarray(start, start + 9).toString('base64'));
  return patterns;
}

function serialise(value: unknown): string {
  return JSON.stringify(value, (_, item: unknown) => (typeof item === 'bigint' ? item.toString() : item));
}

/** Every printed form of a value. */
function printedForms(value: unknown): string[] {
  const forms = [
    inspect(value),
    inspect(value, { showHidden: true, depth: Infinity, getters: true }),
    inspect(value, { showHidden: true, depth: Infinity, customInspect: false }),
    serialise(value),
    String(value),
  ];
  if (value instanceof Error) forms.push(value.stack ?? '', value.message);
  return forms;
}

async function failure(action: () => unknown): Promise<unknown> {
  try {
    await action();
  } catch (error) {
    return error;
  }
  expect.fail('expected a failure');
}

interface Exercise {
  keys: Buffer[];
  printed: string[];
}

/** Drives a provider through rotations, a pushed key and failures, collecting keys and printed output. */
async function exercise(provider: KeyProvider, pushedKey: Buffer): Promise<Exercise> {
  const keys: Buffer[] = [Buffer.from(pushedKey)];
  const printed: string[] = [];
  const record = (value: unknown): void => {
    printed.push(...printedForms(value));
  };

  await provider.loadKey(undefined);
  let lsn: number | undefined;
  for (let timestamp = 1n; timestamp <= 4n; timestamp += 1n) {
    provider.requestRotation?.();
    if (timestamp === 3n) provider.setKey?.(pushedKey, 3n);
    const update = await provider.getKey({ timestamp });
    keys.push(Buffer.from(update.blob.subarray(keyOffset)));
    // Printed while a key is on offer and another may be queued.
    record(provider);
    record(provider.describeBlob?.(update.blob));
    record(describeKeyBlob(update.blob));
    record(inspectKeyProviderPage(encodeKeyProviderPage({ blob: update.blob, timestamp }), { lsn: 1 }));
    lsn = Number(timestamp) + 10;
    await provider.onKeyUpdate({ lsn });
  }
  provider.setKey?.(Buffer.from(pushedKey).reverse(), 1000n);
  keys.push(Buffer.from(pushedKey).reverse());
  record(provider);
  record(provider.status());

  // Errors from every path that can fail.
  provider.requestRotation?.();
  await provider.getKey({ timestamp: 5n });
  record(await failure(() => provider.getKey({ timestamp: 6n })));
  await provider.onKeyUpdate({ error: new Error('put failed') });
  record(await failure(() => provider.loadKey(undefined)));
  const foreignBlob = Buffer.concat([Buffer.from('XXXX'), keys[1]!]);
  record(await failure(() => provider.loadKey({ blob: foreignBlob, lsn: 9, timestamp: 1n })));
  record(provider.describeBlob?.(foreignBlob));
  record(
    await failure(() =>
      persistProviderKey(provider, {
        timestamp: 7n,
        previousLsn: lsn,
        writePage: async () => {
          throw new Error('write refused');
        },
      }),
    ),
  );
  await provider.terminate();
  record(await failure(() => provider.getKey({ timestamp: 8n })));
  record(provider);
  return { keys, printed };
}

function expectNoKeyBytes({ keys, printed }: Exercise): void {
  expect(keys.length).to.be.greaterThan(4);
  const output = printed.join('\n');
  expect(output.length).to.be.greaterThan(1000);
  for (const key of keys) {
    for (const pattern of leakPatterns(key)) {
      if (output.includes(pattern)) expect.fail(`key bytes leaked in printed output: ${pattern}`);
    }
  }
}

describe('key bytes never appear in printed output', () => {
  it('of the example provider, its blob descriptions and its errors', async () => {
    const provider = createExampleKeyProvider({ key_expires: '0' });
    const result = await exercise(provider, Buffer.from('00112233445566778899aabbccddeeff0123456789abcdeffedcba9876543210', 'hex'));
    const shortKey = Buffer.from(result.keys[1]!.subarray(0, 31));
    result.printed.push(...printedForms(await failure(() => createExampleKeyProvider().setKey(shortKey, 1n))));
    expectNoKeyBytes(result);
  });

  it('of the mock provider, its call log, its blob descriptions and its errors', async () => {
    const provider = createMockKeyProvider({ rotate_every: '1' });
    const result = await exercise(provider, Buffer.from('f0e1d2c3b4a5968778695a4b3c2d1e0ff0e1d2c3b4a5968778695a4b3c2d1e0f', 'hex'));
    result.printed.push(...printedForms(provider.calls));

    const failing = createMockKeyProvider();
    await failing.loadKey(undefined);
    const update = await failing.getKey({ timestamp: 1n });
    result.keys.push(Buffer.from(update.blob.subarray(keyOffset)));
    failing.failNextKeyUpdate();
    result.printed.push(...printedForms(await failure(() => failing.onKeyUpdate({ lsn: 4 }))), ...printedForms(failing));
    expectNoKeyBytes(result);
  });

  it('detects a leak when one happens, so the check itself works', () => {
    const key = Buffer.from('0123456789abcdef0123456789abcdef', 'hex');
    for (const leaked of [key, { key }, key.toString('base64'), [...key]]) {
      const output = printedForms(leaked).join('\n');
      expect(leakPatterns(key).some((pattern) => output.includes(pattern)), inspect(leaked)).to.equal(true);
    }
  });
});
