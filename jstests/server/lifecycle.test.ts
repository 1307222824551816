import { expect } from 'chai';
import { execa } from 'execa';
import { createServer, type AddressInfo } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { mkdir, rm } from 'node:fs/promises';
import { dir } from 'tmp-promise';
import { builtPaths, freePort, parseLogLines, runReadPath, runShim, shimsPerTest, ShimStateError } from '../libs/index.js';

/** Gone, or ended and waiting to be reaped (an orphan in a container whose init never reaps). */
function hasEnded(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/** A server started with `--fork` on a new dbpath; `cleanup` kills it if it still runs and removes its files. */
async function forkedServer(): Promise<{ dbpath: string; logpath: string; port: number; pid: number; stdout: string; cleanup: () => Promise<void> }> {
  const home = await dir({ prefix: 'fork-', unsafeCleanup: true });
  const dbpath = join(home.path, 'db');
  await mkdir(dbpath);
  const logpath = join(home.path, 'mongod.log');
  const port = await freePort();
  const forked = await runShim(['--dbpath', dbpath, '--port', String(port), '--fork', '--logpath', logpath]);
  const pid = Number(/forked process: (\d+)/.exec(forked.stdout)?.[1]);
  const cleanup = async (): Promise<void> => {
    if (Number.isSafeInteger(pid) && !hasEnded(pid)) process.kill(pid, 'SIGKILL');
    await home.cleanup();
  };
  if (forked.exitCode !== 0) {
    await cleanup();
    expect.fail(`--fork exited ${forked.exitCode}: ${forked.stdout}${forked.stderr}`);
  }
  return { dbpath, logpath, port, pid, stdout: forked.stdout, cleanup };
}

describe('mongod-shim: process lifecycle', function () {
  const shims = shimsPerTest();

  it('keeps data written before fsync across kill -9 and restart', async () => {
    const shim = await shims.launch();
    const collection = (await shim.client()).db('durable').collection('things');
    await collection.insertMany([{ _id: 1, v: 'one' }, { _id: 2, v: 'two' }] as never[]);
    await (await shim.client()).db('admin').command({ fsync: 1 });
    const exit = await shim.kill();
    expect(exit.signal).to.equal('SIGKILL');
    expect(existsSync(join(shim.dbpath, 'mongod.lock')), 'a crash leaves the lock file').to.equal(true);
    await shim.start();
    const reopened = (await shim.client()).db('durable').collection('things');
    expect(await reopened.find().sort({ _id: 1 }).toArray()).to.deep.equal([
      { _id: 1, v: 'one' },
      { _id: 2, v: 'two' },
    ]);
    const collections = await (await shim.client()).db('durable').listCollections().toArray();
    expect(collections.map((entry) => entry.name)).to.deep.equal(['things']);
  });

  it('takes periodic checkpoints every checkpointIntervalSecs, so a crash after one keeps the data', async () => {
    const shim = await shims.launch({ setParameters: { checkpointIntervalSecs: 1 } });
    const client = await shim.client();
    await client.db('periodic').collection('c').insertOne({ _id: 'unsynced' as never });
    const written = (await client.db('admin').command({ serverStatus: 1 })).disagg.stableTimestamp;
    const deadline = Date.now() + 10_000;
    for (;;) {
      const checkpoint = (await client.db('admin').command({ serverStatus: 1 })).disagg.lastCheckpoint;
      if (checkpoint.timestamp.greaterThanOrEqual(written)) break;
      if (Date.now() > deadline) expect.fail('no periodic checkpoint within 10 s');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await shim.kill();
    await shim.start();
    expect(await (await shim.client()).db('periodic').collection('c').countDocuments()).to.equal(1);
  });

  it('keeps everything across a clean stop (the final checkpoint)', async () => {
    const shim = await shims.launch({ storage: 'local' });
    await (await shim.client()).db('clean').collection('c').insertOne({ _id: 'kept' as never });
    await shim.restart();
    expect(await (await shim.client()).db('clean').collection('c').countDocuments()).to.equal(1);
  });

  it('holds mongod.lock with its PID while running and removes it at a clean exit', async () => {
    const shim = await shims.launch();
    const lock = join(shim.dbpath, 'mongod.lock');
    expect(Number.parseInt(readFileSync(lock, 'utf8'), 10)).to.be.a('number').and.greaterThan(0);
    await shim.stop();
    expect(existsSync(lock)).to.equal(false);
  });

  it('refuses a second server on the same dbpath with exit code 6', async () => {
    const shim = await shims.launch();
    const second = await runShim(['--dbpath', shim.dbpath, '--port', '0'], { timeoutMs: 30_000 });
    expect(second.exitCode).to.equal(6);
    const fatal = parseLogLines(second.stdout).find((line) => line.s === 'F');
    expect(fatal?.msg).to.match(/already running on the dbpath/);
    expect(fatal?.attr).to.include({ codeName: 'DBPathInUse' });
    // The first server is unaffected.
    expect(await (await shim.client()).db('admin').command({ ping: 1 })).to.deep.include({ ok: 1 });
  });

  it('takes over a stale lock left by a killed server', async () => {
    const shim = await shims.launch();
    await shim.kill();
    await shim.start();
    expect(shim.state).to.equal('running');
  });

  it('exits 0 on SIGTERM and on the shutdown command', async () => {
    const shim = await shims.launch();
    await shim.stop();
    expect(shim.exit?.exitCode).to.equal(0);
    expect(shim.logLines().some((line) => line.msg === 'Now exiting')).to.equal(true);
    await shim.start();
    await shim.stop({ useShutdownCommand: true });
    expect(shim.exit?.exitCode).to.equal(0);
  });

  it('exits 0 on SIGINT', async () => {
    const shim = await shims.launch();
    shim.signal('SIGINT');
    const exit = await shim.waitForExit();
    expect(exit.exitCode).to.equal(0);
  });

  it('exits 2 for bad options', async () => {
    for (const args of [['--port', '1'], ['--dbpath', '/tmp', '--port', 'abc'], ['--dbpath', '/tmp', '--bogus'], ['--dbpath', '/tmp', '--storage', 'cloud'], ['--dbpath', '/tmp', '--setParameter', 'noSuchParameter=1']]) {
      const result = await runShim(args);
      expect(result.exitCode, args.join(' ')).to.equal(2);
      expect(result.stderr, args.join(' ')).to.match(/Error parsing command line/);
    }
  });

  it('exits 100 when the dbpath does not exist, as mongod does', async () => {
    const result = await runShim(['--dbpath', '/nonexistent/mongod-shim-dbpath', '--port', '0']);
    expect(result.exitCode).to.equal(100);
    const fatal = parseLogLines(result.stdout).find((line) => line.s === 'F');
    expect(fatal?.attr).to.include({ codeName: 'NonExistentPath' });
  });

  it('accepts --port=N and --setParameter=k=v forms', async () => {
    const shim = shims.create({ args: ['--setParameter=checkpointIntervalSecs=5'] });
    await shim.start();
    const reply = await (await shim.client()).db('admin').command({ getParameter: 1, checkpointIntervalSecs: 1 });
    expect(reply.checkpointIntervalSecs).to.equal(5);
  });

  it('exits 48 when the port is in use', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const shim = await shims.launch();
      await shim.stop();
      const result = await runShim(['--dbpath', shim.dbpath, '--port', String(port)], { timeoutMs: 30_000 });
      expect(result.exitCode).to.equal(48);
      expect(parseLogLines(result.stdout).some((line) => line.msg === 'Error setting up listener')).to.equal(true);
    } finally {
      blocker.close();
    }
  });

  it('exits 6 with the error code when the dbpath holds a corrupt engine home', async () => {
    const shim = await shims.launch({ storage: 'local' });
    await shim.stop();
    // A turtle file that does not parse: the engine must refuse to open.
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(shim.dbpath, 'WiredTiger.turtle'), 'garbage that is not a turtle file\n');
    const result = await runShim(['--dbpath', shim.dbpath, '--port', '0', '--storage', 'local'], { timeoutMs: 30_000 });
    expect(result.exitCode).to.equal(6);
    const fatal = parseLogLines(result.stdout).find((line) => line.s === 'F');
    expect(fatal?.msg).to.match(/Failed to open the storage engine/);
    expect(fatal?.attr).to.have.property('engineErrorCode');
  });

  it('runs --repair on a sound dbpath and exits 0, and refuses --magicRestore without a restore stream (exit 6)', async () => {
    const shim = shims.create();
    await shim.start();
    await shim.stop();
    const repair = await runShim(['--dbpath', shim.dbpath, '--repair'], { timeoutMs: 30_000 });
    expect(repair.exitCode, repair.stdout.slice(-2000)).to.equal(0);
    expect(parseLogLines(repair.stdout).some((line) => line.c === 'REPAIR' && line.msg === 'Repair completed')).to.equal(true);
    const restore = await runShim(['--dbpath', shim.dbpath, '--replSet', 'rs0', '--magicRestore'], { input: Buffer.alloc(0), timeoutMs: 30_000 });
    expect(restore.exitCode).to.equal(6);
    expect(parseLogLines(restore.stdout).find((line) => line.s === 'F')?.attr).to.include({ code: 8290500 });
  });

  it('errors on calls in the wrong lifecycle state', async () => {
    const shim = shims.create();
    expect(() => shim.port).to.throw(ShimStateError);
    await shim.stop().then(
      () => expect.fail('stop of a new server should fail'),
      (error: unknown) => expect(error).to.be.instanceOf(ShimStateError),
    );
    await shim.start();
    await shim.start().then(
      () => expect.fail('a second start should fail'),
      (error: unknown) => expect(error).to.be.instanceOf(ShimStateError),
    );
    await Promise.all([shim.stop(), shim.stop()]);
    expect(shim.state).to.equal('stopped');
  });

  describe('--fork and --shutdown', () => {
    it('--fork returns once the server accepts connections; --shutdown stops it cleanly and the data stays', async () => {
      const server = await forkedServer();
      try {
        expect(server.stdout).to.include('child process started successfully, parent exiting');
        // Ready means ready: the first connection after the parent exits succeeds.
        const client = await MongoClient.connect(`mongodb://127.0.0.1:${server.port}/?directConnection=true`, { serverSelectionTimeoutMS: 2000 });
        await client.db('forked').collection('c').insertOne({ _id: 1 } as never);
        await client.close();
        const stopped = await runShim(['--dbpath', server.dbpath, '--shutdown']);
        expect(stopped.exitCode, stopped.stdout + stopped.stderr).to.equal(0);
        expect(stopped.stdout).to.include(`killing process with pid: ${server.pid}`);
        expect(hasEnded(server.pid), 'the server has ended when --shutdown returns').to.equal(true);
        const log = parseLogLines(readFileSync(server.logpath, 'utf8'));
        expect(log.at(-1)).to.deep.include({ msg: 'Shutting down', attr: { exitCode: 0 } });
        const dump = await runReadPath(['-h', server.dbpath, 'dump', 'table:forked.c']);
        expect(dump.exitCode, dump.stderr).to.equal(0);
      } finally {
        await server.cleanup();
      }
    });

    it('a forked server keeps running when its parent dies before it is ready, and its fatal lines reach --logpath', async () => {
      const home = await dir({ prefix: 'fork-', unsafeCleanup: true });
      const dbpath = join(home.path, 'db');
      await mkdir(dbpath);
      const logpath = join(home.path, 'mongod.log');
      const port = await freePort();
      let pid: number | undefined;
      try {
        const parent = execa(process.execPath, [builtPaths.mongodShim, '--dbpath', dbpath, '--port', String(port), '--fork', '--logpath', logpath, '--setParameter', 'enableTestCommands=1'], { reject: false });
        // The parent dies once its child has started but before the child has said it is
        // ready (as a ^C in the parent's terminal would).
        const started = Date.now() + 30_000;
        while (!(existsSync(logpath) && readFileSync(logpath, 'utf8').includes('MongoDB starting')) && Date.now() < started) {
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
        parent.kill('SIGKILL');
        await parent;
        expect(readFileSync(logpath, 'utf8'), 'the parent died before the server was ready').to.not.include('Waiting for connections');
        const client = await MongoClient.connect(`mongodb://127.0.0.1:${port}/?directConnection=true`, { serverSelectionTimeoutMS: 30_000 });
        try {
          const hello = await client.db('admin').command({ hello: 1 });
          expect(hello.ok).to.equal(1);
          pid = Number(readFileSync(join(dbpath, 'mongod.lock'), 'utf8').split('\n')[0]);
          await new Promise((resolve) => setTimeout(resolve, 500));
          expect(hasEnded(pid), 'the server outlives its parent').to.equal(false);
          await client.db('admin').command({ injectFault: 'unhandledRejection' }).catch(() => undefined);
        } finally {
          await client.close();
        }
        const deadline = Date.now() + 10_000;
        while (!hasEnded(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
        const fatal = parseLogLines(readFileSync(logpath, 'utf8')).filter((line) => line.s === 'F');
        expect(fatal.map((line) => line.msg)).to.include('Unhandled promise rejection');
        expect(fatal[0]!.id).to.equal(23090);
      } finally {
        if (pid !== undefined && !hasEnded(pid)) process.kill(pid, 'SIGKILL');
        await home.cleanup();
      }
    });

    it('--shutdown exits 1 when the server could not shut down cleanly (its final checkpoint failed), and the lock it leaves names it', async () => {
      const server = await forkedServer();
      try {
        const client = await MongoClient.connect(`mongodb://127.0.0.1:${server.port}/?directConnection=true`);
        await client.db('app').collection('c').insertOne({ _id: 1 } as never);
        await client.close();
        // The page log disappears under the server: its final checkpoint cannot be written.
        await rm(join(server.dbpath, 'pagelog'), { recursive: true, force: true });
        const stopped = await runShim(['--dbpath', server.dbpath, '--shutdown']);
        expect(stopped.exitCode, stopped.stdout).to.equal(1);
        expect(stopped.stdout).to.include('ended without a clean shutdown');
        expect(hasEnded(server.pid)).to.equal(true);
        expect(readFileSync(join(server.dbpath, 'mongod.lock'), 'utf8').split('\n')[0]).to.equal(String(server.pid));
        expect(parseLogLines(readFileSync(server.logpath, 'utf8')).at(-1)).to.deep.include({ msg: 'Shutting down', attr: { exitCode: 6 } });
      } finally {
        await server.cleanup();
      }
    });

    it("--fork exits with the server's own exit code when the server cannot start", async () => {
      const home = await dir({ prefix: 'fork-', unsafeCleanup: true });
      try {
        const forked = await runShim(['--dbpath', join(home.path, 'missing'), '--port', '0', '--fork', '--logpath', join(home.path, 'mongod.log')]);
        expect(forked.exitCode).to.equal(100);
        expect(forked.stdout).to.include('ERROR: child process failed, exited with 100');
        expect(readFileSync(join(home.path, 'mongod.log'), 'utf8')).to.include('NonExistentPath');
      } finally {
        await home.cleanup();
      }
    });

    it('refuses --fork without --logpath, and --shutdown says so when no server runs', async () => {
      const home = await dir({ prefix: 'fork-', unsafeCleanup: true });
      try {
        const noLog = await runShim(['--dbpath', home.path, '--fork']);
        expect(noLog.exitCode).to.equal(2);
        expect(noLog.stderr).to.include('--fork has to be used with --logpath');
        const nobody = await runShim(['--dbpath', home.path, '--shutdown']);
        expect(nobody.exitCode).to.equal(1);
        expect(nobody.stdout).to.include(`There doesn't seem to be a server running with dbpath: ${home.path}`);
      } finally {
        await home.cleanup();
      }
    });
  });
});

