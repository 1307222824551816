import { expect } from 'chai';
import { EngineError, ErrorCode, FormatError } from '../errors.js';
import { BLOCK_PAYLOAD_OFFSET } from '../format/index.js';
import { seededRandom, testSeed } from '../testing/random.js';
import { compareBytes, LeafPage, packLeafImage } from './page.js';
import { buildLeafImage } from './reconcile.js';

function randomRecords(seed: number, count: number): Array<[Buffer, Buffer]> {
  const random = seededRandom(seed);
  const keys = new Set<string>();
  while (keys.size < count) keys.add(`k${random.below(1_000_000)}`.padEnd(random.pick([1, 10, 63, 64, 65, 200]), 'k'));
  return [...keys].map((k) => Buffer.from(k)).sort(compareBytes).map((k) => [k, Buffer.alloc(random.pick([0, 1, 63, 64, 65, 3_000]), k[1]!)]);
}

describe('packed leaf pages', () => {
  it('reads the records of a written leaf without unpacking, equal to its unpacked arrays', () => {
    const seed = testSeed();
    const records = randomRecords(seed, 300);
    const image = buildLeafImage(records.map(([k]) => k), records.map(([, v]) => v), 1n);
    const packed = packLeafImage(image, BLOCK_PAYLOAD_OFFSET)!;
    expect(packed, `seed ${seed}`).to.not.equal(undefined);
    const leaf = LeafPage.packed(packed, undefined);
    expect(leaf.count).to.equal(records.length);
    for (let i = 0; i < records.length; i++) {
      expect(leaf.keyAt(i), `seed ${seed}, record ${i}`).to.deep.equal(records[i]![0]);
      expect(leaf.valueAt(i), `seed ${seed}, record ${i}`).to.deep.equal(records[i]![1]);
      expect(leaf.search(records[i]![0])).to.equal(i);
      expect(leaf.keyEquals(i, records[i]![0])).to.equal(true);
    }
    expect(leaf.isPacked).to.equal(true);
    // Keys between stored ones land where a sorted array would put them.
    const probe = Buffer.concat([records[10]![0], Buffer.from([0])]);
    expect(leaf.search(probe)).to.equal(11);
    expect(leaf.keyEquals(11, probe)).to.equal(false);
    expect(leaf.search(Buffer.from('zzzz'))).to.equal(records.length);
    expect(leaf.unpack()).to.equal(records.length);
    expect(leaf.isPacked).to.equal(false);
    expect(leaf.keys).to.deep.equal(records.map(([k]) => k));
    expect(leaf.values).to.deep.equal(records.map(([, v]) => v));
    expect(leaf.unpack()).to.equal(0);
  });

  it('packs an empty leaf', () => {
    const packed = packLeafImage(buildLeafImage([], [], 1n), BLOCK_PAYLOAD_OFFSET)!;
    expect(packed.count).to.equal(0);
    expect(LeafPage.packed(packed, undefined).search(Buffer.from('a'))).to.equal(0);
  });

  it('raises FormatError with the offset for a cell running past the page and for bytes after the last cell', () => {
    const image = buildLeafImage([Buffer.from('a'), Buffer.from('b')], [Buffer.from('1'), Buffer.alloc(100, 1)], 1n);
    const cut = Buffer.from(image);
    cut.writeUInt32LE(image.length - 10, 16); // mem_size now ends inside the last value
    expect(() => packLeafImage(cut.subarray(0, image.length - 10), BLOCK_PAYLOAD_OFFSET, { file: 'x.wt' }))
      .to.throw(FormatError).that.satisfies((e: EngineError) => e.code === ErrorCode.FormatTruncated && e.location.file === 'x.wt' && typeof e.location.offset === 'number');
    const extra = Buffer.concat([image, Buffer.alloc(3)]);
    extra.writeUInt32LE(extra.length, 16);
    expect(() => packLeafImage(extra, BLOCK_PAYLOAD_OFFSET)).to.throw(FormatError).with.nested.property('location.offset', image.length);
    const fewer = Buffer.from(image);
    fewer.writeUInt32LE(3, 20); // three cells announced, four present
    expect(() => packLeafImage(fewer, BLOCK_PAYLOAD_OFFSET)).to.throw(FormatError);
  });

  it('leaves cell forms it does not pack (prefix-compressed keys) to the cell-by-cell decoder', () => {
    const image = buildLeafImage([Buffer.from('abc'), Buffer.from('abd')], [Buffer.from('1'), Buffer.from('2')], 1n);
    // Rewrite the second key cell (short key "abd") as a short key with a prefix of 2: "d".
    const second = BLOCK_PAYLOAD_OFFSET + 4 + 2;
    expect(image[second]).to.equal((3 << 2) | 1);
    const withPrefix = Buffer.concat([image.subarray(0, second), Buffer.from([(1 << 2) | 2, 2, 0x64]), image.subarray(second + 4)]);
    withPrefix.writeUInt32LE(withPrefix.length, 16);
    expect(packLeafImage(withPrefix, BLOCK_PAYLOAD_OFFSET)).to.equal(undefined);
  });

  it('compares bytes like Buffer.compare, short and long', () => {
    const random = seededRandom(testSeed());
    for (let n = 0; n < 2_000; n++) {
      const a = Buffer.from(Array.from({ length: random.below(70) }, () => random.below(4)));
      const b = Buffer.from(Array.from({ length: random.below(70) }, () => random.below(4)));
      expect(Math.sign(compareBytes(a, b)), `${a.toString('hex')} ${b.toString('hex')}`).to.equal(Buffer.compare(a, b));
    }
  });
});
