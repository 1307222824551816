import { expect } from 'chai';
import type { Document, MongoClient } from 'mongodb';
import { join } from 'node:path';
import type { ShimFixture } from './mocha_hooks.js';
import type { ShimOptions, ShimProcess } from './shim_process.js';

/** The fatal line a server that failed to start logged. */
export function fatalLine(shim: ShimProcess): Document {
  const line = shim.logLines().find((entry) => entry.s === 'F');
  expect(line, shim.tail()).to.not.equal(undefined);
  return line as unknown as Document;
}

/** Starts `shim`, expecting it to exit during start-up with `exitCode`; returns its fatal line. */
export async function expectStartFailure(shim: ShimProcess, exitCode: number): Promise<Document> {
  const failure = await shim.start().then(() => undefined, (error: Error) => error);
  expect(failure, 'the server should not have started').to.be.instanceOf(Error);
  expect(shim.exit?.exitCode, shim.tail()).to.equal(exitCode);
  return fatalLine(shim);
}

/** `serverStatus.disagg` of a node. */
export async function disaggStatus(client: MongoClient): Promise<Document> {
  return (await client.db('admin').command({ serverStatus: 1 })).disagg as Document;
}

/**
 * Where a leader's page log is, as its followers take it with `--pageLog`: the location the
 * leader was started with (a directory, `lmdb:PATH`, a `postgres://` URL, a store module), else
 * the one it keeps without `--pageLog`: `DBPATH/pagelog`.
 */
export function pageLogOf(leader: ShimProcess): string {
  return leader.options.pageLog ?? join(leader.dbpath, 'pagelog');
}

/**
 * Starts a follower of `leader`'s page log on a dbpath of its own (`--disaggRole follower
 * --pageLog LOCATION`, the location `pageLogOf` gives, whatever its store), with the leader's
 * key provider unless `options` says otherwise.
 */
export function launchFollower(shims: ShimFixture, leader: ShimProcess, options: ShimOptions = {}): Promise<ShimProcess> {
  return shims.launch({
    disaggRole: 'follower',
    pageLog: pageLogOf(leader),
    ...(leader.options.replSet === undefined ? {} : { replSet: leader.options.replSet }),
    ...(leader.options.keyProvider === undefined ? {} : { keyProvider: leader.options.keyProvider }),
    ...(leader.options.keyProviderConfig === undefined ? {} : { keyProviderConfig: leader.options.keyProviderConfig }),
    ...options,
  });
}

/** Takes a checkpoint on the leader (`fsync`) and returns its id. */
export async function checkpointOn(leader: MongoClient): Promise<string> {
  return String((await leader.db('admin').command({ fsync: 1 })).checkpointId);
}

/**
 * Waits until a follower serves checkpoint `id` or a later one (by its periodic pick-up), and
 * returns its `serverStatus.disagg`. Fails after `timeoutMs`.
 */
export async function waitForPickUp(follower: MongoClient, id: string, timeoutMs = 15_000): Promise<Document> {
  const deadline = Date.now() + timeoutMs;
  let status: Document = {};
  while (Date.now() < deadline) {
    status = await disaggStatus(follower);
    const served = (status.checkpoint as Document | null)?.id as string | undefined;
    if (served !== undefined && BigInt(served) >= BigInt(id)) return status;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the follower did not pick up checkpoint ${id} within ${timeoutMs} ms; it serves ${JSON.stringify(status.checkpoint)}`);
}

/** Waits until `condition` holds (polled every 50 ms), failing with `what` after `timeoutMs`. */
export async function waitUntil(what: string, condition: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
}
