import { expect } from 'chai';
import { CommandError } from '../errors/index.js';
import { CursorManager } from './index.js';

function* numbers(count: number): Generator<Record<string, unknown>> {
  for (let index = 0; index < count; index += 1) yield { index };
}

describe('cursors: CursorManager', () => {
  it('hands out batches and reports exhaustion on the last one', () => {
    const cursors = new CursorManager();
    const cursor = cursors.open(numbers(5), { ns: 'db.c' });
    expect(cursor.takeBatch(2)).to.deep.equal({ documents: [{ index: 0 }, { index: 1 }], exhausted: false });
    expect(cursor.takeBatch(3)).to.deep.equal({ documents: [{ index: 2 }, { index: 3 }, { index: 4 }], exhausted: true });
  });

  it('refuses a getMore on another namespace and an unknown id', () => {
    const cursors = new CursorManager();
    const cursor = cursors.open(numbers(5), { ns: 'db.c' });
    expect(() => cursors.get(cursor.id, 'db.other')).to.throw(CommandError).with.property('code', 13);
    cursors.kill(cursor.id);
    expect(() => cursors.get(cursor.id, 'db.c')).to.throw(CommandError).with.property('code', 43);
  });

  it('sweeps idle cursors but not those opened with noCursorTimeout', () => {
    const cursors = new CursorManager();
    const idle = cursors.open(numbers(5), { ns: 'db.c' });
    const kept = cursors.open(numbers(5), { ns: 'db.c', noTimeout: true });
    const expired = cursors.sweep(1000, Date.now() + 5000);
    expect(expired).to.deep.equal([idle.id.toString()]);
    expect(cursors.has(kept.id)).to.equal(true);
  });

  it('kills the cursors of ended sessions', () => {
    const cursors = new CursorManager();
    cursors.open(numbers(5), { ns: 'db.c', sessionId: 'aa' });
    cursors.open(numbers(5), { ns: 'db.c', sessionId: 'bb' });
    expect(cursors.killSessions(new Set(['aa']))).to.equal(1);
    expect(cursors.size).to.equal(1);
  });

  it('keeps a cursor opened with keepOpenWhenExhausted open with empty batches, and calls onClose once however it closes', () => {
    const cursors = new CursorManager();
    let closes = 0;
    const held = cursors.open(numbers(2), { ns: 'admin.$cmd.aggregate', keepOpenWhenExhausted: true, onClose: () => (closes += 1) });
    expect(held.takeBatch(5)).to.deep.equal({ documents: [{ index: 0 }, { index: 1 }], exhausted: false });
    expect(held.takeBatch(5)).to.deep.equal({ documents: [], exhausted: false });
    expect(cursors.sweep(1000, Date.now() + 5000)).to.deep.equal([held.id.toString()]);
    held.close();
    expect(closes).to.equal(1);
    const killed = cursors.open(numbers(1), { ns: 'db.c', onClose: () => (closes += 1) });
    cursors.kill(killed.id);
    const atShutdown = cursors.open(numbers(1), { ns: 'db.c', sessionId: 'cc', onClose: () => (closes += 1) });
    cursors.closeAll();
    expect(cursors.has(atShutdown.id)).to.equal(false);
    expect(closes).to.equal(3);
  });
});
