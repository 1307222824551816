import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, closeSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { expect } from 'chai';
import type { Connection } from '../api.js';
import type { ConnectionImpl } from './connection.js';
import { STORAGE_MODES, testHomes } from '../testing/homes.js';
import { collectReport, verifyHome } from '../verify/index.js';

const keyOf = (i: number): string => `key${String(i).padStart(6, '0')}`;
const COUNT = 4_000;

/**
 * A hash of every file under `home` by relative path. LMDB's `lock.mdb` is left out: it is the
 * reader table, rewritten by reads, not data.
 */
function fileHashes(home: string): Record<string, string> {
  const hashes: Record<string, string> = {};
  const walk = (directory: string): void => {
    for (const entry of readdirSync(directory, { withFileTypes: true })) {
      const path = join(directory, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name !== 'lock.mdb') hashes[relative(home, path)] = createHash('sha256').update(readFileSync(path)).digest('hex');
    }
  };
  walk(home);
  return hashes;
}

/** Copies the first `size` bytes of `from` to `to`, as a backup of a file still being written would. */
function copyPrefix(from: string, to: string, size: number): void {
  mkdirSync(dirname(to), { recursive: true });
  const buffer = Buffer.alloc(size);
  const fd = openSync(from, 'r');
  try {
    let done = 0;
    while (done < size) {
      const n = readSync(fd, buffer, done, size - done, done);
      if (n === 0) break;
      done += n;
    }
    expect(done, `${from} holds ${size} bytes`).to.equal(size);
  } finally {
    closeSync(fd);
  }
  writeFileSync(to, buffer);
}

function fill(connection: Connection, uri: string, round: number): void {
  const cursor = connection.openSession().openCursor(uri);
  for (let i = 0; i < COUNT; i++) cursor.put(keyOf(i), `${uri} round ${round} `.padEnd(120, 'x'));
  cursor.close();
}

describe('backups: the write freeze and the backup pin', function () {
  this.timeout(120_000);
  const homes = testHomes();

  for (const storage of STORAGE_MODES) {
    it(`${storage}: a freeze keeps every file as it is (no checkpoint, no eviction write) until released`, async () => {
      const home = await homes.directory();
      const connection = await homes.open(home, { storage, cacheSize: 1024 * 1024 });
      connection.createTable('table:shared', 'key_format=S,value_format=S');
      connection.createTable('table:local', 'key_format=S,value_format=S', { shared: false });
      fill(connection, 'table:shared', 0);
      fill(connection, 'table:local', 0);
      await connection.checkpoint();
      const hold = await connection.freezeWrites();
      const before = fileHashes(home);
      // Several times the cache: without the freeze, eviction writes dirty leaves to the files.
      for (let round = 1; round <= 3; round++) {
        fill(connection, 'table:shared', round);
        fill(connection, 'table:local', round);
      }
      let settled = false;
      const checkpoint = connection.checkpoint().then((info) => {
        settled = true;
        return info;
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(settled, 'a checkpoint waits for the freeze to end').to.equal(false);
      expect(fileHashes(home)).to.deep.equal(before);
      hold.release();
      await checkpoint;
      expect(fileHashes(home)).to.not.deep.equal(before);
      const cursor = connection.openSession().openCursor('table:local');
      expect(cursor.get(keyOf(7))).to.equal('table:local round 3 '.padEnd(120, 'x'));
    });

    it(`${storage}: files copied from a pin after later checkpoints rewrote everything open as the pinned checkpoint`, async () => {
      const home = await homes.directory();
      const connection = await homes.open(home, { storage });
      connection.createTable('table:shared', 'key_format=S,value_format=S');
      connection.createTable('table:local', 'key_format=S,value_format=S', { shared: false });
      fill(connection, 'table:shared', 0);
      fill(connection, 'table:local', 0);
      const pinned = await connection.checkpoint();
      const pin = await connection.pinCheckpointForBackup();
      expect(pin.checkpoint.id).to.equal(pinned.id);
      let busy: unknown;
      try {
        await connection.pinCheckpointForBackup();
      } catch (error) {
        busy = error;
      }
      expect((busy as { code?: string }).code, 'one pin at a time').to.equal('BUSY');
      expect(pin.files.map((f) => f.path)).to.include.members(['WiredTiger', 'WiredTiger.backup', 'WiredTiger.wt', 'local.wt']);
      expect(pin.files.map((f) => f.path)).to.not.include('WiredTiger.turtle');
      // Later rounds free every block of the pinned checkpoint and, unpinned, would reuse them
      // and prune its pages from the page log.
      for (let round = 1; round <= 4; round++) {
        fill(connection, 'table:shared', round);
        fill(connection, 'table:local', round);
        await connection.checkpoint();
      }
      connection.dropTable('table:local');
      await connection.checkpoint();
      if (storage === 'disagg') expect((connection as ConnectionImpl).pageLog!.getCompleteCheckpoint(pinned.lsn), 'the page log keeps the pinned checkpoint').to.not.equal(undefined);
      const copy = await homes.directory();
      for (const file of pin.files) copyPrefix(join(home, file.path), join(copy, file.path), file.size);
      pin.release();
      expect(existsSync(join(home, 'WiredTiger.backup'))).to.equal(false);
      expect(existsSync(join(home, 'pagelog.backup'))).to.equal(false);
      await connection.checkpoint();
      expect(existsSync(join(home, 'local.wt')), 'a dropped table\'s file goes once the pin is released').to.equal(false);
      if (storage === 'disagg') {
        await connection.checkpoint();
        expect((connection as ConnectionImpl).pageLog!.getCompleteCheckpoint(pinned.lsn), 'released, the pinned checkpoint is pruned').to.equal(undefined);
      }
      await connection.close();

      const restored = await homes.open(copy, { storage });
      expect(restored.lastCheckpoint()?.timestamp).to.equal(pinned.timestamp);
      for (const uri of ['table:shared', 'table:local']) {
        const cursor = restored.openSession().openCursor(uri);
        let count = 0;
        for (const [key, value] of cursor.entries()) {
          expect(value, String(key)).to.equal(`${uri} round 0 `.padEnd(120, 'x'));
          count++;
        }
        expect(count).to.equal(COUNT);
      }
      await restored.close();
      const report = await collectReport(verifyHome(copy));
      expect(report.findings.filter((f) => f.severity === 'error')).to.deep.equal([]);
      expect(statSync(join(copy, 'WiredTiger.turtle')).isFile()).to.equal(true);
    });
  }

  for (const storage of STORAGE_MODES) {
    it(`${storage}: a pin lists the journal files from its checkpoint_lsn through the one holding a timestamp, keeps them, and a copy with them reaches it`, async () => {
      const home = await homes.directory();
      const connection = await homes.open(home, { storage, journal: true, journalFileMax: 100 * 1024, journalCommitIntervalMs: 0 });
      connection.createTable('table:oplog', 'key_format=S,value_format=S', { shared: false });
      let ts = 0n;
      const commit = (count: number): bigint => {
        const session = connection.openSession();
        for (let i = 0; i < count; i++) {
          ts += 1n;
          session.beginTransaction();
          const cursor = session.openCursor('table:oplog');
          cursor.put(keyOf(Number(ts)), `entry ${ts} `.padEnd(400, 'x'));
          cursor.close();
          session.commitTransaction({ commitTimestamp: ts });
          connection.setTimestamps({ stable: ts });
        }
        session.close();
        return ts;
      };
      commit(600);
      const pinned = await connection.checkpoint();
      expect(pinned.timestamp).to.equal(600n);
      const turtle = readFileSync(join(home, 'WiredTiger.turtle'), 'utf8');
      const checkpointFile = Number(/checkpoint_lsn=\((\d+),/.exec(turtle)![1]);
      const pin = await connection.pinCheckpointForBackup();
      expect(pin.files.map((f) => f.path).filter((p) => p.startsWith('WiredTigerLog.')), 'the checkpoint opens without journal files').to.deep.equal([]);
      expect(pin.journalFilesThrough(pinned.timestamp), 'the checkpoint holds its own timestamp').to.deep.equal([]);
      // Several files' worth of commits after the checkpoint (each file holds about 200).
      const middle = commit(500) - 250n;
      const last = commit(500);
      await connection.syncJournal();
      const logName = (n: number): string => `WiredTigerLog.${String(n).padStart(10, '0')}`;
      const fileOf = (timestamp: bigint): number => {
        const numbers = readdirSync(home).filter((n) => n.startsWith('WiredTigerLog.')).map((n) => Number(n.slice('WiredTigerLog.'.length))).sort((a, b) => a - b);
        for (const n of numbers) {
          const text = readFileSync(join(home, logName(n))).toString('latin1');
          if (text.includes(`entry ${timestamp} `)) return n;
        }
        throw new Error(`no journal file holds ${timestamp}`);
      };
      const range = (from: number, to: number): string[] => Array.from({ length: to - from + 1 }, (_, i) => logName(from + i));
      const toMiddle = pin.journalFilesThrough(middle);
      expect(fileOf(middle)).to.be.greaterThan(checkpointFile);
      expect(toMiddle.map((f) => f.path)).to.deep.equal(range(checkpointFile, fileOf(middle)));
      const toLast = pin.journalFilesThrough(last);
      expect(toLast.map((f) => f.path)).to.deep.equal(range(checkpointFile, fileOf(last)));
      for (const file of toLast) expect(file.size, file.path).to.equal(statSync(join(home, file.path)).size);
      // Checkpoints while pinned would remove every file before their checkpoint_lsn.
      await connection.checkpoint();
      commit(10);
      await connection.checkpoint();
      for (const file of toLast) expect(existsSync(join(home, file.path)), `${file.path} is kept while pinned`).to.equal(true);
      const copy = await homes.directory();
      for (const file of [...pin.files, ...toMiddle]) copyPrefix(join(home, file.path), join(copy, file.path), file.size);
      pin.release();
      commit(1);
      await connection.checkpoint();
      expect(existsSync(join(home, logName(checkpointFile))), 'released, the next checkpoint removes the files before its checkpoint_lsn').to.equal(false);
      await connection.close();

      const restored = await homes.open(copy, { storage, journal: true });
      const cursor = restored.openSession().openCursor('table:oplog');
      for (let i = 1n; i <= middle; i++) expect(cursor.get(keyOf(Number(i))), `commit ${i}`).to.equal(`entry ${i} `.padEnd(400, 'x'));
      cursor.close();
      await restored.close();
    });
  }

  it('makes exclusive work (the point-in-time path, repair) wait for a freeze to end', async () => {
    const home = await homes.directory();
    const connection = (await homes.open(home, { storage: 'local' })) as ConnectionImpl;
    const hold = await connection.freezeWrites();
    let done = false;
    const work = connection.exclusive(async () => {
      connection.createTable('table:made', 'key_format=S,value_format=S');
      await connection.checkpointHoldingLock();
      done = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(done).to.equal(false);
    expect(existsSync(join(home, 'made.wt'))).to.equal(false);
    hold.release();
    await work;
    expect(existsSync(join(home, 'made.wt'))).to.equal(true);
  });

  it('removes the backup files a crash left in a live home at the next open', async () => {
    const home = await homes.directory();
    const connection = await homes.open(home, { storage: 'disagg' });
    connection.createTable('table:t', 'key_format=S,value_format=S');
    fill(connection, 'table:t', 0);
    await connection.checkpoint();
    await connection.pinCheckpointForBackup();
    fill(connection, 'table:t', 1);
    // Closed without releasing, as a crash would leave it; the next open is the live home's.
    await connection.close();
    writeFileSync(join(home, 'WiredTiger.backup'), readFileSync(join(home, 'WiredTiger.turtle')));
    const reopened = await homes.open(home, { storage: 'disagg' });
    expect(existsSync(join(home, 'WiredTiger.backup'))).to.equal(false);
    expect(reopened.openSession().openCursor('table:t').get(keyOf(1))).to.equal('table:t round 1 '.padEnd(120, 'x'));
  });
});
