import { Timestamp } from 'bson';
import { expect } from 'chai';
import { Logger, logTimestamp, memorySink } from './index.js';

describe('log: structured JSON lines', () => {
  it('writes mongod-shaped objects, one per line', () => {
    const sink = memorySink();
    const logger = Logger.create({ sink }, 'initandlisten');
    logger.withContext('listener').info('NETWORK', 23016, 'Waiting for connections', { port: 27017, ssl: 'off' });
    const line = JSON.parse(sink.lines[0]!) as Record<string, unknown>;
    expect(Object.keys(line)).to.deep.equal(['t', 's', 'c', 'id', 'ctx', 'msg', 'attr']);
    expect(line).to.deep.include({ s: 'I', c: 'NETWORK', id: 23016, ctx: 'listener', msg: 'Waiting for connections', attr: { port: 27017, ssl: 'off' } });
    expect((line.t as { $date: string }).$date).to.match(/^\d{4}-\d\d-\d\dT/);
  });

  it('writes each line\'s time as toISOString does, to the millisecond', () => {
    const samples = [0, Date.UTC(2026, 11, 7, 9, 5, 3, 7), Date.UTC(1999, 0, 1, 0, 0, 0, 90), Date.UTC(9999, 11, 31, 23, 59, 59, 999), Date.now()];
    samples.push(Date.UTC(999, 11, 31, 23, 59, 59, 999), Date.UTC(10000, 0, 1), Date.UTC(-1, 0, 1), -8.64e15, 8.64e15);
    for (let i = 0; i < 2000; i += 1) samples.push(Math.floor((Math.random() * 2 - 1) * 4e14));
    for (const millis of samples) expect(logTimestamp(new Date(millis)), String(millis)).to.equal(new Date(millis).toISOString());
    expect(() => logTimestamp(new Date(NaN))).to.throw(RangeError);
    const sink = memorySink();
    const before = Date.now();
    Logger.create({ sink }).info('CONTROL', 1, 'now');
    const written = Date.parse((JSON.parse(sink.lines[0]!) as { t: { $date: string } }).t.$date);
    expect(written).to.be.within(before, Date.now());
  });

  it('drops debug lines above the verbosity and keeps recent lines for getLog', () => {
    const sink = memorySink();
    const logger = Logger.create({ sink, recentLineCount: 2 });
    logger.debug('COMMAND', 1, 'hidden');
    logger.verbosity = 1;
    logger.debug('COMMAND', 2, 'shown');
    logger.warning('COMMAND', 3, 'three');
    logger.error('COMMAND', 4, 'four');
    expect(sink.lines.map((line) => (JSON.parse(line) as { s: string }).s)).to.deep.equal(['D1', 'W', 'E']);
    expect(logger.recentLines()).to.have.length(2);
    expect(logger.totalLinesWritten).to.equal(3);
  });

  it('never writes buffer bytes (they may hold keys)', () => {
    const sink = memorySink();
    Logger.create({ sink }).info('STORAGE', 1, 'blob', { key: Buffer.from('secret') });
    expect(sink.lines[0]).to.not.include('secret');
    expect(sink.lines[0]).to.include('$binaryLength');
  });

  it('writes timestamps as mongod does, seconds and increment apart', () => {
    const sink = memorySink();
    Logger.create({ sink }).info('RESTORE', 1, 'restored', { restorePoint: new Timestamp({ t: 4_000_000_000, i: 7 }) });
    expect((JSON.parse(sink.lines[0]!) as { attr: unknown }).attr).to.deep.equal({ restorePoint: { $timestamp: { t: 4_000_000_000, i: 7 } } });
  });
});
