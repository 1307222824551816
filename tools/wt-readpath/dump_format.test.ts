import { expect } from 'chai';
import { escapeForDump } from '../../engine/format/index.js';
import { collapseConfig, CREATE_DEFAULTS, DumpEncoder, dumpItem, dumpUri } from './dump_format.js';

/** What a `DumpEncoder` hands over for `records`, as one string. */
function encode(records: Array<[Uint8Array, Uint8Array]>, hex: boolean): string {
  const chunks: Buffer[] = [];
  const encoder = new DumpEncoder(hex, (bytes) => chunks.push(Buffer.from(bytes)));
  for (const [key, value] of records) encoder.record(key, value);
  encoder.flush();
  return Buffer.concat(chunks).toString('latin1');
}

describe('wt dump format', () => {
  it('collapses configurations onto the default keys, the last layer winning whole values', () => {
    expect(collapseConfig(['a=1,b=(x=1,y=2),c="q"', 'b=(x=3),c=,d=9', 'a=2'])).to.equal('a=2,b=(x=3),c=');
  });

  it('keeps quotes of string values and drops keys the defaults do not have', () => {
    const collapsed = collapseConfig([CREATE_DEFAULTS, 'id=3,checkpoint=(x=1),key_format=S', 'source="file:t.wt",type=file']);
    expect(collapsed).to.contain(',source="file:t.wt",').and.contain(',key_format=S,');
    expect(collapsed).not.to.contain(',id=').and.not.to.contain('checkpoint=');
    expect(collapsed.split(',').length).to.equal(CREATE_DEFAULTS.split(',').length);
  });

  it('escapes items as wt dump print and hex do', () => {
    expect(dumpItem(Buffer.from('a\\b\0\x7f~ '), false)).to.equal('a\\\\b\\00\\7f~ ');
    expect(dumpItem(Buffer.from([0, 0xff, 0x41]), true)).to.equal('00ff41');
  });

  it('encodes every byte value at every position of an item as escapeForDump prints it', () => {
    // Printable runs are copied four bytes at a time: each byte is tried at each place in a word.
    const records: Array<[Uint8Array, Uint8Array]> = [];
    for (let b = 0; b < 256; b++) {
      for (let length = 1; length <= 9; length++) {
        for (let at = 0; at < length; at++) {
          const item = Buffer.alloc(length, 'q');
          item[at] = b;
          records.push([item, item.subarray(at)]);
        }
      }
    }
    const expected = (hex: boolean): string => records.map(([k, v]) => `${dumpItem(k, hex)}\n${dumpItem(v, hex)}\n`).join('');
    expect(encode(records, false)).to.equal(expected(false));
    expect(encode(records, true)).to.equal(expected(true));
    expect(expected(false)).to.contain(escapeForDump(Buffer.from('qq\\q')));
  });

  it('encodes empty items and items larger than a chunk whole', () => {
    const large = Buffer.alloc(500_000, 0x01);
    large.fill('x', 1000, 2000);
    const records: Array<[Uint8Array, Uint8Array]> = [[Buffer.alloc(0), large], [Buffer.from('k'), Buffer.alloc(0)], [large, Buffer.from('v')]];
    const expected = records.map(([k, v]) => `${escapeForDump(k)}\n${escapeForDump(v)}\n`).join('');
    expect(encode(records, false)).to.equal(expected);
  });

  it('reads a bare name as a table', () => {
    expect(dumpUri('orders')).to.equal('table:orders');
    expect(dumpUri('file:orders.wt')).to.equal('file:orders.wt');
  });
});
