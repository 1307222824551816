import { expect } from 'chai';
import { parseCommandLine } from './index.js';

describe('options: command line', () => {
  it('parses mongod-style options with defaults', () => {
    const result = parseCommandLine(['--dbpath', '/data']);
    expect(result.kind).to.equal('run');
    if (result.kind !== 'run') return;
    expect(result.options).to.include({ dbpath: '/data', port: 27017, storage: 'disagg', magicRestore: false, repair: false, dryRun: false });
    expect(result.options.bindIp).to.deep.equal(['127.0.0.1']);
    expect(result.parameters.getInteger('checkpointIntervalSecs')).to.equal(60);
  });

  it('accepts --port=N and --setParameter=k=v and repeats --setParameter', () => {
    const result = parseCommandLine(['--dbpath=/d', '--port=0', '--setParameter=enableTestCommands=1', '--setParameter', 'checkpointIntervalSecs=5', '--bind_ip', '127.0.0.1,::1']);
    if (result.kind !== 'run') expect.fail(result.message);
    expect(result.options.port).to.equal(0);
    expect(result.options.bindIp).to.deep.equal(['127.0.0.1', '::1']);
    expect(result.parameters.getBoolean('enableTestCommands')).to.equal(true);
    expect(result.parameters.getInteger('checkpointIntervalSecs')).to.equal(5);
    expect(result.options.setParameter).to.deep.equal({ enableTestCommands: '1', checkpointIntervalSecs: '5' });
  });

  it('takes --pageLogRetain as a count or "all"', () => {
    for (const [value, expected] of [['3', 3], ['all', 'all']] as const) {
      const result = parseCommandLine(['--dbpath', '/d', '--pageLogRetain', value]);
      if (result.kind !== 'run') expect.fail(result.message);
      expect(result.options.pageLogRetain).to.equal(expected);
    }
  });

  const badCommandLines: [string, string[]][] = [
    ['a missing --dbpath', ['--port', '1']],
    ['an unknown option', ['--dbpath', '/d', '--frobnicate']],
    ['a non-numeric port', ['--dbpath', '/d', '--port', 'x']],
    ['a port out of range', ['--dbpath', '/d', '--port', '70000']],
    ['an unknown storage mode', ['--dbpath', '/d', '--storage', 'cloud']],
    ['an unknown server parameter', ['--dbpath', '/d', '--setParameter', 'nope=1']],
    ['a malformed server parameter', ['--dbpath', '/d', '--setParameter', 'enableTestCommands']],
    ['a bad boolean parameter value', ['--dbpath', '/d', '--setParameter', 'enableTestCommands=maybe']],
    ['a negative checkpoint interval', ['--dbpath', '/d', '--setParameter', 'checkpointIntervalSecs=-1']],
    ['both --magicRestore and --repair', ['--dbpath', '/d', '--magicRestore', '--repair']],
    ['--dryRun without --repair', ['--dbpath', '/d', '--dryRun']],
    ['a page log retention of 0', ['--dbpath', '/d', '--pageLogRetain', '0']],
    ['a page log retention that is not a count', ['--dbpath', '/d', '--pageLogRetain', 'most']],
    ['a stray argument', ['--dbpath', '/d', 'extra']],
  ];
  for (const [name, argv] of badCommandLines) {
    it(`exits 2 for ${name}`, () => {
      const result = parseCommandLine(argv);
      expect(result.kind).to.equal('exit');
      if (result.kind === 'exit') {
        expect(result.exitCode).to.equal(2);
        expect(result.stream).to.equal('stderr');
        expect(result.message).to.match(/^Error parsing command line/);
      }
    });
  }

  it('exits 0 with usage for --help and the version for --version', () => {
    const help = parseCommandLine(['--help']);
    expect(help).to.include({ kind: 'exit', exitCode: 0 });
    expect(help.kind === 'exit' && help.message).to.match(/--dbpath/);
    const version = parseCommandLine(['--version']);
    expect(version.kind === 'exit' && version.message).to.match(/8\.0\.0-shim/);
  });
});
