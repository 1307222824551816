import { expect } from 'chai';
import { ErrorCode, PageLogError } from '../errors.js';
import {
  LOG_ENTRY_SIZE,
  RecordKind,
  checkFormatRecord,
  decodeCompletionRecord,
  decodeLogEntry,
  decodeLsnKey,
  decodePageKey,
  encodeCompletionRecord,
  encodeFormatRecord,
  encodeLogEntry,
  encodeLsnKey,
  encodePageKey,
  encodeTableEndKey,
  encodeTableStartKey,
  type LogEntryFields,
} from './record_format.js';

const ENTRY: LogEntryFields = {
  lsn: 2 ** 40 + 7,
  kind: RecordKind.Page,
  tableId: 0xffff_fffe,
  pageId: Number.MAX_SAFE_INTEGER,
  backlinkLsn: 2 ** 33,
  baseLsn: 2 ** 32 - 1,
  flags: 1,
  size: 32768,
  imageChecksum: 0xdead_beef,
};

function codeOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    expect(error).to.be.instanceOf(PageLogError);
    return (error as PageLogError).code;
  }
  throw new Error('nothing was thrown');
}

describe('page log record format', () => {
  it('orders LSN keys byte-wise in numeric order', () => {
    const lsns = [1, 255, 256, 2 ** 32 - 1, 2 ** 32, 2 ** 40, Number.MAX_SAFE_INTEGER];
    const keys = lsns.map(encodeLsnKey);
    const sorted = [...keys].sort(Buffer.compare);
    expect(sorted.map(decodeLsnKey)).to.deep.equal(lsns);
  });

  it('orders page keys by table id, then page id, then LSN, and round-trips them', () => {
    const triples = [
      [1, 1, 9],
      [1, 2, 1],
      [1, 2 ** 32, 1],
      [2, 1, 1],
      [0xffff_ffff, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
    ] as const;
    const keys = triples.map(([tableId, pageId, lsn]) => encodePageKey(tableId, pageId, lsn));
    expect([...keys].reverse().sort(Buffer.compare)).to.deep.equal(keys);
    expect(keys.map(decodePageKey)).to.deep.equal(triples.map(([tableId, pageId, lsn]) => ({ tableId, pageId, lsn })));
  });

  it('bounds every key of a table between its start and end keys, the largest table id included', () => {
    for (const tableId of [0, 7, 0xffff_ffff]) {
      const inside = encodePageKey(tableId, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
      expect(Buffer.compare(encodeTableStartKey(tableId), inside)).to.equal(-1);
      expect(Buffer.compare(inside, encodeTableEndKey(tableId))).to.equal(-1);
    }
    expect(Buffer.compare(encodeTableEndKey(7), encodePageKey(8, 1, 1))).to.equal(-1);
  });

  it('round-trips a log entry with values above 2^32', () => {
    const value = encodeLogEntry(ENTRY);
    expect(value.length).to.equal(LOG_ENTRY_SIZE);
    expect(decodeLogEntry(ENTRY.lsn, value)).to.deep.equal(ENTRY);
  });

  it('rejects a damaged log entry with its LSN', () => {
    const value = encodeLogEntry(ENTRY);
    value[9] ^= 1;
    expect(codeOf(() => decodeLogEntry(5, value))).to.equal(ErrorCode.ChecksumMismatch);
    expect(codeOf(() => decodeLogEntry(5, value.subarray(0, 40)))).to.equal(ErrorCode.Corruption);
  });

  it('rejects keys that are too short or hold integers above 2^53', () => {
    expect(codeOf(() => decodeLsnKey(Buffer.alloc(7)))).to.equal(ErrorCode.Corruption);
    expect(codeOf(() => decodeLsnKey(Buffer.alloc(8, 0xff)))).to.equal(ErrorCode.Corruption);
    expect(codeOf(() => decodePageKey(Buffer.alloc(20, 0xff)))).to.equal(ErrorCode.Corruption);
  });

  it('round-trips a completion record and detects damage to it', () => {
    const body = { timestamp: (1n << 64n) - 1n, oldestTimestamp: 3n, metadata: 'metadata_lsn=4,version=1' };
    const value = encodeCompletionRecord(body);
    expect(decodeCompletionRecord(9, value)).to.deep.equal(body);
    value[value.length - 1] ^= 1;
    expect(codeOf(() => decodeCompletionRecord(9, value))).to.equal(ErrorCode.CheckpointMetadataCorrupt);
  });

  it('accepts its own format record, returns its identity, and refuses others', () => {
    const identity = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    expect(checkFormatRecord('/x', encodeFormatRecord(identity))).to.equal('00112233-4455-6677-8899-aabbccddeeff');
    expect(codeOf(() => checkFormatRecord('/x', undefined))).to.equal(ErrorCode.Corruption);
    expect(codeOf(() => checkFormatRecord('/x', Buffer.alloc(28)))).to.equal(ErrorCode.Corruption);
    for (const offset of [4, 12, 27]) {
      const flipped = encodeFormatRecord(identity);
      flipped[offset] ^= 0xff;
      expect(codeOf(() => checkFormatRecord('/x', flipped)), `flip at ${offset}`).to.equal(ErrorCode.Corruption);
    }
    expect(codeOf(() => checkFormatRecord('/x', encodeFormatRecord(identity, 2, 2)))).to.equal(ErrorCode.PageLog);
  });
});
