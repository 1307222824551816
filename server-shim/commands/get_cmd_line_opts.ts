import type { Document } from '../values/index.js';
import { defineCommand } from './registry.js';

/** `getCmdLineOpts`: the command line and the options parsed from it, in mongod's layout. */
export const getCmdLineOptsCommand = defineCommand({
  name: 'getCmdLineOpts',
  adminOnly: true,
  help: 'the command line the server was started with',
  run: (_request, context) => {
    const options = context.server.options;
    const parsed: Document = {
      net: { bindIp: options.bindIp.join(','), port: options.port },
      storage: { dbPath: options.dbpath, mode: options.storage, ...(options.cacheSizeMB === undefined ? {} : { cacheSizeMB: options.cacheSizeMB }),
        ...(options.pageLogRetain === undefined ? {} : { pageLogRetain: options.pageLogRetain }) },
    };
    if (options.replSet !== undefined) parsed.replication = { replSet: options.replSet };
    if (Object.keys(options.setParameter).length > 0) parsed.setParameter = { ...options.setParameter };
    if (options.logpath !== undefined) parsed.systemLog = { destination: 'file', path: options.logpath };
    if (options.keyProvider !== undefined) parsed.keyProvider = { module: options.keyProvider, ...(options.keyProviderConfig === undefined ? {} : { config: options.keyProviderConfig }) };
    return { argv: ['mongod-shim', ...options.argv], parsed };
  },
});
