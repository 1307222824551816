import { statSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Connection } from '../api.js';
import { FileBlockManager } from '../block/index.js';
import { Cache } from '../cache/index.js';
import type { ConnectionImpl } from '../connection/index.js';
import { ChecksumError, ErrorCode } from '../errors.js';
import {
  CellType, decodeFileAddress, latestCheckpoint, PageType, readPageHeader, type Cell,
} from '../format/index.js';
import { testHomes } from '../testing/homes.js';
import { seededRandom, testSeed } from '../testing/random.js';
import { collectReport, verifyHome } from '../verify/index.js';
import { flipByte } from '../verify/testing.js';
import { Btree } from './btree.js';
import { pageCells } from './page.js';
import { leafItemLimits, splitPageSize, treeLimits } from './reconcile.js';
import { copyTree, treeAddresses } from './tree_copy.js';

/** WiredTiger's defaults (FORMATS.md 5.8): 32 KB leaves, 90% split, 4 KB allocation. */
const DEFAULT_PAGES = { allocationSize: 4096, leafPageMax: 32 * 1024, internalPageMax: 4096, splitPct: 90, leafKeyMax: 0, leafValueMax: 0 };
const KEY_MAX = 2867;
const VALUE_MAX = 14336;

const bytes = (length: number, fill: number): Buffer => Buffer.alloc(length, fill);

/** A local table's checkpointed tree, opened read-only beside (or after) its connection. */
function openCheckpointedFile(home: string, config: string, file = 't.wt'): { block: FileBlockManager; root: Buffer } {
  const addr = latestCheckpoint(config)!.addr;
  const block = new FileBlockManager(join(home, file), { allocationSize: 4096, readOnly: true, checkpointAddr: addr });
  return { block, root: block.rootFromCheckpoint(addr)! };
}

/** Every leaf of a tree with the address cell type its parent gives it, in key order. */
function leavesOf(block: FileBlockManager, root: Buffer): Array<{ referencedAs: number; cells: Cell[] }> {
  const out: Array<{ referencedAs: number; cells: Cell[] }> = [];
  const visit = (address: Buffer, referencedAs: number): void => {
    const read = block.read(address);
    const cells = pageCells(read);
    if (readPageHeader(read.image).type === PageType.RowLeaf) {
      out.push({ referencedAs, cells });
      return;
    }
    for (let i = 1; i < cells.length; i += 2) visit(cells[i]!.data, cells[i]!.type);
  };
  visit(root, CellType.AddressInternal);
  return out;
}

/** The records of a checkpointed tree, read by a tree of its own over `block`. */
function recordsOf(block: FileBlockManager, root: Buffer): Array<[string, string]> {
  const tree = new Btree({
    block, cache: new Cache(64 * 1024 * 1024), timestamps: { stable: 0n, oldest: 0n }, where: { file: block.name }, rootAddress: root,
    writeGen: 1n, ...treeLimits(DEFAULT_PAGES),
  });
  const out: Array<[string, string]> = [];
  let key: Buffer | undefined;
  for (;;) {
    const batch = tree.batch(key, false, false);
    batch.keys.forEach((k, i) => out.push([k.toString('hex'), batch.values[i]!.toString('hex')]));
    if (batch.done) break;
    key = batch.keys[batch.keys.length - 1];
  }
  tree.release();
  return out;
}

describe('overflow items', function () {
  this.timeout(120_000);
  const homes = testHomes();

  it('computes the inline limits WiredTiger computes for a table\'s page sizes', () => {
    // 32 KB x 90% = 29,491, rounded to the nearest 4 KB: 28,672; a tenth and a half of it.
    expect(splitPageSize(90, 32 * 1024, 4096)).to.equal(28_672);
    expect(leafItemLimits(DEFAULT_PAGES)).to.deep.equal({ keyMax: KEY_MAX, valueMax: VALUE_MAX });
    // 1 KB x 90% = 921 rounds to 1 KB, the whole page: WiredTiger keeps 921 then.
    expect(leafItemLimits({ ...DEFAULT_PAGES, allocationSize: 512, leafPageMax: 1024 })).to.deep.equal({ keyMax: 92, valueMax: 460 });
    expect(leafItemLimits({ ...DEFAULT_PAGES, leafPageMax: 64 * 1024, splitPct: 75 })).to.deep.equal({ keyMax: 4915, valueMax: 24_576 });
    expect(leafItemLimits({ ...DEFAULT_PAGES, leafKeyMax: 100, leafValueMax: 1000 })).to.deep.equal({ keyMax: 100, valueMax: 1000 });
  });

  it('writes keys and values above the limits as overflow cells naming overflow pages, those at the limits inline, under a leaf-with-overflow address', async () => {
    const home = await homes.directory();
    const connection = await homes.open(home, { storage: 'local' });
    connection.createTable('table:t', 'key_format=u,value_format=u');
    const cursor = connection.openSession().openCursor('table:t');
    const records: Array<[Buffer, Buffer]> = [
      [bytes(KEY_MAX, 0x61), bytes(VALUE_MAX, 0x31)],
      [bytes(KEY_MAX + 1, 0x62), bytes(10, 0x32)],
      [Buffer.from('c'), bytes(VALUE_MAX + 1, 0x33)],
      [Buffer.from('d'), Buffer.from('small')],
    ];
    for (const [key, value] of records) cursor.insert(key, value);
    await connection.checkpoint();
    const config = connection.getTable('table:t').config;
    await connection.close();

    const { block, root } = openCheckpointedFile(home, config);
    try {
      const [leaf, ...others] = leavesOf(block, root);
      expect(others).to.deep.equal([]);
      expect(leaf!.referencedAs, 'WiredTiger verify refuses overflow items under a no-overflow address').to.equal(CellType.AddressLeaf);
      expect(leaf!.cells.map((c) => c.type)).to.deep.equal([
        CellType.Key, CellType.Value,
        CellType.KeyOverflow, CellType.Value,
        CellType.Key, CellType.ValueOverflow,
        CellType.Key, CellType.Value,
      ]);
      for (const [index, item] of [[2, records[1]![0]], [5, records[2]![1]]] as const) {
        const page = block.read(leaf!.cells[index]!.data);
        const header = readPageHeader(page.image);
        expect(header).to.include({ type: PageType.Overflow, entries: item.length, memSize: 40 + item.length, flags: 0, version: 0 });
        expect(page.image.subarray(40, 40 + item.length).equals(item)).to.equal(true);
      }
    } finally {
      block.close();
    }
    const reopened = await homes.open(home, { storage: 'local' });
    const read = reopened.openSession().openCursor('table:t');
    for (const [key, value] of records) expect((read.get(key) as Buffer).equals(value)).to.equal(true);
    expect((await collectReport(verifyHome(home))).findings).to.deep.equal([]);
  });

  it('writes no overflow item and a no-overflow address when every item fits', async () => {
    const home = await homes.directory();
    const connection = await homes.open(home, { storage: 'local' });
    connection.createTable('table:t', 'key_format=u,value_format=u');
    connection.openSession().openCursor('table:t').insert(bytes(KEY_MAX, 1), bytes(VALUE_MAX, 2));
    await connection.checkpoint();
    const { block, root } = openCheckpointedFile(home, connection.getTable('table:t').config);
    try {
      const leaves = leavesOf(block, root);
      expect(leaves.map((l) => l.referencedAs)).to.deep.equal([CellType.AddressLeafNoOverflow]);
      expect(leaves[0]!.cells.map((c) => c.type)).to.deep.equal([CellType.Key, CellType.Value]);
    } finally {
      block.close();
    }
  });

  it('counts overflow pages in the cache statistics: written at a checkpoint, read back after a reopen', async () => {
    const home = await homes.directory();
    let connection = await homes.open(home, { storage: 'local' });
    connection.createTable('table:t', 'key_format=u,value_format=u');
    const cursor = connection.openSession().openCursor('table:t');
    for (let i = 0; i < 10; i++) cursor.insert(Buffer.from([i]), bytes(VALUE_MAX + 1, i));
    const before = connection.cacheStats();
    await connection.checkpoint();
    const written = connection.cacheStats();
    // Ten overflow pages and the leaf that names them (and the root above it).
    expect(written.pagesWritten - before.pagesWritten).to.be.at.least(11);
    expect(written.bytesWritten - before.bytesWritten).to.be.at.least(10 * (VALUE_MAX + 1));
    await connection.close();
    connection = await homes.open(home, { storage: 'local' });
    const reopened = connection.cacheStats();
    expect((connection.openSession().openCursor('table:t').get(Buffer.from([3])) as Buffer | undefined)?.length).to.equal(VALUE_MAX + 1);
    const read = connection.cacheStats();
    expect(read.pagesRead - reopened.pagesRead).to.be.at.least(11);
    expect(read.bytesRead - reopened.bytesRead).to.be.at.least(10 * (VALUE_MAX + 1));
  });

  it('uses the leaf_key_max and leaf_value_max a table is created with', async () => {
    const home = await homes.directory();
    const connection = await homes.open(home, { storage: 'local' });
    connection.createTable('table:t', 'key_format=u,value_format=u,leaf_key_max=100,leaf_value_max=1000');
    const cursor = connection.openSession().openCursor('table:t');
    cursor.insert(bytes(101, 0x61), bytes(1000, 1));
    cursor.insert(bytes(100, 0x62), bytes(1001, 2));
    await connection.checkpoint();
    const { block, root } = openCheckpointedFile(home, connection.getTable('table:t').config);
    try {
      expect(leavesOf(block, root)[0]!.cells.map((c) => c.type)).to.deep.equal([
        CellType.KeyOverflow, CellType.Value, CellType.Key, CellType.ValueOverflow,
      ]);
    } finally {
      block.close();
    }
  });

  /**
   * Updates, removes and re-inserts large items across checkpoints (and a reopen, so some
   * leaves come from disk); returns the items the table holds.
   */
  async function churn(connection: () => Connection, reopen: () => Promise<void>, rounds: number, seed: number): Promise<Map<string, Buffer>> {
    const random = seededRandom(seed);
    const live = new Map<string, Buffer>();
    for (let round = 0; round < rounds; round++) {
      const cursor = connection().openSession().openCursor('table:t');
      for (let n = 0; n < 40; n++) {
        const i = random.below(60);
        // Some keys are above the key limit too, so overflow keys are freed by removes.
        const key = i % 10 === 0 ? `${i}`.padEnd(KEY_MAX + 50, 'k') : `key${i}`;
        if (random.below(4) === 0) {
          cursor.remove(key);
          live.delete(key);
        } else {
          const value = bytes(random.pick([20, VALUE_MAX + 1, 20_000, 40_000]), 0x41 + (round % 26));
          cursor.put(key, value);
          live.set(key, value);
        }
      }
      await connection().checkpoint();
      if (round === Math.floor(rounds / 2)) await reopen();
    }
    return live;
  }

  it('reclaims the overflow pages updates and removes free: verify stays clean and the file stops growing over 40 checkpoints', async () => {
    const home = await homes.directory();
    let connection = await homes.open(home, { storage: 'local' });
    connection.createTable('table:t', 'key_format=S,value_format=u');
    const seed = testSeed();
    const live = await churn(() => connection, async () => {
      await connection.close();
      connection = await homes.open(home, { storage: 'local' });
    }, 20, seed);
    // Then every large item rewritten (or kept) at each checkpoint: the file must stop growing.
    const fileSizes: number[] = [];
    const random = seededRandom(seed + 1);
    for (let round = 0; round < 20; round++) {
      const cursor = connection.openSession().openCursor('table:t');
      // (a third of the items unchanged each round: their pages are reused, not rewritten)
      for (const key of [...live.keys()]) {
        if (random.below(3) === 0) continue;
        const value = bytes(random.pick([VALUE_MAX + 1, 30_000]), 0x61 + (round % 26));
        cursor.put(key, value);
        live.set(key, value);
      }
      await connection.checkpoint();
      fileSizes.push(statSync(join(home, 't.wt')).size);
    }
    const config = connection.getTable('table:t').config;
    await connection.close();
    // Pages never reclaimed would add what each round rewrites: the last ten rounds would end
    // about 40% above the first ten. What the items' random sizes and the free space's
    // fragments alone make the size vary by stays well under a quarter (at most 12% over 60 seeds).
    expect(Math.max(...fileSizes.slice(10)), `seed ${seed}, sizes ${fileSizes.join(', ')}`).to.be.at.most(Math.max(...fileSizes.slice(0, 10)) * 1.25);

    const { block, root } = openCheckpointedFile(home, config);
    try {
      // The tree references one overflow page per large item it holds, and no other.
      const large = [...live].filter(([key, value]) => Buffer.byteLength(key) + 1 > KEY_MAX || value.length > VALUE_MAX);
      const overflowPages = [...treeAddresses(block, root)].filter((a) => readPageHeader(block.read(a).image).type === PageType.Overflow);
      const expectedPages = large.reduce((n, [key, value]) => n + (Buffer.byteLength(key) + 1 > KEY_MAX ? 1 : 0) + (value.length > VALUE_MAX ? 1 : 0), 0);
      expect(overflowPages.length, `seed ${seed}`).to.equal(expectedPages);
      // And the file holds little more than the tree: freed pages were reused.
      const treeBytes = [...treeAddresses(block, root)].reduce((n, a) => n + decodeFileAddress(a, 4096).size, 0);
      expect(statSync(join(home, 't.wt')).size, `seed ${seed}`).to.be.below(treeBytes * 4);
    } finally {
      block.close();
    }
    const report = await collectReport(verifyHome(home));
    expect(report.findings, `seed ${seed}`).to.deep.equal([]);
    const reopened = await homes.open(home, { storage: 'local' });
    const cursor = reopened.openSession().openCursor('table:t');
    for (const [key, value] of live) expect((cursor.get(key) as Buffer).equals(value), `seed ${seed}, ${key.slice(0, 10)}`).to.equal(true);
    expect([...cursor.entries()].length).to.equal(live.size);
  });

  it('keeps large items of a shared table in page-log overflow pages, readable and verified after churn and a reopen', async () => {
    const home = await homes.directory();
    let connection = await homes.open(home, { storage: 'disagg' });
    connection.createTable('table:t', 'key_format=S,value_format=u');
    const seed = testSeed();
    const live = await churn(() => connection, async () => {
      await connection.close();
      connection = await homes.open(home, { storage: 'disagg' });
    }, 12, seed);
    await connection.close();
    expect((await collectReport(verifyHome(home))).findings, `seed ${seed}`).to.deep.equal([]);
    const reopened = await homes.open(home, { storage: 'disagg' });
    const cursor = reopened.openSession().openCursor('table:t');
    for (const [key, value] of live) expect((cursor.get(key) as Buffer).equals(value), `seed ${seed}`).to.equal(true);
  });

  it('copies a tree with overflow items page by page: the copy has its own overflow pages and the same records', async () => {
    const home = await homes.directory();
    const connection = await homes.open(home, { storage: 'local' });
    connection.createTable('table:t', 'key_format=S,value_format=u');
    const cursor = connection.openSession().openCursor('table:t');
    // Several leaves: the first ones with overflow keys and values, the last ones without.
    for (let i = 0; i < 1000; i++) {
      const key = `key${String(i).padStart(4, '0')}`.padEnd(i < 100 && i % 20 === 0 ? 3000 : 8, 'k');
      cursor.put(key, bytes(i < 100 && i % 4 === 0 ? 16_000 + i : 100, i % 256));
    }
    await connection.checkpoint();
    const config = connection.getTable('table:t').config;
    await connection.close();

    const { block: source, root } = openCheckpointedFile(home, config);
    FileBlockManager.create(join(home, 'copy.wt'), 4096);
    const target = new FileBlockManager(join(home, 'copy.wt'), { allocationSize: 4096, readOnly: false });
    try {
      const copied: Buffer[] = [];
      const newRoot = await copyTree(source, target, root, { uri: 'table:t' }, { copied: (address) => copied.push(address) });
      const sourcePages = [...treeAddresses(source, root)];
      // Every source page is reported copied (so a caller can discard it), overflow pages too.
      expect(copied.map((a) => a.toString('hex')).sort()).to.deep.equal(sourcePages.map((a) => a.toString('hex')).sort());
      const copyPages = [...treeAddresses(target, newRoot)];
      expect(copyPages.length).to.equal(sourcePages.length);
      const overflowCopies = copyPages.filter((a) => readPageHeader(target.read(a).image).type === PageType.Overflow);
      expect(overflowCopies.length).to.equal(sourcePages.filter((a) => readPageHeader(source.read(a).image).type === PageType.Overflow).length);
      expect(overflowCopies.length).to.be.greaterThan(20);
      expect(recordsOf(target, newRoot)).to.deep.equal(recordsOf(source, root));
      // Leaves keep the address type that matches their contents.
      const leaves = leavesOf(target, newRoot);
      expect(leaves.some((l) => l.referencedAs === CellType.AddressLeafNoOverflow)).to.equal(true);
      for (const leaf of leaves) {
        const hasOverflow = leaf.cells.some((c) => c.type === CellType.KeyOverflow || c.type === CellType.ValueOverflow);
        expect(leaf.referencedAs).to.equal(hasOverflow ? CellType.AddressLeaf : CellType.AddressLeafNoOverflow);
      }
    } finally {
      source.close();
      target.close();
    }
  });

  it('moves a shared table with overflow items to a new file id with its records whole, and verify stays clean', async () => {
    const home = await homes.directory();
    let connection = await homes.open(home, { storage: 'disagg' });
    connection.createTable('table:t', 'key_format=S,value_format=u');
    const cursor = connection.openSession().openCursor('table:t');
    const values = new Map<string, Buffer>();
    for (let i = 0; i < 60; i++) {
      const value = bytes(i % 3 === 0 ? 20_000 : 50, i);
      cursor.put(`key${i}`, value);
      values.set(`key${i}`, value);
    }
    await connection.checkpoint();
    await (connection as ConnectionImpl).setFileId('table:t', (connection as ConnectionImpl).nextFileId());
    await connection.checkpoint();
    await connection.close();
    expect((await collectReport(verifyHome(home))).findings).to.deep.equal([]);
    connection = await homes.open(home, { storage: 'disagg' });
    const read = connection.openSession().openCursor('table:t');
    for (const [key, value] of values) expect((read.get(key) as Buffer).equals(value)).to.equal(true);
  });

  describe('a damaged overflow page', () => {
    async function damagedHome(): Promise<{ home: string; config: string; offset: number; size: number }> {
      const home = await homes.directory();
      const connection = await homes.open(home, { storage: 'local' });
      connection.createTable('table:t', 'key_format=S,value_format=u');
      const cursor = connection.openSession().openCursor('table:t');
      cursor.put('small', Buffer.from('v'));
      cursor.put('large', bytes(VALUE_MAX + 100, 0x5a));
      await connection.checkpoint();
      const config = connection.getTable('table:t').config;
      await connection.close();
      const { block, root } = openCheckpointedFile(home, config);
      const cell = leavesOf(block, root)[0]!.cells.find((c) => c.type === CellType.ValueOverflow)!;
      block.close();
      const { offset, size } = decodeFileAddress(cell.data, 4096);
      flipByte(join(home, 't.wt'), offset + 40 + 5000);
      return { home, config, offset, size };
    }

    it('raises ChecksumError naming the file and the block offset when its leaf is read', async () => {
      const { home, offset } = await damagedHome();
      const connection = await homes.open(home, { storage: 'local' });
      const cursor = connection.openSession().openCursor('table:t');
      let error: unknown;
      try {
        cursor.get('large');
      } catch (caught) {
        error = caught;
      }
      expect(error).to.be.instanceOf(ChecksumError);
      expect((error as ChecksumError).code).to.equal(ErrorCode.ChecksumMismatch);
      expect((error as ChecksumError).location).to.include({ file: 't.wt', offset });
    });

    it('is reported by verify with its location', async () => {
      const { home, offset, size } = await damagedHome();
      const report = await collectReport(verifyHome(home));
      const errors = report.findings.filter((f) => f.severity === 'error');
      expect(errors.map((f) => f.code)).to.include('BLOCK_CHECKSUM');
      const finding = errors.find((f) => f.code === 'BLOCK_CHECKSUM')!;
      expect(finding.location.file).to.equal('t.wt');
      expect(finding.location.offset).to.be.within(offset, offset + size - 1);
    });

    it('stops a copy with ChecksumError instead of copying it', async () => {
      const { home, config, offset } = await damagedHome();
      const { block: source, root } = openCheckpointedFile(home, config);
      FileBlockManager.create(join(home, 'copy.wt'), 4096);
      const target = new FileBlockManager(join(home, 'copy.wt'), { allocationSize: 4096, readOnly: false });
      try {
        let error: unknown;
        await copyTree(source, target, root).catch((caught: unknown) => { error = caught; });
        expect(error).to.be.instanceOf(ChecksumError);
        expect((error as ChecksumError).location).to.include({ file: 't.wt', offset });
      } finally {
        source.close();
        target.close();
      }
    });
  });
});
