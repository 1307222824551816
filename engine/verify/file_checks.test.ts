import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dir } from 'tmp-promise';
import { buildInternalImage, buildLeafImage } from '../btree/index.js';
import {
  buildDescriptor, buildExtentListImage, CellType, computeBlockChecksum, encodeFileAddress, encodeFileCheckpointCookie,
  NO_FILE_ADDRESS, packUint, writePageHeader, type Extent, type FileAddress,
} from '../format/index.js';
import { verifyLocalFile } from './file_checks.js';
import { FindingSink, type Finding, type FindingCodeValue } from './findings.js';
import { FileSource } from './sources.js';
import { TreeWalker } from './tree.js';

/**
 * Checks that need a tree whose blocks are all sound but whose structure is wrong: such files
 * are built here block by block with the format and reconciliation helpers.
 */

const A = 4096;

interface LeafSpec {
  keys: string[];
  writeGen?: number;
  /** Adjusts the page image before it is sealed. */
  edit?: (image: Buffer) => void;
}

interface CraftSpec {
  leaves: LeafSpec[];
  /** Separator of each leaf after the first (default: its first key). */
  separators?: string[];
  rootWriteGen?: number;
  /** Address cell says internal for every child. */
  childrenAsInternal?: boolean;
  /** The root lists the first leaf twice. */
  repeatFirstLeaf?: boolean;
  /** Changes the alloc extents before the list is written. */
  editAlloc?: (extents: Extent[]) => Extent[];
  /** Change the block at `index` (0 = first leaf) after sealing, before its address is taken. */
  editBlock?: { index: number; edit: (block: Buffer) => void };
  /** Bytes appended after the tree (free space). */
  freeSpace?: Buffer;
  checkpointWriteGen?: number;
  /** The root is the first leaf itself. */
  leafRoot?: boolean;
  /**
   * Writes an avail extent list (in one block after the free space) with these extents, given
   * where the free space starts and ends and where the avail list's own block will be.
   */
  avail?: (space: { freeStart: number; freeEnd: number; availBlock: number }) => Extent[];
}

const key = (text: string): Buffer => Buffer.from(`${text}\0`);

function seal(image: Buffer): Buffer {
  const memSize = image.readUInt32LE(16);
  const block = Buffer.alloc(Math.ceil(memSize / A) * A);
  image.copy(block, 0, 0, memSize);
  block.writeUInt32LE(block.length, 28);
  block[36] = 1;
  block.writeUInt32LE(computeBlockChecksum(block), 32);
  return block;
}

/** Writes a `.wt` file for `spec`; returns its path and the `file:` configuration naming its checkpoint. */
async function craft(spec: CraftSpec): Promise<{ path: string; config: string; cleanup: () => Promise<void> }> {
  const directory = await dir({ unsafeCleanup: true, prefix: 'verify-craft-' });
  const blocks: Buffer[] = [buildDescriptor(A)];
  let offset = A;
  const place = (block: Buffer): FileAddress => {
    const address = { offset, size: block.length, checksum: block.readUInt32LE(32) };
    blocks.push(block);
    offset += block.length;
    return address;
  };
  const leafAddresses: FileAddress[] = [];
  spec.leaves.forEach((leaf, index) => {
    const image = buildLeafImage(leaf.keys.map(key), leaf.keys.map((k) => Buffer.from(`value of ${k}\0`)), BigInt(leaf.writeGen ?? index + 1));
    leaf.edit?.(image);
    const block = seal(image);
    if (spec.editBlock?.index === index) {
      spec.editBlock.edit(block);
      block.writeUInt32LE(0, 32);
      block.writeUInt32LE(computeBlockChecksum(block), 32);
    }
    leafAddresses.push(place(block));
  });
  let root: FileAddress;
  if (spec.leafRoot) {
    root = leafAddresses[0]!;
  } else {
    const children = spec.leaves.map((leaf, i) => ({
      key: key(i === 0 ? '' : spec.separators?.[i - 1] ?? leaf.keys[0]!),
      address: encodeFileAddress(leafAddresses[i]!, A),
      isLeaf: !spec.childrenAsInternal,
    }));
    if (spec.repeatFirstLeaf) children.push({ ...children[0]!, key: key('zzzz') });
    root = place(seal(buildInternalImage(children, BigInt(spec.rootWriteGen ?? spec.leaves.length + 1), true)));
  }
  const treeEnd = offset;
  let alloc: Extent[] = [{ offset: A, size: treeEnd - A }];
  if (spec.editAlloc) alloc = spec.editAlloc(alloc);
  const allocAddress = place(seal(buildExtentListImage(alloc)));
  const freeStart = offset;
  if (spec.freeSpace) {
    blocks.push(spec.freeSpace);
    offset += spec.freeSpace.length;
  }
  const availAddress = spec.avail ? place(seal(buildExtentListImage(spec.avail({ freeStart, freeEnd: offset, availBlock: offset })))) : NO_FILE_ADDRESS;
  const path = join(directory.path, 'crafted.wt');
  writeFileSync(path, Buffer.concat(blocks));
  const cookie = encodeFileCheckpointCookie({
    root, alloc: allocAddress, avail: availAddress, discard: NO_FILE_ADDRESS, fileSize: offset, checkpointSize: treeEnd - A,
  }, A).toString('hex');
  const writeGen = spec.checkpointWriteGen ?? 100;
  const config = `allocation_size=4KB,id=5,key_format=S,value_format=S,checkpoint=(WiredTigerCheckpoint.1=(addr="${cookie}",order=1,time=0,size=0,write_gen=${writeGen},run_write_gen=1)),checkpoint_lsn=(4294967295,2147483647)`;
  return { path, config, cleanup: () => directory.cleanup() };
}

async function check(spec: CraftSpec): Promise<Finding[]> {
  const crafted = await craft(spec);
  try {
    const sink = new FindingSink();
    verifyLocalFile({ path: crafted.path, fileName: 'crafted.wt', uri: 'file:crafted.wt', config: crafted.config, spaceChecks: true }, sink);
    return sink.drain();
  } finally {
    await crafted.cleanup();
  }
}

const codes = (findings: Finding[]): FindingCodeValue[] => findings.map((f) => f.code);
const twoLeaves = (): LeafSpec[] => [{ keys: ['a', 'b', 'c'] }, { keys: ['d', 'e', 'f'] }];

describe('verify: tree and space checks on crafted files', () => {
  it('finds nothing wrong with a sound two-level tree', async () => {
    expect(await check({ leaves: twoLeaves() })).to.deep.equal([]);
  });

  it('reports keys out of order within a leaf, at the cell', async () => {
    const findings = await check({ leaves: [{ keys: ['a', 'c', 'b'] }, { keys: ['d'] }] });
    expect(codes(findings)).to.deep.equal(['KEY_ORDER']);
    expect(findings[0]!.location.file).to.equal('crafted.wt');
    expect(findings[0]!.location.offset).to.be.above(A + 40).and.below(2 * A);
  });

  it('reports a leaf whose first key sorts before its parent separator', async () => {
    const findings = await check({ leaves: [{ keys: ['a', 'b'] }, { keys: ['c', 'd'] }], separators: ['cc'] });
    expect(codes(findings)).to.include('KEY_ORDER');
  });

  it('reports a leaf whose keys reach the next separator', async () => {
    const findings = await check({ leaves: [{ keys: ['a', 'b', 'd'] }, { keys: ['e', 'f'] }], separators: ['c'] });
    expect(codes(findings)).to.include('KEY_ORDER');
  });

  it('reports a child whose write generation is not below its parent', async () => {
    const findings = await check({ leaves: [{ keys: ['a'], writeGen: 7 }, { keys: ['b'], writeGen: 2 }], rootWriteGen: 7 });
    expect(codes(findings)).to.deep.equal(['WRITE_GEN_ORDER']);
    expect(findings[0]!.location.offset).to.equal(A + 8);
  });

  it('reports an address cell type that does not match its child', async () => {
    const findings = await check({ leaves: twoLeaves(), childrenAsInternal: true });
    expect(codes(findings)).to.deep.equal(['ADDRESS_TYPE_MISMATCH', 'ADDRESS_TYPE_MISMATCH']);
  });

  it('reports a page referenced twice', async () => {
    const findings = await check({ leaves: twoLeaves(), repeatFirstLeaf: true });
    expect(codes(findings)).to.include('BLOCK_REFERENCED_TWICE');
  });

  it('reports cells that end before the page mem_size', async () => {
    const findings = await check({ leaves: [{ keys: ['a', 'b'], edit: (image) => image.writeUInt32LE(image.readUInt32LE(20) - 1, 20) }, { keys: ['c'] }] });
    expect(codes(findings)).to.include('CELLS_SIZE_MISMATCH');
  });

  it('reports non-zero bytes between mem_size and the block end', async () => {
    const findings = await check({ leaves: twoLeaves(), editBlock: { index: 1, edit: (block) => { block[block.length - 1] = 1; } } });
    expect(codes(findings)).to.deep.equal(['PAGE_TRAILING_BYTES']);
    expect(findings[0]!.location.offset).to.equal(3 * A - 1);
  });

  it('reports a tree block the alloc extent list does not cover', async () => {
    const findings = await check({ leaves: twoLeaves(), editAlloc: (extents) => [{ offset: extents[0]!.offset + A, size: extents[0]!.size - A }] });
    expect(codes(findings)).to.deep.equal(['EXTENT_NOT_LISTED']);
    expect(findings[0]!.location.offset).to.equal(A);
  });

  it('warns about alloc ranges no tree page occupies', async () => {
    const findings = await check({ leaves: twoLeaves(), editAlloc: () => [{ offset: A, size: 4 * A }] });
    expect(codes(findings)).to.deep.equal(['EXTENT_UNREACHED']);
    expect(findings[0]!.severity).to.equal('warning');
  });

  it('reports an extent list whose extents are out of order', async () => {
    const findings = await check({ leaves: twoLeaves(), editAlloc: (extents) => [{ offset: 2 * A, size: 2 * A }, { offset: A, size: A }, ...extents.slice(1)] });
    expect(codes(findings)).to.deep.equal(['EXTENT_LIST_INVALID']);
  });

  describe('avail extent lists', () => {
    const freeSpace = Buffer.alloc(4 * A);

    it('accepts an avail list of two sorted runs, as WiredTiger writes a checkpoint\'s', async () => {
      const findings = await check({
        leaves: twoLeaves(), freeSpace,
        avail: ({ freeStart }) => [{ offset: freeStart + 2 * A, size: 2 * A }, { offset: freeStart, size: 2 * A }],
      });
      expect(findings).to.deep.equal([]);
    });

    it('accepts an avail list that covers its own block, and takes the block out of it', async () => {
      const findings = await check({ leaves: twoLeaves(), freeSpace, avail: ({ freeStart, availBlock }) => [{ offset: freeStart, size: availBlock + A - freeStart }] });
      expect(findings).to.deep.equal([]);
    });

    it('reports runs that overlap once merged, and a third run', async () => {
      const overlapping = await check({
        leaves: twoLeaves(), freeSpace,
        avail: ({ freeStart }) => [{ offset: freeStart + A, size: 3 * A }, { offset: freeStart, size: 2 * A }],
      });
      expect(codes(overlapping)).to.deep.equal(['EXTENT_LIST_INVALID']);
      expect(overlapping[0]!.message).to.contain('once its two runs are merged');
      const threeRuns = await check({
        leaves: twoLeaves(), freeSpace,
        avail: ({ freeStart }) => [{ offset: freeStart + 3 * A, size: A }, { offset: freeStart + 2 * A, size: A }, { offset: freeStart, size: 2 * A }],
      });
      expect(codes(threeRuns)).to.deep.equal(['EXTENT_LIST_INVALID']);
    });

    it('warns of free space no list describes', async () => {
      const findings = await check({ leaves: twoLeaves(), freeSpace, avail: ({ freeStart }) => [{ offset: freeStart, size: 2 * A }] });
      expect(codes(findings)).to.deep.equal(['FILE_RANGE_UNVERIFIED']);
    });
  });

  it('reports a damaged old page in free space, and accepts an intact one', async () => {
    const old = seal(buildLeafImage([key('x')], [Buffer.from('y\0')], 1n));
    expect(await check({ leaves: twoLeaves(), freeSpace: old })).to.deep.equal([]);
    const damaged = Buffer.from(old);
    damaged[45] = damaged[45]! ^ 0x40;
    const findings = await check({ leaves: twoLeaves(), freeSpace: damaged });
    expect(codes(findings)).to.deep.equal(['FREE_SPACE_DAMAGED']);
    // No checkpoint reads free space, and a killed checkpoint leaves torn blocks there.
    expect(findings[0]!.severity).to.equal('warning');
  });

  it('warns when the checkpoint write generation is below a page write generation', async () => {
    const findings = await check({ leaves: twoLeaves(), checkpointWriteGen: 1 });
    expect(codes(findings)).to.deep.equal(['CHECKPOINT_WRITE_GEN']);
  });

  it('warns about a leaf root, which WiredTiger never writes', async () => {
    const findings = await check({ leaves: [{ keys: ['a', 'b'] }], leafRoot: true });
    expect(codes(findings)).to.deep.equal(['ROOT_IS_LEAF']);
  });
});

describe('verify: overflow items, prefix compression and value copies', () => {
  /** A leaf holding apple -> (overflow value) and apricot (prefix "ap") -> a copy of that value. */
  async function overflowFile(rootCellType: number): Promise<{ path: string; config: string; root: Buffer; cleanup: () => Promise<void> }> {
    const directory = await dir({ unsafeCleanup: true, prefix: 'verify-overflow-' });
    const blocks: Buffer[] = [buildDescriptor(A)];
    let offset = A;
    const place = (block: Buffer): FileAddress => {
      const address = { offset, size: block.length, checksum: block.readUInt32LE(32) };
      blocks.push(block);
      offset += block.length;
      return address;
    };
    const data = Buffer.alloc(5000, 'v');
    const overflow = Buffer.alloc(40 + data.length);
    writePageHeader(overflow, { recno: 0n, writeGen: 1n, memSize: overflow.length, entries: data.length, type: 5, flags: 0, unused: 0, version: 0 });
    data.copy(overflow, 40);
    const cookie = encodeFileAddress(place(seal(overflow)), A);
    const cells: Buffer[] = [
      Buffer.from([0x15, ...Buffer.from('apple')]),
      Buffer.concat([Buffer.from([CellType.ValueOverflow]), packUint(cookie.length), cookie]),
      Buffer.from([0x16, 2, ...Buffer.from('ricot')]),
    ];
    const copyBack = cells[0]!.length + cells[1]!.length + cells[2]!.length - cells[0]!.length;
    cells.push(Buffer.concat([Buffer.from([CellType.ValueCopy]), packUint(copyBack)]));
    const leaf = Buffer.concat([Buffer.alloc(40), ...cells]);
    writePageHeader(leaf, { recno: 0n, writeGen: 2n, memSize: leaf.length, entries: 4, type: 7, flags: 4, unused: 0, version: 1 });
    const leafCookie = encodeFileAddress(place(seal(leaf)), A);
    const rootCells = Buffer.concat([Buffer.from([0x05, 0]), Buffer.from([rootCellType]), packUint(leafCookie.length), leafCookie]);
    const root = Buffer.concat([Buffer.alloc(40), rootCells]);
    writePageHeader(root, { recno: 0n, writeGen: 3n, memSize: root.length, entries: 2, type: 6, flags: 0x20, unused: 0, version: 1 });
    const rootAddress = place(seal(root));
    const alloc = place(seal(buildExtentListImage([{ offset: A, size: offset - A }])));
    const path = join(directory.path, 'overflow.wt');
    writeFileSync(path, Buffer.concat(blocks));
    const addr = encodeFileCheckpointCookie({ root: rootAddress, alloc, avail: NO_FILE_ADDRESS, discard: NO_FILE_ADDRESS, fileSize: offset, checkpointSize: 0 }, A).toString('hex');
    return {
      path, root: encodeFileAddress(rootAddress, A), cleanup: () => directory.cleanup(),
      config: `allocation_size=4KB,checkpoint=(WiredTigerCheckpoint.1=(addr="${addr}",order=1,time=0,size=0,write_gen=3))`,
    };
  }

  it('reads overflow values, prefixed keys and value copies back as records, with nothing to report', async () => {
    const file = await overflowFile(CellType.AddressLeaf);
    try {
      const sink = new FindingSink();
      verifyLocalFile({ path: file.path, fileName: 'overflow.wt', uri: 'file:overflow.wt', config: file.config, spaceChecks: true }, sink);
      expect(sink.drain()).to.deep.equal([]);
      const source = new FileSource(file.path, 'overflow.wt', A);
      const records = [...new TreeWalker(source, sink, {}).records(file.root)];
      source.close();
      expect(records.map((r) => [r.key.toString(), r.value.length])).to.deep.equal([['apple', 5000], ['apricot', 5000]]);
    } finally {
      await file.cleanup();
    }
  });

  it('reports overflow items under an address cell that says the leaf has none', async () => {
    const file = await overflowFile(CellType.AddressLeafNoOverflow);
    try {
      const sink = new FindingSink();
      verifyLocalFile({ path: file.path, fileName: 'overflow.wt', uri: 'file:overflow.wt', config: file.config, spaceChecks: true }, sink);
      expect(codes(sink.drain())).to.deep.equal(['ADDRESS_TYPE_MISMATCH']);
    } finally {
      await file.cleanup();
    }
  });
});
