import { expect } from 'chai';
import { unreachableRecords, type ChainRecord } from './reachability.js';

function base(lsn: number): ChainRecord {
  return { lsn, resetsChain: true, isDiscard: false };
}
function delta(lsn: number): ChainRecord {
  return { lsn, resetsChain: false, isDiscard: false };
}
function discard(lsn: number): ChainRecord {
  return { lsn, resetsChain: true, isDiscard: true };
}

describe('page log reachability', () => {
  it('keeps the chain a kept checkpoint reads and removes the bases it superseded', () => {
    expect(unreachableRecords([base(1), base(3), delta(4), base(6)], [5])).to.deep.equal([1]);
  });

  it('removes a base rewritten before any kept checkpoint could read it', () => {
    expect(unreachableRecords([base(1), base(2), base(3)], [4])).to.deep.equal([1, 2]);
  });

  it('keeps one version per kept checkpoint', () => {
    expect(unreachableRecords([base(1), delta(2), base(4), delta(6)], [3, 5])).to.deep.equal([]);
    expect(unreachableRecords([base(1), delta(2), base(4), delta(6)], [5])).to.deep.equal([1, 2]);
  });

  it('keeps deltas read by a kept checkpoint and those newer than it', () => {
    expect(unreachableRecords([base(1), delta(2), delta(5)], [3])).to.deep.equal([]);
  });

  it('keeps every record newer than the newest kept checkpoint', () => {
    expect(unreachableRecords([base(5), base(6), discard(7)], [4])).to.deep.equal([]);
  });

  it('removes a discard that no longer hides any kept record, and what it hid', () => {
    expect(unreachableRecords([base(1), discard(2)], [3])).to.deep.equal([1, 2]);
    expect(unreachableRecords([base(1), discard(2), base(3), discard(4)], [2, 5])).to.deep.equal([1, 2, 3, 4]);
  });

  it('keeps the newest discard when an older kept record would otherwise show through', () => {
    expect(unreachableRecords([base(1), discard(3), base(4), discard(5)], [2, 6])).to.deep.equal([3, 4]);
  });

  it('keeps a discard that hides a record an older kept checkpoint reads', () => {
    expect(unreachableRecords([base(1), discard(3)], [2, 4])).to.deep.equal([]);
  });

  it('removes nothing when there is no kept checkpoint', () => {
    expect(unreachableRecords([base(1), base(2)], [])).to.deep.equal([]);
  });
});
