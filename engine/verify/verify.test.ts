import { expect } from 'chai';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConnectionConfig } from '../api.js';
import { EngineError, ErrorCode } from '../errors.js';
import { repair, type ConnectionImpl } from '../index.js';
import { testHomes } from '../testing/homes.js';
import * as verify from './index.js';
import { collectReport, verifyHome, verifyTable, type Finding } from './index.js';
import { copyFixture, FIXTURE_HOMES, FIXTURES, writeSampleHome as writeHome } from './testing.js';

const errorsOf = (findings: Finding[]): Finding[] => findings.filter((f) => f.severity === 'error');

describe('verify: public entry', () => {
  it('exports exactly the documented values', () => {
    expect(Object.keys(verify).sort()).to.deep.equal([
      'FileSource', 'FindingCode', 'FindingSink', 'HomeReader', 'KEY_PROVIDER_PAGE_ID', 'METADATA_URI', 'PAGE_LOG_DIRECTORY',
      'PageLogSource', 'SHARED_METADATA_URI', 'TURTLE_PAGE_ID', 'TreeWalker', 'allocationSizeOf', 'checkCompletion',
      'checkpointName', 'checkpointsOf', 'collectReport', 'decodeMetadataString', 'describeLocation', 'emptyStats',
      'formatFinding', 'isSharedFileConfig', 'logRecords', 'recordAt', 'requireHome', 'verifyHome', 'verifyTable',
    ]);
  });
});

describe('verify: homes WiredTiger wrote', () => {
  for (const name of FIXTURE_HOMES) {
    it(`finds nothing wrong in the ${name} fixture`, async () => {
      const report = await collectReport(verifyHome(join(FIXTURES, name, 'home')));
      expect(report.findings).to.deep.equal([]);
      expect(report.stats.trees).to.equal(2);
      expect(report.stats.records).to.be.above(10);
    });
  }

  it('verifies one table of a fixture by table, file and bare name', async () => {
    const home = join(FIXTURES, 'records', 'home');
    for (const uri of ['table:records', 'file:records.wt', 'records']) {
      const report = await collectReport(verifyTable(home, uri));
      expect(report.findings, uri).to.deep.equal([]);
      expect(report.stats.records, uri).to.equal(499 + 6);
    }
  });

  describe('after one byte of a page is flipped', () => {
    const homes = testHomes('verify-flip-');

    for (const file of ['strings.wt', 'WiredTiger.wt', 'WiredTigerHS.wt']) {
      it(`reports a flip anywhere in a block of ${file}: an error where a checkpoint reads, a warning in free space`, async function () {
        // Hundreds of whole-home verifications: slow on a loaded machine, never stuck.
        this.timeout(300_000);
        const home = copyFixture('small', await homes.directory());
        const path = join(home, file);
        const original = readFileSync(path);
        const missed: number[] = [];
        // Every 13th byte of every non-empty allocation unit, and every byte of each header.
        for (let unit = 0; unit < original.length; unit += 4096) {
          if (original.subarray(unit, unit + 4096).every((b) => b === 0) && unit > 0) continue;
          for (let i = 0; i < 4096; i += i < 64 ? 1 : 13) {
            const copy = Buffer.from(original);
            copy[unit + i] = copy[unit + i]! ^ 0xa5;
            writeFileSync(path, copy);
            const report = await collectReport(verifyHome(home));
            const inFreeSpace = report.findings.some((f) => f.code === 'FREE_SPACE_DAMAGED');
            if (report.errors === 0 && !inFreeSpace) missed.push(unit + i);
          }
        }
        writeFileSync(path, original);
        expect(missed, `undetected flips at ${missed.slice(0, 10).join(', ')}`).to.deep.equal([]);
      });
    }
  });

  describe('locations', () => {
    const homes = testHomes('verify-location-');

    it('names the file and the block of a damaged leaf', async () => {
      const home = copyFixture('small', await homes.directory());
      const path = join(home, 'strings.wt');
      const bytes = readFileSync(path);
      bytes[4096 + 100] = bytes[4096 + 100]! ^ 1;
      writeFileSync(path, bytes);
      const report = await collectReport(verifyHome(home));
      expect(report.findings.map((f) => [f.code, f.location.file, f.location.uri, f.location.offset])).to.deep.equal([
        ['BLOCK_CHECKSUM', 'strings.wt', 'file:strings.wt', 4096 + 32],
      ]);
    });
  });
});

describe('verify: homes the engine writes', () => {
  const homes = testHomes('verify-engine-');

  for (const [label, config] of [
    ['local', { storage: 'local' }],
    ['disaggregated', { storage: 'disagg' }],
    ['disaggregated with the example key provider', { storage: 'disagg', keyProvider: 'example' }],
  ] as Array<[string, ConnectionConfig]>) {
    it(`finds nothing wrong in a ${label} home`, async () => {
      const home = await homes.directory();
      const connection = await writeHome(homes.open, home, config);
      await connection.close();
      const report = await collectReport(verifyHome(home));
      expect(report.findings).to.deep.equal([]);
      expect(report.stats.records).to.be.at.least(2000);
      if (config.storage === 'disagg') expect(report.stats.logRecords).to.be.above(0);
    });

    it(`verifies a table of an open ${label} connection without disturbing it`, async () => {
      const home = await homes.directory();
      const connection = await writeHome(homes.open, home, config);
      const first = await collectReport(verifyTable(connection, 'table:t'));
      expect(first.findings).to.deep.equal([]);
      expect(first.stats.records).to.equal(2000);
      const cursor = connection.openSession().openCursor('table:t');
      cursor.put('key999999', 'after verify');
      await connection.checkpoint();
      const second = await collectReport(verifyTable(connection, 'table:t'));
      expect(second.findings).to.deep.equal([]);
      expect(second.stats.records).to.equal(2001);
      expect(cursor.get('key000007')).to.equal('rewritten-7');
    });
  }

  it('finds nothing wrong with an empty table and a table emptied by removes', async () => {
    for (const storage of ['local', 'disagg'] as const) {
      const home = await homes.directory();
      const connection = await homes.open(home, { storage });
      connection.createTable('table:empty', 'key_format=S,value_format=S');
      connection.createTable('table:emptied', 'key_format=S,value_format=S');
      const cursor = connection.openSession().openCursor('table:emptied');
      cursor.put('a', 'b');
      await connection.checkpoint();
      cursor.remove('a');
      await connection.checkpoint();
      await connection.close();
      const report = await collectReport(verifyHome(home));
      expect(report.findings, storage).to.deep.equal([]);
    }
  });

  it('throws NOT_FOUND for a table that does not exist, on a home and on a connection', async () => {
    const home = await homes.directory();
    const connection = await writeHome(homes.open, home, { storage: 'local' });
    for (const target of [connection, home]) {
      if (target === home) await connection.close();
      let thrown: unknown;
      try {
        await collectReport(verifyTable(target, 'table:missing'));
      } catch (error) {
        thrown = error;
      }
      expect(thrown).to.be.instanceOf(EngineError);
      expect((thrown as EngineError).code).to.equal(ErrorCode.NotFound);
    }
  });

  it('throws MISSING_FILE, before any finding, for a directory that is not a home', async () => {
    const empty = await homes.directory();
    for (const target of [empty, join(empty, 'absent')]) {
      let thrown: unknown;
      try {
        await collectReport(verifyHome(target));
      } catch (error) {
        thrown = error;
      }
      expect((thrown as EngineError).code).to.equal(ErrorCode.MissingFile);
    }
  });

  it('reports two tables sharing a file id', async () => {
    for (const storage of ['local', 'disagg'] as const) {
      const home = await homes.directory();
      const connection = await homes.open(home, { storage });
      connection.createTable('table:a', 'key_format=S,value_format=S');
      connection.createTable('table:b', 'key_format=S,value_format=S');
      connection.openSession().openCursor('table:a').put('k', 'v');
      await connection.checkpoint();
      const id = connection.getTable('table:a').id;
      await repair.injectIdCollision(connection as ConnectionImpl, 'table:a', 'table:b');
      await connection.close();
      const report = await collectReport(verifyHome(home));
      const duplicate = report.findings.filter((f) => f.code === 'FILE_ID_DUPLICATE');
      expect(duplicate, storage).to.have.length(1);
      expect(duplicate[0]!.location.tableId).to.equal(id);
      expect(duplicate[0]!.message).to.contain('file:a.wt').and.contain('file:b.wt');
    }
  });

  it('reports a table file that is missing and warns about one no entry names', async () => {
    const home = await homes.directory();
    const connection = await writeHome(homes.open, home, { storage: 'local' });
    await connection.close();
    cpSync(join(home, 't.wt'), join(home, 'stray.wt'));
    rmSync(join(home, 't.wt'));
    const report = await collectReport(verifyHome(home));
    expect(report.findings.map((f) => `${f.severity} ${f.code} ${f.location.file}`).sort()).to.deep.equal([
      'error FILE_MISSING t.wt',
      'warning FILE_UNREFERENCED stray.wt',
    ]);
  });

  it('never throws on a metadata file full of garbage', async () => {
    const home = await homes.directory();
    const connection = await writeHome(homes.open, home, { storage: 'local' });
    await connection.close();
    const size = readFileSync(join(home, 'WiredTiger.wt')).length;
    let seed = 12345;
    const garbage = Buffer.alloc(size, 0).map(() => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed & 0xff;
    });
    writeFileSync(join(home, 'WiredTiger.wt'), garbage);
    const report = await collectReport(verifyHome(home));
    expect(errorsOf(report.findings).length).to.be.above(0);
    expect(report.findings.every((f) => f.location.file !== undefined || f.location.uri !== undefined)).to.equal(true);
  });
});
