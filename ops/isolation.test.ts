import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { freePort } from './isolation';

const listenOn = (port: number) =>
  new Promise<Server>((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', () => resolve(srv));
  });
const close = (srv: Server) => new Promise((resolve) => srv.close(resolve));

describe('freePort', () => {
  it('hands out distinct ports below the ephemeral range, each free to listen on', async () => {
    const range = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8');
    const ephemeralFrom = Number(range.trim().split(/\s+/)[0]);
    const ports: number[] = [];
    for (let i = 0; i < 20; i++) ports.push(await freePort());
    expect(new Set(ports).size).to.equal(20);
    for (const port of ports) {
      expect(port).to.be.within(10000, ephemeralFrom - 1);
      await close(await listenOn(port));
    }
  });

  it('never hands out a port someone listens on', async () => {
    // A port next to a handed-out one, which this test listens on itself.
    const port = (await freePort()) + 1;
    const listener = await listenOn(port);
    const onlyThat = { from: port, below: port + 1 };
    let refusal: unknown;
    try {
      await freePort(onlyThat);
    } catch (err) {
      refusal = err;
    } finally {
      await close(listener);
    }
    expect(String(refusal)).to.match(/no free port/);
    expect(await freePort(onlyThat)).to.equal(port);
  });
});
