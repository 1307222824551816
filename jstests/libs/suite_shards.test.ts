import { expect } from 'chai';
import { execa } from 'execa';
import { join } from 'node:path';
import { repositoryRoot } from './report.js';
import { listScenarioFiles, parseShard, splitIntoShards } from './suite_shards.js';

describe('jstests: splitting the suite into shards', () => {
  const files = Array.from({ length: 23 }, (_, index) => `dist/jstests/area${index % 5}/case${index}.test.js`);
  const timings = Object.fromEntries(files.slice(0, 20).map((file, index) => [file.replace(/^dist\//, '').replace(/\.js$/, '.ts'), ((index * 37) % 90) + 1]));

  it('puts every file in exactly one shard, whatever the count', () => {
    for (let count = 1; count <= 8; count += 1) {
      const shards = splitIntoShards(files, timings, count);
      expect(shards).to.have.length(count);
      expect(shards.flat().sort()).to.deep.equal([...files].sort());
    }
  });

  it('balances by recorded time: no shard exceeds the even share by more than the longest file', () => {
    const seconds = (file: string): number => timings[file.replace(/^dist\//, '').replace(/\.js$/, '.ts')] ?? 40;
    const total = files.reduce((sum, file) => sum + seconds(file), 0);
    const longest = Math.max(...files.map(seconds));
    const shards = splitIntoShards(files, timings, 4);
    for (const shard of shards) expect(shard.reduce((sum, file) => sum + seconds(file), 0)).to.be.at.most(total / 4 + longest);
    expect(splitIntoShards(files, timings, 4), 'the same on every machine').to.deep.equal(shards);
  });

  it('parses K/N and refuses what is not a shard', () => {
    expect(parseShard('2/4')).to.deep.equal({ index: 2, count: 4 });
    for (const bad of ['0/4', '5/4', '2', 'a/b', '1/0']) expect(() => parseShard(bad), bad).to.throw(/--shard/);
  });

  it('npm run jstests -- --shard K/N: the shards of the real suite add up to the whole suite', async function () {
    this.timeout(60_000);
    const root = repositoryRoot();
    const all = listScenarioFiles(root, join(root, 'dist', 'jstests'));
    const listed: string[] = [];
    for (let index = 1; index <= 4; index += 1) {
      const result = await execa(process.execPath, ['dist/jstests/suite_main.js', '--shard', `${index}/4`, '--list'], { cwd: root });
      listed.push(...result.stdout.split('\n').filter((line) => line !== ''));
    }
    expect(listed.sort()).to.deep.equal(all);
    const one = await execa(process.execPath, ['dist/jstests/suite_main.js', 'dist/jstests/server/wire.test.js', '--list'], { cwd: root });
    expect(one.stdout.trim(), 'a file named on the command line replaces the list').to.equal('dist/jstests/server/wire.test.js');
  });
});
