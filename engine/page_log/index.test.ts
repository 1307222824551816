import { expect } from 'chai';
import * as pageLog from './index.js';

describe('page log public entry', () => {
  it('exports exactly the documented values', () => {
    expect(Object.keys(pageLog).sort()).to.deep.equal([
      'DEFAULT_LEASE_MS',
      'KEY_PROVIDER_TABLE_ID',
      'MAX_DELTAS_PER_CHAIN',
      'MIN_USER_PAGE_ID',
      'PutFlags',
      'SHARED_METADATA_TABLE_ID',
      'TURTLE_PAGE_TABLE_ID',
      'displayLocation',
      'embeddedStoreDataFile',
      'openPageLog',
      'parseStoreLocation',
      'probePageLog',
      'resolveLocation',
    ]);
  });

  it('reserves the table ids WiredTiger reserves', () => {
    expect(pageLog.TURTLE_PAGE_TABLE_ID).to.equal(2);
    expect(pageLog.SHARED_METADATA_TABLE_ID).to.equal(10);
    expect(pageLog.KEY_PROVIDER_TABLE_ID).to.equal(26);
    expect(pageLog.MIN_USER_PAGE_ID).to.equal(100);
    expect(pageLog.PutFlags).to.deep.equal({ Delta: 0x1 });
    expect(pageLog.MAX_DELTAS_PER_CHAIN).to.equal(32);
  });
});
