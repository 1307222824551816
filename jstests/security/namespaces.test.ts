import { expect } from 'chai';
import type { Document } from 'mongodb';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { Context } from 'mocha';
import { shimsPerTest, type ShimProcess } from '../libs/index.js';
import { runRawCommand } from './raw_command.js';

/** Every path under `root`, relative to it, except those under `skip`. */
async function listTree(root: string, skip: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (directory: string): Promise<void> => {
    for (const entry of await readdir(directory, { withFileTypes: true })) {
      const path = join(directory, entry.name);
      if (path === skip) continue;
      found.push(relative(root, path));
      if (entry.isDirectory()) await walk(path);
    }
  };
  await walk(root);
  return found.sort();
}

/** Names that would leave the dbpath (or cut a file name short) if they reached a file name. */
function hostileCollectionNames(absolute: string): string[] {
  return ['../escape', '../../escape', '..', '.', 'x/../../escape', absolute, `${absolute}/nested`, 'a\u0000b', '\u0000', 'a\\b', '..\\escape', 'sub/dir'];
}

function hostileDatabaseNames(absolute: string): string[] {
  return ['..', '../escape', absolute, 'a/b', 'a\\b', '..\\escape', 'a\u0000b'];
}

/** Commands that create, write or read a collection. */
function commandsFor(db: string, collection: string): Document[] {
  return [
    { create: collection, $db: db },
    { insert: collection, documents: [{ _id: 1 }], $db: db },
    { update: collection, updates: [{ q: { _id: 2 }, u: { $set: { a: 1 } }, upsert: true }], $db: db },
    { createIndexes: collection, indexes: [{ key: { _id: 1 }, name: '_id_' }], $db: db },
    { find: collection, filter: {}, $db: db },
    { drop: collection, $db: db },
  ];
}

describe('security: database, collection and table names cannot leave the dbpath', function () {
  const shims = shimsPerTest();
  let root: string | undefined;

  afterEach(async function (this: Context) {
    if (root === undefined) return;
    if (this.currentTest?.state === 'failed') console.error(`  kept ${root}`);
    else await rm(root, { recursive: true, force: true });
    root = undefined;
  });

  /** A server whose dbpath sits two levels down in a fresh directory, so `../` lands somewhere watched. */
  async function launchNested(options: Parameters<typeof shims.launch>[0]): Promise<{ shim: ShimProcess; dbpath: string; absolute: string }> {
    root = await mkdtemp(join(tmpdir(), 'jstest-names-'));
    const dbpath = join(root, 'outer', 'inner', 'db');
    await mkdir(dbpath, { recursive: true });
    const shim = await shims.launch({ ...options, dbpath });
    return { shim, dbpath, absolute: join(root, 'absolute-target') };
  }

  async function expectNothingOutside(dbpath: string, before: string[], absolute: string): Promise<void> {
    expect(await listTree(root!, dbpath), 'files outside the dbpath').to.deep.equal(before);
    for (const suffix of ['', '.wt', '/nested.wt', '.nested.wt']) expect(existsSync(absolute + suffix), absolute + suffix).to.equal(false);
  }

  for (const storage of ['local', 'disagg'] as const) {
    it(`refuses hostile collection names with InvalidNamespace (73) and writes no file outside the dbpath (${storage} storage)`, async () => {
      const { shim, dbpath, absolute } = await launchNested({ storage });
      const before = await listTree(root!, dbpath);
      // In disaggregated storage only the local database has files, so it is tried there too.
      for (const db of storage === 'local' ? ['app'] : ['app', 'local']) {
        for (const collection of hostileCollectionNames(absolute)) {
          for (const command of commandsFor(db, collection)) {
            const reply = await runRawCommand(shim.port, command);
            expect(reply, `${JSON.stringify(command)} -> ${JSON.stringify(reply)}`).to.include({ ok: 0, code: 73 });
          }
        }
      }
      await runRawCommand(shim.port, { fsync: 1, $db: 'admin' });
      await expectNothingOutside(dbpath, before, absolute);
    });
  }

  it('refuses hostile database names with InvalidNamespace (73) and writes no file outside the dbpath', async () => {
    const { shim, dbpath, absolute } = await launchNested({ storage: 'local' });
    const before = await listTree(root!, dbpath);
    for (const db of hostileDatabaseNames(absolute)) {
      for (const command of commandsFor(db, 'c')) {
        const reply = await runRawCommand(shim.port, command);
        expect(reply, `${JSON.stringify(command)} -> ${JSON.stringify(reply)}`).to.include({ ok: 0, code: 73 });
      }
    }
    await runRawCommand(shim.port, { fsync: 1, $db: 'admin' });
    await expectNothingOutside(dbpath, before, absolute);
  });

  it('refuses repairMetadata creates of tables whose names leave the dbpath', async () => {
    const { shim, dbpath, absolute } = await launchNested({ storage: 'local', setParameters: { enableRepairCommands: 1 } });
    const before = await listTree(root!, dbpath);
    for (const name of ['../escape', '../../escape', absolute, 'a\\b', 'a\u0000b', 'sub/../../escape']) {
      for (const local of [true, false]) {
        const command = { repairMetadata: 1, action: 'create', uri: `table:${name}`, config: 'key_format=u,value_format=u', local, $db: 'admin' };
        const reply = await runRawCommand(shim.port, command);
        expect(reply.ok, `${JSON.stringify(command)} -> ${JSON.stringify(reply)}`).to.equal(0);
      }
    }
    await runRawCommand(shim.port, { fsync: 1, $db: 'admin' });
    await expectNothingOutside(dbpath, before, absolute);
  });
});
