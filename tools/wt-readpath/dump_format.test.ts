import { expect } from 'chai';
import { collapseConfig, CREATE_DEFAULTS, dumpItem, dumpUri } from './dump_format.js';

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

  it('reads a bare name as a table', () => {
    expect(dumpUri('orders')).to.equal('table:orders');
    expect(dumpUri('file:orders.wt')).to.equal('file:orders.wt');
  });
});
