import { ShimProcess, type ShimOptions } from '../libs/index.js';
import type { StorageMode } from './structures.js';

/**
 * The pristine homes the corruption matrix copies and damages: one per storage mode, written by
 * a real mongod-shim and stopped cleanly, holding `app.c` with known documents (enough for a
 * tree of several leaves), an oplog, and in disaggregated mode a key provider with a rotated key.
 */

export interface SampleDocument {
  _id: number;
  name: string;
  payload: string;
}

/** The documents of `app.c`, in `_id` order. */
export function sampleDocuments(): SampleDocument[] {
  return Array.from({ length: 3000 }, (_, index) => ({ _id: index, name: `document ${index}`, payload: 'p'.repeat(index % 97) }));
}

export interface SampleHome {
  storage: StorageMode;
  /** The stopped home; copy it, never change it. */
  dbpath: string;
  /** What a server on a copy of this home is started with (besides `--dbpath` and `--port`). */
  shimOptions: ShimOptions;
  /** Deletes the home (unless it is kept). */
  cleanup(options?: { keep?: boolean }): Promise<string | undefined>;
}

export function shimOptionsFor(storage: StorageMode): ShimOptions {
  // Every page version is kept, so the key-provider page a rotation replaced is there to damage.
  return storage === 'disagg'
    ? { storage, replSet: 'rs0', keyProvider: 'example', args: ['--pageLogRetain', 'all'] }
    : { storage, replSet: 'rs0' };
}

export async function buildSampleHome(storage: StorageMode): Promise<SampleHome> {
  const options = shimOptionsFor(storage);
  const shim = new ShimProcess({ ...options, setParameters: { enableTestCommands: 1 } });
  try {
    await shim.start();
    const client = await shim.client();
    await client.db('app').collection<SampleDocument>('c').insertMany(sampleDocuments());
    await client.db('admin').command({ fsync: 1 });
    if (storage === 'disagg') await client.db('admin').command({ rotateKey: 1, checkpoint: true });
    await client.db('app').collection('other').insertOne({ _id: 'written after the rotation' as never });
    await shim.stop();
  } catch (error) {
    await shim.cleanup({ keep: true });
    throw error;
  }
  return { storage, dbpath: shim.dbpath, shimOptions: options, cleanup: (cleanupOptions) => shim.cleanup(cleanupOptions) };
}
