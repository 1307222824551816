import { expect } from 'chai';
import { ErrorCode, KeyProviderError } from '../errors.js';
import { checksumWithZeroedField } from '../format/checksum.js';
import pageCases from './cases/key_provider_page.json' with { type: 'json' };
import {
  decodeKeyProviderPage,
  encodeKeyProviderPage,
  inspectKeyProviderPage,
  KeyProviderPageLayout,
  KeyProviderPageOffset,
} from './page.js';

interface ValidCase {
  description: string;
  lsn: number;
  hex: string;
  decoded: {
    version: number;
    compatibleVersion: number;
    headerSize: number;
    cryptSize: number;
    checksum: string;
    timestamp: string | null;
    blob: string;
  };
  encodedFrom?: { blob: string; timestamp: string };
}

interface InvalidCase {
  description: string;
  lsn: number;
  hex: string;
  error: {
    code: string;
    check: string;
    offset?: number;
    expected?: number | string;
    actual?: number | string;
    messageIncludes: string;
  };
}

const cases = pageCases as { valid: ValidCase[]; invalid: InvalidCase[] };

function caughtError(action: () => unknown): KeyProviderError {
  try {
    action();
  } catch (error) {
    expect(error).to.be.instanceOf(KeyProviderError);
    return error as KeyProviderError;
  }
  expect.fail('expected a KeyProviderError');
}

describe('key-provider page conformance cases', () => {
  for (const entry of cases.valid) {
    it(`decodes: ${entry.description}`, () => {
      const page = Buffer.from(entry.hex, 'hex');
      const decoded = decodeKeyProviderPage(page, { lsn: entry.lsn });
      expect({
        version: decoded.version,
        compatibleVersion: decoded.compatibleVersion,
        headerSize: decoded.headerSize,
        cryptSize: decoded.cryptSize,
        checksum: `0x${decoded.checksum.toString(16).padStart(8, '0')}`,
        timestamp: decoded.timestamp === undefined ? null : decoded.timestamp.toString(),
        blob: decoded.blob.toString('hex'),
      }).to.deep.equal(entry.decoded);
      const inspection = inspectKeyProviderPage(page, { lsn: entry.lsn });
      expect(inspection.problems).to.deep.equal([]);
      expect(inspection.checksum).to.equal(inspection.computedChecksum);
    });
    if (entry.encodedFrom !== undefined) {
      const source = entry.encodedFrom;
      it(`encodes byte for byte: ${entry.description}`, () => {
        const page = encodeKeyProviderPage({ blob: Buffer.from(source.blob, 'hex'), timestamp: BigInt(source.timestamp) });
        expect(page.toString('hex')).to.equal(entry.hex);
      });
    }
  }

  for (const entry of cases.invalid) {
    it(`rejects: ${entry.description}`, () => {
      const page = Buffer.from(entry.hex, 'hex');
      const error = caughtError(() => decodeKeyProviderPage(page, { lsn: entry.lsn }));
      expect(error.code).to.equal(entry.error.code);
      expect(error.location.lsn).to.equal(entry.lsn);
      expect(error.message).to.include(`LSN ${entry.lsn}`);
      expect(error.message).to.include(entry.error.messageIncludes);
      for (const field of ['offset', 'expected', 'actual'] as const) {
        if (entry.error[field] !== undefined) expect(error.location[field], field).to.equal(entry.error[field]);
      }
      const inspection = inspectKeyProviderPage(page, { lsn: entry.lsn });
      expect(inspection.problems[0]?.check).to.equal(entry.error.check);
      expect(inspection.problems[0]?.code).to.equal(entry.error.code);
    });
  }
});

describe('key-provider page codec', () => {
  it('writes the version-2 header field by field', () => {
    const blob = Buffer.from('0a0b0c', 'hex');
    const page = encodeKeyProviderPage({ blob, timestamp: 0x1122334455667788n });
    expect(page.length).to.equal(27);
    expect(page.subarray(0, 4).toString('hex')).to.equal('77746368');
    expect(page[KeyProviderPageOffset.version]).to.equal(2);
    expect(page[KeyProviderPageOffset.compatibleVersion]).to.equal(1);
    expect(page[KeyProviderPageOffset.headerSize]).to.equal(24);
    expect(page[KeyProviderPageOffset.unused]).to.equal(0);
    expect(page.readUInt32LE(KeyProviderPageOffset.cryptSize)).to.equal(3);
    expect(page.readUInt32LE(KeyProviderPageOffset.checksum)).to.equal(checksumWithZeroedField(page, KeyProviderPageOffset.checksum));
    expect(page.subarray(16, 24).toString('hex')).to.equal('8877665544332211');
    expect(page.subarray(24).equals(blob)).to.equal(true);
  });

  it('round-trips a blob and its timestamp', () => {
    const blob = Buffer.from(Array.from({ length: 300 }, (_, index) => index & 0xff));
    const decoded = decodeKeyProviderPage(encodeKeyProviderPage({ blob, timestamp: 99n }), { lsn: 4 });
    expect(decoded.blob.equals(blob)).to.equal(true);
    expect(decoded.timestamp).to.equal(99n);
  });

  it('returns a blob that does not share memory with the page', () => {
    const page = encodeKeyProviderPage({ blob: Buffer.from('abcd', 'hex'), timestamp: 1n });
    const decoded = decodeKeyProviderPage(page, { lsn: 1 });
    page.fill(0);
    expect(decoded.blob.toString('hex')).to.equal('abcd');
  });

  it('reads a page that is a slice of a larger buffer', () => {
    const page = encodeKeyProviderPage({ blob: Buffer.from('0102', 'hex'), timestamp: 5n });
    const larger = Buffer.concat([Buffer.from('ffff', 'hex'), page, Buffer.from('ee', 'hex')]);
    const decoded = decodeKeyProviderPage(larger.subarray(2, 2 + page.length), { lsn: 2 });
    expect(decoded.blob.toString('hex')).to.equal('0102');
  });

  it('rejects a timestamp outside u64', () => {
    for (const timestamp of [-1n, 1n << 64n]) {
      const error = caughtError(() => encodeKeyProviderPage({ blob: Buffer.alloc(1), timestamp }));
      expect(error.code).to.equal(ErrorCode.InvalidArgument);
    }
  });

  it('names the location it was given in every error', () => {
    const error = caughtError(() => decodeKeyProviderPage(Buffer.alloc(4), { lsn: 77, tableId: 26, pageId: 1 }));
    expect(error.location).to.include({ lsn: 77, tableId: 26, pageId: 1 });
    expect(error.toJSON()).to.include({ code: ErrorCode.KeyPageInvalid, lsn: 77 });
  });

  it('reports every problem of a page, in reader order, without throwing', () => {
    const page = encodeKeyProviderPage({ blob: Buffer.alloc(4), timestamp: 1n });
    page.write('nope', 0, 'latin1');
    page[KeyProviderPageOffset.compatibleVersion] = 7;
    page.writeUInt32LE(1, KeyProviderPageOffset.cryptSize);
    const inspection = inspectKeyProviderPage(page, { lsn: 3 });
    expect(inspection.problems.map((problem) => problem.check)).to.deep.equal([
      'checksum',
      'crypt-size',
      'compatible-version',
      'signature',
    ]);
    expect(inspection).to.include({ lsn: 3, pageSize: 28, version: 2, compatibleVersion: 7, headerSize: 24, cryptSize: 1, blobOffset: 24, blobLength: 4 });
    expect(inspection.timestamp).to.equal(1n);
  });

  it('inspects a page too short to hold its fields', () => {
    const inspection = inspectKeyProviderPage(Buffer.from('777463680201', 'hex'), { lsn: 8 });
    expect(inspection.problems.map((problem) => problem.check)).to.deep.equal(['size']);
    expect(inspection).to.include({ signature: KeyProviderPageLayout.signature, version: 2, compatibleVersion: 1 });
    expect(inspection.headerSize).to.equal(undefined);
    expect(inspection.checksum).to.equal(undefined);
  });

  it('keeps blob bytes out of an inspection', () => {
    const blob = Buffer.from('5ec2e75ec2e75ec2e75ec2e7', 'hex');
    const inspection = inspectKeyProviderPage(encodeKeyProviderPage({ blob, timestamp: 1n }), { lsn: 1 });
    const printed = JSON.stringify(inspection, (_, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
    expect(printed).not.to.include(blob.toString('hex'));
    expect(Object.values(inspection).some((value) => Buffer.isBuffer(value))).to.equal(false);
  });
});
