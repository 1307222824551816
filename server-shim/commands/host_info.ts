import { arch, cpus, hostname, platform, release, totalmem } from 'node:os';
import { defineCommand } from './registry.js';

/** `hostInfo`: the machine the server runs on (the shell asks for it when it connects). */
export const hostInfoCommand = defineCommand({
  name: 'hostInfo',
  help: 'facts about the host machine',
  run: () => ({
    system: { currentTime: new Date(), hostname: hostname(), cpuAddrSize: 64, memSizeMB: Math.round(totalmem() / 1048576), numCores: cpus().length, cpuArch: arch() },
    os: { type: platform(), name: platform(), version: release() },
    extra: {},
  }),
});
