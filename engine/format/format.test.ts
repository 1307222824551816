import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EngineError } from '../errors.js';
import {
  BLOCK_PAYLOAD_OFFSET, buildDescriptor, buildExtentListImage, checkBlock, checkDescriptor, CellType,
  decodeFileAddress, decodeFileCheckpointCookie, decodeTimeWindow, encodeFileAddress, encodeFileCheckpointCookie,
  escapeForDump, formatCheckpointList, getConfigRaw, getConfigValue, ItemFormat, latestCheckpoint, packUint, parseConfig,
  parseTurtle, readExtentList, readPackedIntBig, readPackedUintBig, sealBlock, setConfigRaw, unpackCell,
  writePackedInt, checksum, readPackedUint, writeKeyCell, writeValueCell,
} from './index.js';

const casesDir = join(process.cwd(), 'engine', 'format', 'cases');
const load = (name: string): any => JSON.parse(readFileSync(join(casesDir, name), 'utf8'));
const fromHex = (hex: string): Buffer => Buffer.from(hex.replace(/\s+/g, ''), 'hex');

function expectCode(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(EngineError);
    expect((error as EngineError).code).to.equal(code);
    return;
  }
  expect.fail(`expected an error with code ${code}`);
}

describe('format: packed integers', () => {
  const cases = load('packed.json');
  for (const [value, hex] of cases.unsigned as Array<[string, string]>) {
    it(`packs and reads ${value} unsigned as ${hex}`, () => {
      expect(packUint(BigInt(value)).toString('hex')).to.equal(hex);
      const [decoded, n] = readPackedUintBig(fromHex(hex), 0);
      expect(decoded).to.equal(BigInt(value));
      expect(n).to.equal(hex.length / 2);
      if (BigInt(value) <= BigInt(Number.MAX_SAFE_INTEGER)) expect(readPackedUint(fromHex(hex), 0)[0]).to.equal(Number(value));
    });
  }
  for (const [value, hex] of cases.signed as Array<[string, string]>) {
    it(`packs and reads ${value} signed as ${hex}`, () => {
      const out = Buffer.alloc(9);
      const n = writePackedInt(out, 0, BigInt(value));
      expect(out.subarray(0, n).toString('hex')).to.equal(hex);
      expect(readPackedIntBig(fromHex(hex), 0)).to.deep.equal([BigInt(value), n]);
    });
  }
  for (const c of cases.unsignedErrors) {
    it(`rejects ${c.why} with ${c.code}`, () => expectCode(() => readPackedUintBig(fromHex(c.hex), 0), c.code));
  }
  it('keeps numeric order as byte order', () => {
    const values = [0n, 1n, 63n, 64n, 8255n, 8256n, 8257n, 70000n, 2n ** 40n, 2n ** 64n - 1n];
    const packed = values.map((v) => packUint(v));
    for (let i = 1; i < packed.length; i++) expect(Buffer.compare(packed[i - 1]!, packed[i]!)).to.equal(-1);
  });
});

describe('format: blocks, cells and cookies', () => {
  const cases = load('blocks.json');
  for (const [allocationSize, sum] of cases.descriptorChecksums as Array<[number, string]>) {
    it(`writes the descriptor for ${allocationSize}-byte units with checksum ${sum}`, () => {
      const unit = buildDescriptor(allocationSize);
      expect(unit.readUInt32LE(8).toString(16).padStart(8, '0')).to.equal(sum);
      expect(checkDescriptor(unit).magic).to.equal(120897);
    });
  }
  it('rejects a descriptor with a flipped byte', () => {
    const unit = buildDescriptor(4096);
    unit[100] = 1;
    expectCode(() => checkDescriptor(unit), 'CHECKSUM_MISMATCH');
    const bad = buildDescriptor(4096);
    bad[0] = 0;
    expectCode(() => checkDescriptor(bad), 'FORMAT_INVALID');
  });
  for (const page of cases.pages) {
    it(`seals "${page.name}" with checksum ${page.checksum}`, () => {
      const image = fromHex(page.imageHex);
      const { block, checksum: sum } = sealBlock(image, page.allocationSize);
      expect(sum.toString(16).padStart(8, '0')).to.equal(page.checksum);
      expect(block.length).to.equal(page.allocationSize);
      checkBlock(block, sum, { offset: 4096 });
      if (page.extents) {
        expect(readExtentList(block).map((e) => [e.offset, e.size])).to.deep.equal(page.extents);
        expect(buildExtentListImage(page.extents.map(([offset, size]: number[]) => ({ offset, size }))).equals(image)).to.equal(true);
      }
      if (page.keys || page.children) {
        const cells = [];
        for (let p = BLOCK_PAYLOAD_OFFSET; p < image.length;) {
          const cell = unpackCell(image, p, image.length);
          cells.push(cell);
          p += cell.size;
        }
        if (page.keys) {
          expect(cells.filter((c) => c.type === CellType.Key).map((c) => c.data.toString('hex'))).to.deep.equal(page.keys);
          expect(cells.filter((c) => c.type === CellType.Value).map((c) => c.data.toString('hex'))).to.deep.equal(page.values);
        } else {
          const child = page.children[0];
          expect(cells[0]!.data.toString('hex')).to.equal(child.key);
          expect(cells[1]!.type).to.equal(child.cellType);
          const address = decodeFileAddress(cells[1]!.data, 4096);
          expect([address.offset, address.size, address.checksum.toString(16)]).to.deep.equal([child.offset, child.size, child.checksum]);
        }
      }
    });
    it(`rejects "${page.name}" after any payload byte is flipped`, () => {
      const { block, checksum: sum } = sealBlock(fromHex(page.imageHex), page.allocationSize);
      for (const offset of [0, 20, 24, BLOCK_PAYLOAD_OFFSET, block.length - 1]) {
        const copy = Buffer.from(block);
        copy[offset] ^= 0x01;
        expectCode(() => checkBlock(copy, sum, { offset: 4096 }), 'CHECKSUM_MISMATCH');
      }
    });
  }
  for (const c of cases.checkpointCookies) {
    it(`decodes and re-encodes the checkpoint cookie ${c.hex.slice(0, 16)}...`, () => {
      const cookie = decodeFileCheckpointCookie(fromHex(c.hex), 4096);
      const triple = (a: { offset: number; size: number; checksum: number }) => [a.offset, a.size, a.checksum.toString(16).padStart(8, '0')];
      expect(triple(cookie.root)).to.deep.equal(c.root);
      expect(triple(cookie.alloc)).to.deep.equal(c.alloc);
      expect(triple(cookie.avail)).to.deep.equal(c.avail);
      expect(triple(cookie.discard)).to.deep.equal(c.discard);
      expect([cookie.fileSize, cookie.checkpointSize]).to.deep.equal([c.fileSize, c.checkpointSize]);
      expect(encodeFileCheckpointCookie(cookie, 4096).toString('hex')).to.equal(c.hex);
    });
  }
  it('rejects a checkpoint cookie of an unknown version or with trailing bytes', () => {
    expectCode(() => decodeFileCheckpointCookie(fromHex('02808080'), 4096), 'FORMAT_INVALID');
    expectCode(() => decodeFileCheckpointCookie(fromHex('018181e4b5cc35b88281e41546bd16808080808080e21fc0dfc001'), 4096), 'FORMAT_INVALID');
  });
  for (const c of cases.addressCookies) {
    it(`round-trips the address cookie ${c.hex}`, () => {
      const address = decodeFileAddress(fromHex(c.hex), 4096);
      expect([address.offset, address.size, address.checksum.toString(16)]).to.deep.equal([c.offset, c.size, c.checksum]);
      expect(encodeFileAddress(address, 4096).toString('hex')).to.equal(c.hex);
    });
  }
  for (const c of cases.cellErrors) {
    it(`rejects a cell: ${c.name}`, () => {
      const bytes = fromHex(c.hex);
      expectCode(() => unpackCell(bytes, 0, bytes.length), c.code);
    });
  }
  it('decodes key and value cells of every length written, and rejects each one cut short', () => {
    for (let length = 0; length <= 300; length++) {
      const data = Buffer.alloc(length, 0x61 + (length % 26));
      for (const [write, type] of [[writeKeyCell, CellType.Key], [writeValueCell, CellType.Value]] as const) {
        const page = Buffer.alloc(length + 8);
        const size = write(page, 0, data);
        const cell = unpackCell(page, 0, size);
        expect([cell.type, cell.size, cell.short]).to.deep.equal([type, size, length <= 63]);
        expect(cell.data.equals(data)).to.equal(true);
        expectCode(() => unpackCell(page, 0, size - 1), 'FORMAT_TRUNCATED');
      }
    }
  });
  for (const c of cases.timeWindowCells) {
    it(`decodes the time window of ${c.name}`, () => {
      const bytes = fromHex(c.hex);
      const cell = unpackCell(bytes, 0, bytes.length);
      expect(cell.data.toString('hex')).to.equal(c.value);
      const window = decodeTimeWindow(cell.time);
      expect([window.startTs, window.startTxn]).to.deep.equal([BigInt(c.startTs), BigInt(c.startTxn)]);
    });
  }
});

describe('format: configuration strings, checkpoints, turtle and items', () => {
  const fixtureTurtle = readFileSync(join(process.cwd(), '..', 'shared', 'fixtures', 'wiredtiger-12.0.0', 'small', 'home', 'WiredTiger.turtle'), 'utf8');

  it('reads the metadata checkpoint of a WiredTiger-written turtle file and writes it back identically', () => {
    const turtle = parseTurtle(fixtureTurtle);
    const metadata = turtle.entries.find(([k]) => k === 'file:WiredTiger.wt')![1];
    const ckpt = latestCheckpoint(metadata)!;
    expect(ckpt.order).to.equal(6);
    expect(ckpt.addr).to.equal('018081e4473968418181e454c359c08281e4f944e6d9808080e26fc0cfc0');
    expect(ckpt.newestTxn).to.equal(16n);
    expect(`checkpoint=${formatCheckpointList(ckpt)}`).to.equal(/checkpoint=\(.*?\)\)/.exec(metadata)![0]);
    expect(getConfigValue(metadata, 'allocation_size')).to.equal('4KB');
    expect(getConfigValue(metadata, 'version.major')).to.equal('2');
  });
  it('parses nested, quoted and list values and serializes them back', () => {
    const text = 'a=1,b=(c=2,d="x,y"),e=[f,g],h,source="file:x.wt"';
    expect(parseConfig(text).map((e) => e.key)).to.deep.equal(['a', 'b', 'e', 'h', 'source']);
    expect(getConfigValue(text, 'b.d')).to.equal('x,y');
    expect(getConfigValue(text, 'h')).to.equal('true');
    expect(setConfigRaw(text, 'a', '7')).to.equal('a=7,b=(c=2,d="x,y"),e=[f,g],h=true,source="file:x.wt"');
  });
  it('parses groups nested in each other, brackets inside quotes, colon separators and spacing', () => {
    const text = '(a=(b=[1,(2)],c="(,]"),"q k"=[x,"y]"] ,\n d:4,e=,f=(g=(h=(i))))';
    expect(parseConfig(text)).to.deep.equal([
      { key: 'a', raw: '(b=[1,(2)],c="(,]")' },
      { key: 'q k', raw: '[x,"y]"] ' },
      { key: 'd', raw: '4' },
      { key: 'e', raw: '' },
      { key: 'f', raw: '(g=(h=(i)))' },
    ]);
    expect(getConfigValue(text, 'a.c')).to.equal('(,]');
    expect(getConfigValue(text, 'f.g')).to.equal('(h=(i))');
  });
  it('reads the last occurrence of a key, again and again, from a string of the same text', () => {
    const text = 'a=1,b=(c=2),a=3,d=4';
    for (let i = 0; i < 3; i++) {
      expect(getConfigRaw(text, 'a')).to.equal('3');
      expect(getConfigValue(`${text}`, 'b.c')).to.equal('2');
      expect(getConfigRaw(text, 'e')).to.equal(undefined);
    }
    // Many strings read in turn (more than are kept) read the same.
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 200; i++) expect(getConfigValue(`k=${i},v=(n=${i * 2})`, 'v.n')).to.equal(String(i * 2));
    }
    expectCode(() => getConfigRaw('a=(b', 'a'), 'CONFIG_INVALID');
    expectCode(() => getConfigRaw('a=(b', 'a'), 'CONFIG_INVALID');
  });
  it('rejects unbalanced configuration strings with the offset', () => {
    const offsetOf = (text: string): unknown => {
      try {
        parseConfig(text);
      } catch (error) {
        expect((error as EngineError).code).to.equal('CONFIG_INVALID');
        return (error as EngineError).location.offset;
      }
      return expect.fail(`${text} parsed`);
    };
    expect(offsetOf('a=(b=1')).to.equal(2);
    expect(offsetOf('a=[b,[c]')).to.equal(2);
    expect(offsetOf('a="open')).to.equal(2);
    expect(offsetOf('a=1,b=(c="x)')).to.equal(6);
    expect(offsetOf('a=1)')).to.equal(3);
    expect(offsetOf('a(b=1')).to.equal(1);
    expect(offsetOf('x,"key=1')).to.equal(2);
    expect(offsetOf('a=1, =2')).to.equal(5);
  });
  it('rejects a turtle file without its version or metadata entry', () => {
    expectCode(() => parseTurtle('file:WiredTiger.wt\nx\n'), 'FORMAT_INVALID');
    expectCode(() => parseTurtle('WiredTiger version\nmajor=3,minor=1,patch=0\nfile:WiredTiger.wt\nx\n'), 'FORMAT_INVALID');
    expectCode(() => parseTurtle('WiredTiger version\nmajor=12,minor=0,patch=0\n'), 'FORMAT_INVALID');
  });
  it('packs items of formats S, u, q, Q, i and multi-column formats', () => {
    expect(new ItemFormat('S').pack('a').toString('hex')).to.equal('6100');
    expect(new ItemFormat('u').pack(Buffer.from('ab')).toString('hex')).to.equal('6162');
    expect(new ItemFormat('q').pack(1n).toString('hex')).to.equal('81');
    expect(new ItemFormat('q').unpack(Buffer.from('7f', 'hex'))).to.equal(-1n);
    expect(new ItemFormat('Q').unpack(new ItemFormat('Q').pack(2n ** 64n - 1n))).to.equal(2n ** 64n - 1n);
    expect(new ItemFormat('i').unpack(new ItemFormat('i').pack(-5))).to.equal(-5);
    const multi = new ItemFormat('IuQQ');
    expect(multi.unpack(multi.pack([7, Buffer.from('xy'), 1n, 2n]))).to.deep.equal([7, Buffer.from('xy'), 1n, 2n]);
  });
  it('rejects a value of the wrong type for the format', () => {
    expectCode(() => new ItemFormat('S').pack(Buffer.from('a')), 'TYPE_MISMATCH');
    expectCode(() => new ItemFormat('q').pack('1'), 'TYPE_MISMATCH');
    expectCode(() => new ItemFormat('i').pack(2 ** 40), 'TYPE_MISMATCH');
    expectCode(() => new ItemFormat('u').pack(5), 'TYPE_MISMATCH');
  });
  it('escapes bytes as wt dump prints them', () => {
    expect(escapeForDump(Buffer.from('key000000\0'))).to.equal('key000000\\00');
    expect(escapeForDump(Buffer.from([0x1f, 0x26, 0x5c, 0x80]))).to.equal('\\1f&\\\\\\80');
  });
  it('computes CRC-32C', () => {
    expect(checksum(Buffer.from('123456789')).toString(16)).to.equal('e3069283');
  });
});
