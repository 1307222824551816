import { expect } from 'chai';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatTurtle, parseTurtle, turtleValue } from '../../engine/format/index.js';
import { runReadPath, runShim, ShimProcess, type LogLine } from '../libs/index.js';
import { buildSampleHome, sampleDocuments, type SampleHome } from './sample_homes.js';
import type { StorageMode } from './structures.js';

/**
 * An existing home never opens as a new one, and the tool and the server judge a damaged turtle
 * file alike: a turtle that lost its metadata checkpoint, one with zeroed bytes, one whose
 * checksum fails beside an intact backup (which `--repair` restores, logged).
 */

const TURTLE = 'WiredTiger.turtle';
const BACKUP = 'WiredTiger.turtle.backup';

/** Flips the case bit of five letters of the metadata entry's `checkpoint=(` key: five bits. */
function flipFiveBitsOfTheCheckpointKey(bytes: Buffer): Buffer {
  const offset = bytes.indexOf(',checkpoint=(') + 1;
  expect(offset).to.be.above(0);
  for (let i = 0; i < 5; i++) bytes[offset + i]! ^= 0x20;
  return bytes;
}

async function serverStart(home: SampleHome, dbpath: string): Promise<{ exitCode: number | undefined; fatal: LogLine | undefined; shim: ShimProcess }> {
  const shim = new ShimProcess({ ...home.shimOptions, dbpath });
  try {
    await shim.start();
  } catch {
    return { exitCode: shim.exit?.exitCode, fatal: shim.logLines().find((line) => line.s === 'F'), shim };
  }
  return { exitCode: undefined, fatal: undefined, shim };
}

async function files(dbpath: string): Promise<string[]> {
  return (await readdir(dbpath)).filter((name) => name !== 'mongod.lock').sort();
}

describe('turtle file: an existing home never opens as a new one; tool and server agree', function () {
  this.timeout(180_000);
  const homes = new Map<StorageMode, SampleHome>();
  let work: string;
  let copies = 0;
  const started: ShimProcess[] = [];

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'jstest-turtle-'));
    for (const storage of ['local', 'disagg'] as const) homes.set(storage, await buildSampleHome(storage));
  });

  after(async () => {
    for (const shim of started) await shim.cleanup();
    for (const home of homes.values()) await home.cleanup();
    await rm(work, { recursive: true, force: true });
  });

  async function copyOf(storage: StorageMode): Promise<string> {
    const copy = join(work, `copy-${copies++}`);
    await cp(homes.get(storage)!.dbpath, copy, { recursive: true });
    return copy;
  }

  async function start(storage: StorageMode, dbpath: string): ReturnType<typeof serverStart> {
    const outcome = await serverStart(homes.get(storage)!, dbpath);
    started.push(outcome.shim);
    return outcome;
  }

  for (const storage of ['local', 'disagg'] as const) {
    it(`refuses a turtle whose checkpoint key lost five bits, written as WiredTiger writes it (no checksum, no backup): server exit 6 and verify exit 2 name what the home holds, and nothing new is created (${storage})`, async () => {
      const dbpath = await copyOf(storage);
      const text = flipFiveBitsOfTheCheckpointKey(await readFile(join(dbpath, TURTLE))).toString('utf8');
      await writeFile(join(dbpath, TURTLE), text.replace(/Turtle checksum\n[^\n]*\n/, ''));
      await rm(join(dbpath, BACKUP));
      const before = await files(dbpath);

      const verify = await runReadPath(['verify', dbpath]);
      expect(verify.exitCode).to.equal(2);
      expect(verify.stdout).to.contain('METADATA_CHECKPOINT_MISSING').and.to.contain('WiredTiger.wt holds');
      const server = await start(storage, dbpath);
      expect(server.exitCode).to.equal(6);
      expect(server.fatal?.attr?.engineErrorCode).to.equal('METADATA_CHECKPOINT_MISSING');
      expect(server.fatal?.msg).to.contain('names no checkpoint of WiredTiger.wt').and.to.contain('table files');
      if (storage === 'disagg') expect(server.fatal?.msg).to.contain('a page log');
      expect(await files(dbpath), 'no file was created beside the old ones').to.deep.equal(before);
    });

    it(`refuses a turtle with 64 zeroed bytes in every wt-readpath command (TURTLE_FILE_INVALID, exit 2) and in the server (exit 6, a FormatError) (${storage})`, async () => {
      const dbpath = await copyOf(storage);
      const bytes = await readFile(join(dbpath, TURTLE));
      bytes.fill(0, 300, 364);
      await writeFile(join(dbpath, TURTLE), bytes);
      await rm(join(dbpath, BACKUP));
      for (const command of [['verify'], ['list'], ['list', '-v'], ['dump', 'table:app.c'], ['stat'], ['turtle']]) {
        const result = await runReadPath([command[0]!, dbpath, ...command.slice(1)]);
        expect(result.exitCode, command.join(' ')).to.equal(2);
        expect(result.stdout + result.stderr, command.join(' ')).to.contain('TURTLE_FILE_INVALID').and.to.contain('NUL byte');
      }
      const server = await start(storage, dbpath);
      expect(server.exitCode).to.equal(6);
      expect(server.fatal?.msg).to.contain('turtle file holds a NUL byte').and.to.contain('WiredTiger.turtle');
      // The engine's error by its class's name, as the server's bundle keeps it.
      expect((server.fatal?.attr?.error as { name?: unknown } | undefined)?.name).to.equal('FormatError');
    });

    it(`refuses a turtle that fails its checksum beside an intact backup, saying --repair restores it; --repair restores it, logged, and the home serves its data again (${storage})`, async () => {
      const dbpath = await copyOf(storage);
      const bytes = await readFile(join(dbpath, TURTLE));
      bytes[bytes.indexOf('order=') + 6]! ^= 0x01;
      await writeFile(join(dbpath, TURTLE), bytes);

      const verify = await runReadPath(['verify', dbpath]);
      expect(verify.exitCode).to.equal(2);
      expect(verify.stdout).to.contain('TURTLE_FILE_INVALID').and.to.contain('checksum does not match').and.to.contain('--repair');
      const server = await start(storage, dbpath);
      expect(server.exitCode).to.equal(6);
      expect(server.fatal?.msg).to.contain('checksum does not match').and.to.contain('start with --repair');

      const repair = await runShim(['--dbpath', dbpath, '--port', '0', '--storage', storage, '--repair', ...(homes.get(storage)!.shimOptions.keyProvider ? ['--keyProvider', 'example'] : [])]);
      expect(repair.exitCode, repair.stdout.slice(-2000)).to.equal(0);
      const restored = repair.stdout.split('\n').filter((line) => line.includes('Restored WiredTiger.turtle from WiredTiger.turtle.backup'));
      expect(restored, 'the restore is logged').to.have.length(1);
      expect(restored[0]).to.contain('"c":"REPAIR"').and.to.contain('checksum does not match');
      expect(await readFile(join(dbpath, TURTLE), 'utf8')).to.equal(await readFile(join(dbpath, BACKUP), 'utf8'));

      expect((await runReadPath(['verify', dbpath])).exitCode).to.equal(0);
      const again = await start(storage, dbpath);
      expect(again.exitCode).to.equal(undefined);
      const client = await again.shim.client();
      expect(await client.db('app').collection('c').countDocuments({})).to.equal(sampleDocuments().length);
      await again.shim.stop();
    });
  }

  it('refuses a well-formed turtle (checksum recomputed) naming no metadata checkpoint, and --repair restores it from the backup that names one', async () => {
    const dbpath = await copyOf('local');
    const entry = turtleValue(parseTurtle(await readFile(join(dbpath, TURTLE), 'utf8')), 'file:WiredTiger.wt')!;
    await writeFile(join(dbpath, TURTLE), formatTurtle(entry.replace(/,checkpoint=\(.*?\)\),/, ',')));
    const server = await start('local', dbpath);
    expect(server.exitCode).to.equal(6);
    expect(server.fatal?.msg).to.contain('names no checkpoint').and.to.contain('start with --repair');
    const repair = await runShim(['--dbpath', dbpath, '--port', '0', '--storage', 'local', '--repair']);
    expect(repair.exitCode).to.equal(0);
    expect(repair.stdout).to.contain('Restored WiredTiger.turtle from WiredTiger.turtle.backup');
    const again = await start('local', dbpath);
    expect(again.exitCode).to.equal(undefined);
    expect(await (await again.shim.client()).db('app').collection('c').countDocuments({})).to.equal(sampleDocuments().length);
    await again.shim.stop();
  });

  it('warns of a damaged backup beside a sound turtle (verify exit 0, TURTLE_BACKUP_INVALID); the server starts, logs the rewrite and leaves a sound backup', async () => {
    const dbpath = await copyOf('disagg');
    const bytes = await readFile(join(dbpath, BACKUP));
    bytes[40]! ^= 0x04;
    await writeFile(join(dbpath, BACKUP), bytes);
    const verify = await runReadPath(['verify', dbpath]);
    expect(verify.exitCode).to.equal(0);
    expect(verify.stdout).to.contain('warning TURTLE_BACKUP_INVALID');
    expect((await runReadPath(['verify', dbpath, '--strict'])).exitCode).to.equal(2);
    const server = await start('disagg', dbpath);
    expect(server.exitCode).to.equal(undefined);
    const rewrite = server.shim.logLines().find((line) => line.msg === 'Rewrote the turtle file backup');
    expect(rewrite?.s).to.equal('W');
    expect(rewrite?.attr?.found).to.equal('invalid');
    await server.shim.stop();
    expect((await runReadPath(['verify', dbpath, '--strict'])).exitCode).to.equal(0);
  });

  it('leaves a sound turtle alone under --repair and logs no restore', async () => {
    const dbpath = await copyOf('local');
    const before = await readFile(join(dbpath, TURTLE), 'utf8');
    const repair = await runShim(['--dbpath', dbpath, '--port', '0', '--storage', 'local', '--repair']);
    expect(repair.exitCode).to.equal(0);
    expect(repair.stdout).not.to.contain('Restored WiredTiger.turtle');
    const after = await readFile(join(dbpath, TURTLE), 'utf8');
    expect(turtleValue(parseTurtle(after), 'file:WiredTiger.wt')).to.not.equal(undefined);
    expect(before.length).to.be.above(0);
  });
});
