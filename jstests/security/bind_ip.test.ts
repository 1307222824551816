import { expect } from 'chai';
import { MongoClient } from 'mongodb';
import { closeClientBounded } from '../libs/driver_clients.js';
import { shimsPerTest } from '../libs/index.js';
import { externalAddress, isLoopback, listeningAddresses, tryConnect } from './listening.js';

/**
 * Which addresses the server listens on. The listening sockets are read from /proc/net/tcp, so
 * the checks hold on a machine without another interface; where there is one, connecting
 * through it is tried as well.
 */
describe('security: the server listens on loopback unless told otherwise', function () {
  const shims = shimsPerTest();
  const external = externalAddress();

  it('listens only on loopback by default, and refuses a connection through another interface', async () => {
    const shim = await shims.launch();
    const addresses = await listeningAddresses(shim.port);
    expect(addresses, 'listening sockets').to.not.be.empty;
    expect(addresses.filter((address) => !isLoopback(address)), `listening on ${addresses.join(', ')}`).to.deep.equal([]);
    if (external !== undefined) expect(await tryConnect(external, shim.port)).to.equal('ECONNREFUSED');
    expect(await tryConnect('127.0.0.1', shim.port)).to.equal(true);
  });

  it('listens on every interface with --bind_ip 0.0.0.0, and a driver connects through another interface', async () => {
    const shim = await shims.launch({ args: ['--bind_ip', '0.0.0.0'] });
    expect(await listeningAddresses(shim.port)).to.include('0.0.0.0');
    if (external !== undefined) {
      const client = new MongoClient(`mongodb://${external}:${shim.port}/?directConnection=true`, { serverSelectionTimeoutMS: 10_000 });
      try {
        await client.connect();
        expect(await client.db('admin').command({ ping: 1 })).to.deep.include({ ok: 1 });
      } finally {
        await closeClientBounded(client);
      }
    }
  });

  it('listens on exactly the addresses of a --bind_ip list', async () => {
    const list = external === undefined ? ['127.0.0.1'] : ['127.0.0.1', external];
    const shim = await shims.launch({ args: ['--bind_ip', list.join(',')] });
    expect((await listeningAddresses(shim.port)).sort()).to.deep.equal([...list].sort());
  });
});
