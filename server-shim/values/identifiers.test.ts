import { expect } from 'chai';
import { newObjectId, newUuid } from './index.js';

describe('identifiers the server makes', () => {
  it('ObjectIds carry their creation second and 8 bytes that differ between any two', () => {
    const before = Math.floor(Date.now() / 1000);
    const ids = Array.from({ length: 2000 }, () => newObjectId());
    const after = Math.floor(Date.now() / 1000);
    for (const id of ids) expect(id.getTimestamp().getTime() / 1000).to.be.within(before, after);
    expect(new Set(ids.map((id) => id.toHexString().slice(8))).size).to.equal(ids.length);
  });

  it('UUIDs are random (version 4) ones', () => {
    const uuids = Array.from({ length: 2000 }, () => newUuid().toHexString(false));
    for (const uuid of uuids) expect(uuid).to.match(/^[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}$/);
    expect(new Set(uuids).size).to.equal(uuids.length);
  });
});
