import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { EngineError } from '../errors.js';
import {
  checkLogRecord, decodeLogRecordBody, encodeCheckpointBody, encodeCommitBody, encodeCommitRecord, encodeLogDescriptor, encodeLogOp, LOG_ALIGN, LOG_DEBUG_BYTE,
  sealLogRecord, type LogOp, type RowWrite,
} from './index.js';

/** WiredTiger's log structures: conformance cases as data (`cases/log.json`). */
const cases = JSON.parse(readFileSync(join(process.cwd(), 'engine', 'format', 'cases', 'log.json'), 'utf8')) as {
  ops: Array<{ name: string; op: Record<string, unknown>; hex: string }>;
  bodies: Array<{ name: string; txnId?: string; ops?: Array<Record<string, unknown>>; checkpointLsn?: { file: number; offset: number }; hex: string }>;
  descriptor: { logSize: number; lengthHex: string; afterChecksumHex: string };
};

function opFromCase(raw: Record<string, unknown>): LogOp {
  const op = { ...raw } as Record<string, unknown>;
  if (typeof op.key === 'string') op.key = Buffer.from(op.key, 'hex');
  if (typeof op.value === 'string') op.value = Buffer.from(op.value, 'hex');
  return op as unknown as LogOp;
}

describe('journal: log format (WiredTiger conformance cases)', () => {
  for (const c of cases.ops) {
    it(`encodes and decodes ${c.name}`, () => {
      const op = opFromCase(c.op);
      expect(encodeLogOp(op).toString('hex')).to.equal(c.hex);
      const record = sealLogRecord(encodeCommitBody(7n, [op]));
      const body = decodeLogRecordBody(checkLogRecord(record, LOG_ALIGN), LOG_ALIGN);
      expect(body).to.deep.equal({ type: 'commit', txnId: 7n, ops: [op] });
    });
  }
  for (const c of cases.bodies) {
    it(`encodes ${c.name}`, () => {
      const bytes = c.checkpointLsn ? encodeCheckpointBody(c.checkpointLsn) : encodeCommitBody(BigInt(c.txnId!), c.ops!.map(opFromCase));
      expect(bytes.toString('hex')).to.equal(c.hex);
    });
  }
  it('writes the descriptor record WiredTiger reads at offset 0', () => {
    const record = encodeLogDescriptor(cases.descriptor.logSize);
    expect(record.length).to.equal(LOG_ALIGN);
    expect(record.subarray(0, 4).toString('hex')).to.equal(cases.descriptor.lengthHex);
    expect(record.subarray(8, 32).toString('hex')).to.equal(cases.descriptor.afterChecksumHex);
    expect(decodeLogRecordBody(checkLogRecord(record, 0), 0)).to.deep.equal({ type: 'descriptor', magic: 0x101064, version: 5, logSize: 104857600n });
  });
  it('builds a whole commit record of operations and row writes in a given buffer, the bytes of its sealed body, whatever the buffer held', () => {
    const ops: LogOp[] = [
      { kind: 'timestamp', timeSec: 1_700_000_000n, timeNsec: 5n, commitTs: 7n << 32n, durableTs: 7n << 32n, firstCommitTs: 7n << 32n, prepareTs: 0n, readTs: 0n },
      ...cases.ops.map((c) => opFromCase(c.op)),
      { kind: 'put', fileId: 300, key: Buffer.alloc(200, 2), value: Buffer.alloc(5000, 3) },
      { kind: 'remove', fileId: 4, key: Buffer.from('gone') },
    ];
    const rows: RowWrite[] = [
      { table: { id: 5 }, key: Buffer.from('k1'), value: Buffer.from('v1') },
      { table: { id: 70_000 }, key: Buffer.alloc(300, 9), value: null },
      { table: { id: 5 }, key: Buffer.from('k2'), value: Buffer.alloc(0) },
    ];
    const asOp = (row: RowWrite): LogOp => (row.value === null
      ? { kind: 'remove', fileId: row.table.id, key: row.key }
      : { kind: 'put', fileId: row.table.id, key: row.key, value: row.value });
    for (let count = 0; count <= ops.length; count++) {
      for (const rowCount of [0, 1, rows.length]) {
        if (count + rowCount === 0) continue;
        const expected = sealLogRecord(encodeCommitBody(BigInt(count), [...ops.slice(0, count), ...rows.slice(0, rowCount).map(asOp)]));
        const dirty = Buffer.alloc(expected.length + 256, 0xee);
        const built = encodeCommitRecord(BigInt(count), ops.slice(0, count), rows.slice(0, rowCount), (length) => dirty.subarray(0, length));
        expect(built.buffer, 'built in the given buffer').to.equal(dirty.buffer);
        expect(built.toString('hex'), `${count} operations, ${rowCount} rows`).to.equal(expected.toString('hex'));
        // Read back by the decoder, which shares no code with the encoders.
        expect(decodeLogRecordBody(checkLogRecord(Buffer.from(built), LOG_ALIGN), LOG_ALIGN)).to.deep.equal({
          type: 'commit', txnId: BigInt(count), ops: [...ops.slice(0, count), ...rows.slice(0, rowCount).map(asOp)],
        });
        expect(encodeCommitRecord(BigInt(count), ops.slice(0, count), rows.slice(0, rowCount)).toString('hex')).to.equal(expected.toString('hex'));
      }
    }
  });
  it('pads records to 128 bytes, marks the padding and rejects any changed byte', () => {
    const record = sealLogRecord(encodeCommitBody(1n, [{ kind: 'put', fileId: 3, key: Buffer.from('k'), value: Buffer.alloc(200, 1) }]));
    expect(record.length % LOG_ALIGN).to.equal(0);
    expect(record[record.length - 1]).to.equal(LOG_DEBUG_BYTE);
    for (const position of [0, 5, 16, 100, record.length - 1]) {
      const damaged = Buffer.from(record);
      damaged[position]! ^= 0x10;
      expect(() => checkLogRecord(damaged, 4096), `byte ${position}`).to.throw(EngineError);
    }
  });
});

