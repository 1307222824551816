import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Document } from 'mongodb';
import { parseLogLines, runReadPath, runShim, shimsPerTest, type LogLine, type ShimProcess } from '../libs/index.js';
import { chooseSeed, seededRandomFrom } from '../libs/seeded_random.js';

/** Every file of the dbpath with the hash of its bytes (the lock files aside). */
function snapshot(directory: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(join(directory, prefix))) {
    const path = join(directory, prefix, name);
    if (statSync(path).isDirectory()) Object.assign(out, snapshot(directory, join(prefix, name)));
    else if (name !== 'lock.mdb' && name !== 'mongod.lock') out[join(prefix, name)] = createHash('sha256').update(readFileSync(path)).digest('hex');
  }
  return out;
}

function wtFiles(dbpath: string): string[] {
  return readdirSync(dbpath).filter((name) => name.endsWith('.wt')).sort();
}

function repairLines(lines: LogLine[], msg: string): LogLine[] {
  return lines.filter((line) => line.c === 'REPAIR' && line.msg === msg);
}

for (const storage of ['local', 'disagg'] as const) {
  describe(`orphan files are reported by detect and verify and removed by --repair (${storage})`, function () {
    this.timeout(120_000);
    const shims = shimsPerTest();

    // A collection whose table has a file: every collection in local mode, the `local`
    // database's in disaggregated mode (the others live in the page log).
    const filedDb = storage === 'local' ? 'shop' : 'local';

    /**
     * Makes the server die (SIGKILL) in the next create of a collection with a file, once the
     * file is made and before any metadata entry names it or the journal holds anything of it:
     * the orphan a kill -9 at that point of a create leaves. Returns the files it left.
     */
    async function crashDuringCreate(shim: ShimProcess, collection: string): Promise<string[]> {
      const before = wtFiles(shim.dbpath);
      const client = await shim.client();
      await client.db('admin').command({ injectFault: 'crashAfterTableFile' });
      const insert = await client.db(filedDb).collection(collection).insertOne({ _id: 'lost' } as never).then(() => 'acknowledged', () => 'cut');
      expect(insert, 'the create died before it could be acknowledged').to.equal('cut');
      expect((await shim.waitForExit()).signal).to.equal('SIGKILL');
      return wtFiles(shim.dbpath).filter((name) => !before.includes(name));
    }

    /**
     * A stopped dbpath holding data and orphan files: one left by a server that died during a
     * create between the table's file and its metadata entry, one `.wt` file planted where such
     * a crash would leave one.
     */
    async function homeWithOrphans(): Promise<{ shim: ShimProcess; orphans: string[] }> {
      const shim = await shims.launch({ storage, setParameters: { checkpointIntervalSecs: 0, enableRepairCommands: 1, enableTestCommands: 1 } });
      const client = await shim.client();
      await client.db('shop').collection('kept').insertMany([{ _id: 1 }, { _id: 2 }] as never[]);
      await client.db('admin').command({ fsync: 1 });
      const fromCrash = await crashDuringCreate(shim, 'interrupted');
      expect(fromCrash, 'the killed create left its file').to.deep.equal([`${filedDb}.interrupted.wt`]);
      writeFileSync(join(shim.dbpath, 'planted.wt'), Buffer.alloc(8192, 0x11));
      return { shim, orphans: [...fromCrash, 'planted.wt'].sort() };
    }

    it('warns of them in verify (exit 0; 2 with --strict), lists them in detect, and the server still starts', async () => {
      const { shim, orphans } = await homeWithOrphans();
      const verify = await runReadPath(['verify', shim.dbpath, '--json']);
      expect(verify.exitCode, verify.stderr).to.equal(0);
      const unreferenced = (JSON.parse(verify.stdout) as { findings: Array<{ severity: string; code: string; location: { file: string } }> }).findings
        .filter((f) => f.code === 'FILE_UNREFERENCED');
      expect(unreferenced.map((f) => f.location.file).sort()).to.deep.equal(orphans);
      expect(unreferenced.every((f) => f.severity === 'warning')).to.equal(true);
      expect((await runReadPath(['verify', shim.dbpath, '--strict'])).exitCode).to.equal(2);

      await shim.start();
      const client = await shim.client();
      const { findings } = await client.db('admin').command({ repairMetadata: 1, action: 'detect' });
      const orphanFindings = (findings as Document[]).filter((f) => f.kind === 'orphanFile').map((f) => f.file as string).sort();
      expect(orphanFindings).to.deep.equal(orphans);
      expect(await client.db('shop').collection('kept').countDocuments()).to.equal(2);
      // The interrupted create left no collection; one of that name is created again beside its orphan.
      expect(await client.db(filedDb).collection('interrupted').countDocuments()).to.equal(0);
      await client.db(filedDb).collection('interrupted').insertOne({ _id: 'again' } as never);
      expect(await client.db(filedDb).collection('interrupted').countDocuments()).to.equal(1);
      await shim.stop();
      for (const orphan of orphans) expect(existsSync(join(shim.dbpath, orphan)), `${orphan} is never removed silently`).to.equal(true);
    });

    it('restarts after a kill -9 between a create\'s file and its metadata, three times over: each orphan keeps its name and blocks nothing', async () => {
      const shim = await shims.launch({ storage, setParameters: { checkpointIntervalSecs: 0, enableTestCommands: 1 } });
      await (await shim.client()).db('admin').command({ fsync: 1 });
      const left: string[] = [];
      for (let round = 0; round < 3; round += 1) {
        left.push(...(await crashDuringCreate(shim, 'interrupted')));
        await shim.start();
      }
      expect(left, 'each crash left one file of its own name').to.have.length(3);
      expect(new Set(left).size).to.equal(3);
      const client = await shim.client();
      expect(await client.db(filedDb).collection('interrupted').countDocuments()).to.equal(0);
      await client.db(filedDb).collection('interrupted').insertOne({ _id: 'kept' } as never);
      await shim.stop();
      const verify = await runReadPath(['verify', shim.dbpath, '--json']);
      const unreferenced = (JSON.parse(verify.stdout) as { findings: Array<{ code: string; location: { file: string } }> }).findings
        .filter((f) => f.code === 'FILE_UNREFERENCED').map((f) => f.location.file);
      expect(unreferenced.sort(), `files left: ${left.join(', ')}`).to.deep.equal([...left].sort());
      expect(verify.exitCode).to.equal(0);
      await shim.start();
      expect(await (await shim.client()).db(filedDb).collection('interrupted').find().toArray()).to.deep.equal([{ _id: 'kept' }]);
      await shim.stop();
    });

    it('replays from the journal a create no checkpoint holds after a kill -9: its collection, file and documents come back, and no file is left unreferenced', async () => {
      const shim = await shims.launch({ storage, setParameters: { checkpointIntervalSecs: 0, enableRepairCommands: 1 } });
      let client = await shim.client();
      await client.db('admin').command({ fsync: 1 });
      const before = wtFiles(shim.dbpath);
      await client.db(filedDb).collection('replayed').insertOne({ _id: 'journaled' } as never, { writeConcern: { j: true } });
      await client.db('shop').collection('replayedShared').insertOne({ _id: 'journaled' } as never, { writeConcern: { j: true } });
      const created = wtFiles(shim.dbpath).filter((name) => !before.includes(name));
      expect(created).to.include(`${filedDb}.replayed.wt`);
      expect((await shim.kill()).signal).to.equal('SIGKILL');
      await shim.start();
      client = await shim.client();
      expect(await client.db(filedDb).collection('replayed').find().toArray()).to.deep.equal([{ _id: 'journaled' }]);
      expect(await client.db('shop').collection('replayedShared').find().toArray()).to.deep.equal([{ _id: 'journaled' }]);
      const { findings } = await client.db('admin').command({ repairMetadata: 1, action: 'detect' });
      expect((findings as Document[]).filter((f) => f.kind === 'orphanFile')).to.deep.equal([]);
      const listed = await client.db(filedDb).command({ listCollections: 1, filter: { name: 'replayed' } });
      const uri = (((listed.cursor as Document).firstBatch as Document[])[0]!.info as Document).uri as string;
      expect(uri).to.equal(`table:${filedDb}.replayed`);
      await shim.stop();
      for (const name of created) expect(existsSync(join(shim.dbpath, name)), name).to.equal(true);
      const strict = await runReadPath(['verify', shim.dbpath, '--strict']);
      expect(strict.exitCode, strict.stdout + strict.stderr).to.equal(0);
    });

    it('restarts after kill -9 at seeded moments during repairMetadata create; --repair removes what the crashes left, and verify --strict is clean', async () => {
      const random = seededRandomFrom(chooseSeed());
      const shim = await shims.launch({ storage, setParameters: { checkpointIntervalSecs: 0, enableRepairCommands: 1 } });
      const rounds = 6;
      for (let round = 0; round < rounds; round += 1) {
        const client = await shim.client();
        const reply = client.db('admin').command({ repairMetadata: 1, action: 'create', uri: `table:spot_${round}`, config: 'key_format=S,value_format=u', local: true })
          .then(() => 'done', () => 'cut');
        await new Promise((resolve) => setTimeout(resolve, random.between(0, 30)));
        await shim.kill();
        await reply;
        await shim.start();
      }
      const client = await shim.client();
      const { findings } = await client.db('admin').command({ repairMetadata: 1, action: 'detect' });
      const orphans = (findings as Document[]).filter((f) => f.kind === 'orphanFile').map((f) => f.file as string);
      expect((findings as Document[]).filter((f) => f.kind !== 'orphanFile' && f.kind !== 'brokenChain'), `seed ${random.seed}`).to.deep.equal([]);
      await shim.stop();
      const verify = await runReadPath(['verify', shim.dbpath, '--json']);
      expect(verify.exitCode, `seed ${random.seed}: ${verify.stdout.slice(-2000)}`).to.equal(0);
      const warned = (JSON.parse(verify.stdout) as { findings: Array<{ code: string; location: { file: string } }> }).findings
        .filter((f) => f.code === 'FILE_UNREFERENCED').map((f) => f.location.file);
      expect(warned.sort(), `seed ${random.seed}`).to.deep.equal(orphans.sort());

      const repair = await runShim(['--dbpath', shim.dbpath, '--storage', storage, '--repair'], { timeoutMs: 60_000 });
      expect(repair.exitCode, repair.stdout.slice(-3000)).to.equal(0);
      expect(repairLines(parseLogLines(repair.stdout), 'Removed an orphan file').map((l) => l.attr?.file).sort()).to.deep.equal(orphans.sort());
      const strict = await runReadPath(['verify', shim.dbpath, '--strict']);
      expect(strict.exitCode, `seed ${random.seed}: ${strict.stdout}${strict.stderr}`).to.equal(0);
    });

    it('--repair --dryRun logs every orphan and the removal it would make, changes nothing and exits 0; --repair then removes them', async () => {
      const { shim, orphans } = await homeWithOrphans();
      const before = snapshot(shim.dbpath);
      const dryRun = await runShim(['--dbpath', shim.dbpath, '--storage', storage, '--repair', '--dryRun'], { timeoutMs: 60_000 });
      expect(dryRun.exitCode, dryRun.stdout.slice(-3000)).to.equal(0);
      const dryLines = parseLogLines(dryRun.stdout);
      expect(repairLines(dryLines, 'Repair finding').filter((l) => l.attr?.kind === 'orphanFile').map((l) => l.attr?.file).sort()).to.deep.equal(orphans);
      expect(repairLines(dryLines, 'Would remove an orphan file').map((l) => l.attr?.file).sort()).to.deep.equal(orphans);
      expect(repairLines(dryLines, 'Removed an orphan file')).to.deep.equal([]);
      expect(snapshot(shim.dbpath), 'a dry run changes no file').to.deep.equal(before);

      const repair = await runShim(['--dbpath', shim.dbpath, '--storage', storage, '--repair'], { timeoutMs: 60_000 });
      expect(repair.exitCode, repair.stdout.slice(-3000)).to.equal(0);
      expect(repairLines(parseLogLines(repair.stdout), 'Removed an orphan file').map((l) => l.attr?.file).sort()).to.deep.equal(orphans);
      for (const orphan of orphans) expect(existsSync(join(shim.dbpath, orphan)), orphan).to.equal(false);

      const verify = await runReadPath(['verify', shim.dbpath, '--strict']);
      expect(verify.exitCode, verify.stdout + verify.stderr).to.equal(0);
      await shim.start();
      expect(await (await shim.client()).db('shop').collection('kept').countDocuments()).to.equal(2);
      await shim.stop();
    });
  });
}
