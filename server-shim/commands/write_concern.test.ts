import { expect } from 'chai';
import { Double, Int32, Long } from 'bson';
import { CommandError } from '../errors/index.js';
import { checkWriteConcernForStandalone, parseWriteConcern, unsatisfiableReason, waitsForDurability, writeConcernDocument } from './write_concern.js';

function refusal(value: unknown): { code: number; message: string } {
  try {
    parseWriteConcern(value);
  } catch (error) {
    expect(error).to.be.instanceOf(CommandError);
    return { code: (error as CommandError).code, message: (error as CommandError).message };
  }
  throw new Error(`${JSON.stringify(value)} was accepted`);
}

describe('commands: write concern parsing', () => {
  it('gives the default for a missing or empty write concern', () => {
    expect(parseWriteConcern(undefined)).to.deep.include({ w: 1, wtimeout: 0, clientSupplied: false });
    expect(parseWriteConcern({})).to.deep.include({ w: 1, clientSupplied: false });
  });

  it('reads w as a count of any numeric type or a mode, j and fsync as booleans or numbers, wtimeout as a number', () => {
    expect(parseWriteConcern({ w: new Int32(0) }).w).to.equal(0);
    expect(parseWriteConcern({ w: Long.fromNumber(50) }).w).to.equal(50);
    expect(parseWriteConcern({ w: new Double(3) }).w).to.equal(3);
    expect(parseWriteConcern({ w: 'majority' }).w).to.equal('majority');
    expect(parseWriteConcern({ j: 1 }).j).to.equal(true);
    expect(parseWriteConcern({ fsync: 0 }).fsync).to.equal(false);
    expect(parseWriteConcern({ wtimeout: Long.fromNumber(250) }).wtimeout).to.equal(250);
    expect(parseWriteConcern({ w: 1, getLastError: 1, provenance: 'clientSupplied' })).to.deep.include({ w: 1, clientSupplied: true });
  });

  it('refuses what mongod refuses, with its codes', () => {
    expect(refusal({ w: -1 }).code).to.equal(9);
    expect(refusal({ w: 51 }).code).to.equal(9);
    expect(refusal({ w: 1.5 }).code).to.equal(9);
    expect(refusal({ w: null }).code).to.equal(9);
    expect(refusal({ j: true, fsync: true })).to.deep.equal({ code: 9, message: 'fsync and j options cannot be used together' });
    expect(refusal({ j: 'true' }).code).to.equal(14);
    expect(refusal({ fsync: {} }).code).to.equal(14);
    expect(refusal({ wtimeout: true }).code).to.equal(14);
    expect(refusal('majority').code).to.equal(14);
    expect(refusal([1]).code).to.equal(14);
  });

  it('tells which write concerns wait for durability and which a one-member set cannot satisfy', () => {
    expect(waitsForDurability(parseWriteConcern({ w: 1 }))).to.equal(false);
    expect(waitsForDurability(parseWriteConcern({ j: false, w: 'majority' }))).to.equal(true);
    expect(waitsForDurability(parseWriteConcern({ fsync: true }))).to.equal(true);
    expect(unsatisfiableReason(parseWriteConcern({ w: 1 }))).to.equal(undefined);
    expect(unsatisfiableReason(parseWriteConcern({ w: 2 }))?.code).to.equal(100);
    expect(unsatisfiableReason(parseWriteConcern({ w: 'dc1' }))?.code).to.equal(79);
    expect(unsatisfiableReason(parseWriteConcern({ w: 'majority' }))).to.equal(undefined);
    expect(() => checkWriteConcernForStandalone(parseWriteConcern({ w: 2 }))).to.throw(CommandError).with.property('code', 2);
    expect(() => checkWriteConcernForStandalone(parseWriteConcern({ w: 'majority' }))).to.not.throw();
    expect(writeConcernDocument(parseWriteConcern({ w: 3, j: true, wtimeout: 10 }))).to.deep.include({ w: 3, j: true, provenance: 'clientSupplied' });
  });
});
