import { expect } from 'chai';
import { LogId } from './index.js';

describe('log: ids', () => {
  it('gives every kind of line its own id, so a test or a log search that looks for one id finds only that line', () => {
    const byId = new Map<number, string[]>();
    for (const [name, id] of Object.entries(LogId)) byId.set(id, [...(byId.get(id) ?? []), name]);
    const shared = [...byId.entries()].filter(([, names]) => names.length > 1).map(([id, names]) => `${id}: ${names.join(', ')}`);
    expect(shared).to.deep.equal([]);
  });
});
