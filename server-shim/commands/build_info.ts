import { serverVersion } from '../options/index.js';
import { maximumDocumentSize } from '../values/index.js';
import { defineCommand } from './registry.js';

/** The version as `[major, minor, patch, 0]`. */
export function versionArray(): number[] {
  const [major = 0, minor = 0, patch = 0] = serverVersion.split('-')[0]!.split('.').map(Number);
  return [major, minor, patch, 0];
}

/** `buildInfo`: the server version and build facts. */
export const buildInfoCommand = defineCommand({
  name: 'buildInfo',
  aliases: ['buildinfo'],
  help: 'server version and build information',
  run: () => ({
    version: serverVersion,
    gitVersion: 'none',
    versionArray: versionArray(),
    modules: [],
    allocator: 'system',
    javascriptEngine: 'none',
    sysInfo: 'deprecated',
    openssl: { running: 'disabled', compiled: 'disabled' },
    buildEnvironment: { target_os: process.platform, target_arch: process.arch, distmod: 'node', nodeVersion: process.version },
    bits: 64,
    debug: false,
    maxBsonObjectSize: maximumDocumentSize,
    storageEngines: ['disagg', 'local'],
  }),
});
