import { expect } from 'chai';
import { ErrorCode, PageLogError } from '../errors.js';
import {
  LOG_ENTRY_SIZE,
  RecordKind,
  checkFormatRecord,
  decodeCompletionRecord,
  decodeLeaseRecord,
  decodeLogEntry,
  decodeLsnKey,
  decodePageKey,
  decodeTermKey,
  decodeTermRecord,
  encodeCompletionRecord,
  encodeFormatRecord,
  encodeLeaseRecord,
  encodeLogEntry,
  encodeLsnKey,
  encodePageKey,
  encodeTableEndKey,
  encodeTableStartKey,
  encodeTermKey,
  encodeTermRecord,
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
    const body = { timestamp: (1n << 64n) - 1n, oldestTimestamp: 3n, metadata: 'metadata_lsn=4,version=1', term: 0xffff_ffff };
    const value = encodeCompletionRecord(body);
    expect(decodeCompletionRecord(9, value)).to.deep.equal(body);
    expect(value.readUInt32LE(28), 'the term at offset 28').to.equal(0xffff_ffff);
    value[value.length - 1] ^= 1;
    expect(codeOf(() => decodeCompletionRecord(9, value))).to.equal(ErrorCode.CheckpointMetadataCorrupt);
  });

  it('reads term 0 from a completion record written before terms (offset 28 zero)', () => {
    const value = encodeCompletionRecord({ timestamp: 5n, oldestTimestamp: 1n, metadata: 'm', term: 0 });
    expect(decodeCompletionRecord(3, value).term).to.equal(0);
  });

  it('round-trips term and lease records, sorts term keys numerically, and detects damage', () => {
    const term = { term: 2 ** 40, nodeId: 'node-é', startedAt: 1_700_000_000_000, fromCompletionLsn: 77, firstLsn: 90 };
    const termValue = encodeTermRecord(term);
    expect(decodeTermRecord(termValue)).to.deep.equal(term);
    const keys = [1, 2, 255, 256, 2 ** 33].map(encodeTermKey);
    expect([...keys].reverse().sort(Buffer.compare).map(decodeTermKey)).to.deep.equal([1, 2, 255, 256, 2 ** 33]);
    const lease = { nodeId: 'n1', role: 'follower' as const, term: 3, renewedAt: 10, expiresAt: 20, pid: 4242, checkpoints: [5, 2 ** 45], address: '127.0.0.1:27017' };
    const leaseValue = encodeLeaseRecord(lease);
    expect(decodeLeaseRecord(leaseValue)).to.deep.equal(lease);
    for (const value of [termValue, leaseValue]) {
      const damaged = Buffer.from(value);
      damaged[12] ^= 1;
      const decode = value === termValue ? decodeTermRecord : decodeLeaseRecord;
      expect(codeOf(() => decode(damaged))).to.equal(ErrorCode.ChecksumMismatch);
      expect(codeOf(() => decode(value.subarray(0, 20)))).to.equal(ErrorCode.Corruption);
    }
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
