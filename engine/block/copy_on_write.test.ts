import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Connection } from '../api.js';
import { ConnectionImpl } from '../connection/index.js';
import { EngineError } from '../errors.js';
import { expectSameEntries } from '../testing/expect_entries.js';
import { testHomes } from '../testing/homes.js';

const TURTLE = 'WiredTiger.turtle';
const COUNT = 20_000;
const keyOf = (i: number): string => `key${String(i).padStart(8, '0')}`;

/** Writes generation `round` of the data: every key, with some removed, in a fixed pattern. */
function writeRound(connection: Connection, round: number): Array<[string, string]> {
  const cursor = connection.openSession().openCursor('table:t');
  const expected: Array<[string, string]> = [];
  for (let i = 0; i < COUNT; i++) {
    if ((i + round) % 7 === 0) {
      cursor.remove(keyOf(i));
    } else {
      const value = `round ${round} value ${i} ${'r'.repeat((i * round) % 60)}`;
      cursor.put(keyOf(i), value);
      expected.push([keyOf(i), value]);
    }
  }
  return expected;
}

async function contents(homes: ReturnType<typeof testHomes>, home: string, storage: 'local' | 'disagg'): Promise<Array<[unknown, unknown]>> {
  const connection = await homes.open(home, { storage, readOnly: true });
  try {
    return [...connection.openSession().openCursor('table:t').entries()];
  } finally {
    await connection.close();
  }
}

describe('copy-on-write checkpoints (local files)', function () {
  this.timeout(60_000);
  const homes = testHomes();

  it('keeps the first checkpoint readable from the files a second checkpoint left, until the turtle names the second', async () => {
    const home = await homes.directory();
    const connection = await homes.open(home, { storage: 'local' });
    connection.createTable('table:t', 'key_format=S,value_format=S');
    const first = writeRound(connection, 1);
    await connection.checkpoint();
    const firstTurtle = readFileSync(join(home, TURTLE));
    const second = writeRound(connection, 2);
    await connection.checkpoint();

    // A crash after every block of the second checkpoint was written and synced, before the
    // turtle's rename: the files as they are now, with the first checkpoint's turtle.
    const crashed = await homes.directory();
    cpSync(home, crashed, { recursive: true });
    writeFileSync(join(crashed, TURTLE), firstTurtle);
    expectSameEntries(await contents(homes, crashed, 'local'), first, 'reopened before the second turtle');

    const completed = await homes.directory();
    cpSync(home, completed, { recursive: true });
    expectSameEntries(await contents(homes, completed, 'local'), second, 'reopened after the second turtle');
  });

  it('never writes over the last checkpoint when eviction writes pages between checkpoints', async () => {
    const home = await homes.directory();
    // The smallest cache: most of each round is written out by eviction, not by a checkpoint.
    const connection = await homes.open(home, { storage: 'local', cacheSize: 1024 * 1024 });
    connection.createTable('table:t', 'key_format=S,value_format=S');
    writeRound(connection, 1);
    await connection.checkpoint();
    const second = writeRound(connection, 2);
    await connection.checkpoint();
    const secondTurtle = readFileSync(join(home, TURTLE));
    for (let round = 3; round <= 5; round++) writeRound(connection, round);
    expect((connection as ConnectionImpl).cache.evictions).to.be.greaterThan(0);

    const crashed = await homes.directory();
    cpSync(home, crashed, { recursive: true });
    expect(readFileSync(join(crashed, TURTLE))).to.deep.equal(secondTurtle);
    expectSameEntries(await contents(homes, crashed, 'local'), second, 'reopened after evictions');
  });

  it('keeps the previous checkpoint readable after each of six checkpoints', async () => {
    const home = await homes.directory();
    const connection = await homes.open(home, { storage: 'local' });
    connection.createTable('table:t', 'key_format=S,value_format=S');
    const turtles: Buffer[] = [];
    const rounds: Array<Array<[string, string]>> = [];
    for (let round = 1; round <= 6; round++) {
      rounds.push(writeRound(connection, round));
      await connection.checkpoint();
      turtles.push(readFileSync(join(home, TURTLE)));
      // Every turtle from the previous checkpoint on must still open: the current one and the
      // one before it (as if the crash hit just before this checkpoint's rename).
      for (const back of [0, 1]) {
        if (round - 1 - back < 0) continue;
        const copy = await homes.directory();
        cpSync(home, copy, { recursive: true });
        writeFileSync(join(copy, TURTLE), turtles[round - 1 - back]!);
        expectSameEntries(await contents(homes, copy, 'local'), rounds[round - 1 - back]!, `round ${round}, turtle of round ${round - back}`);
      }
    }
  });
});

describe('copy-on-write checkpoints (page log)', function () {
  this.timeout(60_000);
  const homes = testHomes();

  async function flushedCopy(connection: Connection, home: string): Promise<string> {
    await (connection as ConnectionImpl).pageLog!.flush();
    const copy = await homes.directory();
    cpSync(home, copy, { recursive: true });
    return copy;
  }

  it('reopens the last completed checkpoint when pages written after it are on disk', async () => {
    const home = await homes.directory();
    const connection = await homes.open(home, { storage: 'disagg', cacheSize: 1024 * 1024 });
    connection.createTable('table:t', 'key_format=S,value_format=S');
    const first = writeRound(connection, 1);
    await connection.checkpoint();
    // Eviction puts pages of later rounds to the page log without a completion record.
    for (let round = 2; round <= 4; round++) writeRound(connection, round);
    expect((connection as ConnectionImpl).cache.evictions).to.be.greaterThan(0);
    const copy = await flushedCopy(connection, home);
    // A writable open abandons the records after the completion record; then read.
    const reopened = await homes.open(copy, { storage: 'disagg' });
    expectSameEntries([...reopened.openSession().openCursor('table:t').entries()], first);
    await reopened.close();
  });

  it('keeps the previous checkpoint current when a checkpoint fails after putting its pages', async () => {
    const home = await homes.directory();
    // The key provider fails its second getKey: the second checkpoint stops after step 2.
    const connection = await homes.open(home, { storage: 'disagg', keyProvider: 'mock', keyProviderConfig: 'fail_get_key=2' });
    connection.createTable('table:t', 'key_format=S,value_format=S');
    const first = writeRound(connection, 1);
    const firstCheckpoint = await connection.checkpoint();
    writeRound(connection, 2);
    let failure: unknown;
    try {
      await connection.checkpoint();
    } catch (error) {
      failure = error;
    }
    expect(failure).to.be.instanceOf(EngineError);
    expect(connection.lastCheckpoint()?.id).to.equal(firstCheckpoint.id);
    const copy = await flushedCopy(connection, home);
    const reopened = await homes.open(copy, { storage: 'disagg', keyProvider: 'mock' });
    expect(reopened.lastCheckpoint()?.id).to.equal(firstCheckpoint.id);
    expectSameEntries([...reopened.openSession().openCursor('table:t').entries()], first);
    await reopened.close();
  });
});
