import { expect } from 'chai';
import { encodePageLogAddress, sealBasePage } from '../format/index.js';
import { buildLeafImage, buildInternalImage } from '../btree/index.js';
import { encodeKeyProviderPage } from '../key_provider/index.js';
import { openPageLog } from '../page_log/index.js';
import { testHomes } from '../testing/homes.js';
import { verifySharedTree } from './file_checks.js';
import { FindingSink, type Finding } from './findings.js';
import { collectReport, verifyHome } from './index.js';
import { appendCheckpoint, editNewestStoreValue, flipInStore, writeSampleHome } from './testing.js';

const brief = (findings: Finding[]): Array<[string, string, number | undefined, number | undefined, number | undefined]> =>
  findings.filter((f) => f.severity === 'error').map((f) => [f.code, f.severity, f.location.tableId, f.location.pageId, f.location.lsn]);

describe('verify: the page log', () => {
  const homes = testHomes('verify-pagelog-');

  async function disaggHome(keyProvider = false): Promise<string> {
    const home = await homes.directory();
    const connection = await writeSampleHome(homes.open, home, { storage: 'disagg', ...(keyProvider ? { keyProvider: 'example' } : {}) });
    await connection.close();
    return home;
  }

  it('reports a turtle page whose checksum does not match its completion record', async () => {
    const home = await disaggHome();
    const { turtleLsn } = await appendCheckpoint(home, { metadata: (m) => m.replace(/metadata_checksum=[0-9a-f]+/, 'metadata_checksum=1234abcd') });
    const report = await collectReport(verifyHome(home));
    expect(brief(report.findings)).to.deep.include(['TURTLE_PAGE_CHECKSUM', 'error', 2, 1, turtleLsn]);
  });

  it('reports a completion record naming a turtle page that is not there', async () => {
    const home = await disaggHome();
    const { turtleLsn } = await appendCheckpoint(home, { metadata: (m, lsn) => m.replace(`metadata_lsn=${lsn}`, `metadata_lsn=${lsn - 1}`) });
    const report = await collectReport(verifyHome(home));
    expect(brief(report.findings)).to.deep.include(['TURTLE_PAGE_MISSING', 'error', 2, 1, turtleLsn - 1]);
  });

  it('reports a turtle page that does not parse', async () => {
    const home = await disaggHome();
    const { turtleLsn } = await appendCheckpoint(home, { turtle: (text) => text.replace('largest_file_id=', 'largest_file_idx=') });
    const report = await collectReport(verifyHome(home));
    expect(brief(report.findings)).to.deep.include(['TURTLE_PAGE_INVALID', 'error', 2, 1, turtleLsn]);
  });

  it('reports a completion record whose metadata does not parse', async () => {
    const home = await disaggHome();
    const { completionLsn } = await appendCheckpoint(home, { metadata: () => 'version=1' });
    const report = await collectReport(verifyHome(home));
    expect(brief(report.findings)).to.deep.include(['COMPLETION_RECORD_INVALID', 'error', undefined, undefined, completionLsn]);
  });

  it('reports a completion record whose stored bytes were changed', async () => {
    const home = await disaggHome();
    const key = await editNewestStoreValue(home, 'checkpoints', (value) => {
      value[value.length - 3] = value[value.length - 3]! ^ 0x01;
      return value;
    });
    const lsn = Number(key.readBigUInt64BE(0));
    const report = await collectReport(verifyHome(home));
    expect(brief(report.findings)).to.deep.include(['COMPLETION_RECORD_INVALID', 'error', undefined, undefined, lsn]);
  });

  it('reports a key-provider page with a bad checksum named by the newest checkpoint', async () => {
    const home = await disaggHome(true);
    const page = encodeKeyProviderPage({ blob: Buffer.alloc(48, 7), timestamp: 0n });
    page[30] = page[30]! ^ 0xff;
    const { keyProviderLsn } = await appendCheckpoint(home, { keyProviderPage: page });
    const report = await collectReport(verifyHome(home));
    expect(brief(report.findings)).to.deep.include(['KEY_PROVIDER_PAGE_CHECKSUM', 'error', 26, 1, keyProviderLsn]);
  });

  it('reports a shared btree page whose stored image was changed in the store', async () => {
    const home = await disaggHome();
    expect(flipInStore(home, Buffer.from('key001234\0'), 3)).to.be.above(0);
    const report = await collectReport(verifyHome(home));
    const codes = report.findings.map((f) => f.code);
    expect(codes).to.include('PAGE_LOG_CHECKSUM');
    const finding = report.findings.find((f) => f.code === 'PAGE_LOG_CHECKSUM')!;
    expect(finding.location.tableId).to.be.a('number');
    expect(finding.location.pageId).to.be.at.least(100);
    expect(finding.location.lsn).to.be.a('number');
  });

  it('checks a shared tree: missing records, bad checksums and reserved page ids', async () => {
    const home = await homes.directory();
    const log = await openPageLog(`${home}/pagelog`);
    const handle = log.openHandle(40);
    const leaf = sealBasePage(buildLeafImage([Buffer.from('a\0')], [Buffer.from('b\0')], 1n), 40, { previousChecksum: 0, reconciliationId: 0 });
    const leafLsn = handle.put(100, { backlinkLsn: 0, baseLsn: 0, flags: 0 }, leaf.page);
    const rootFor = (address: Buffer): Buffer => {
      const root = sealBasePage(buildInternalImage([{ key: Buffer.from([0]), address, isLeaf: true }], 2n, true), 40, { previousChecksum: 0, reconciliationId: 0 });
      const lsn = handle.put(101, { backlinkLsn: 0, baseLsn: 0, flags: 0 }, root.page);
      return encodePageLogAddress({ pageId: 101, lsn, checkpointId: 1, reconciliationId: 0, size: root.page.length, checksum: root.checksum });
    };
    const leafAddress = { pageId: 100, lsn: leafLsn, checkpointId: 1, reconciliationId: 0, size: leaf.page.length, checksum: leaf.checksum };
    const cases: Array<[string, Buffer]> = [
      ['', rootFor(encodePageLogAddress(leafAddress))],
      ['PAGE_LOG_PAGE_MISSING', rootFor(encodePageLogAddress({ ...leafAddress, lsn: leafLsn + 1000 }))],
      ['PAGE_LOG_CHECKSUM', rootFor(encodePageLogAddress({ ...leafAddress, checksum: (leaf.checksum ^ 1) >>> 0 }))],
      ['ADDRESS_INVALID', rootFor(encodePageLogAddress({ ...leafAddress, pageId: 7 }))],
    ];
    try {
      for (const [code, root] of cases) {
        const sink = new FindingSink();
        const config = `id=40,block_manager=disagg,checkpoint=(WiredTigerCheckpoint.1=(addr="${root.toString('hex')}",order=1,time=0,size=0,write_gen=5))`;
        verifySharedTree({ handle, uri: 'file:x.wt', config }, sink);
        expect(sink.drain().map((f) => f.code), code || 'sound').to.deep.equal(code ? [code] : []);
      }
    } finally {
      await log.close();
    }
  });
});
