import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { HttpClient } from './http';
import { sleep } from './load';

describe('bench HTTP client', () => {
  let server: Server;
  let url: string;
  let client: HttpClient | undefined;

  beforeEach(async () => {
    server = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end('{"ok":true}');
    });
    // Longer than the client's idle time, as the gateway's (Node's default) is.
    server.keepAliveTimeout = 2000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterEach(async () => {
    client?.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const connections = () =>
    new Promise<number>((resolve, reject) =>
      server.getConnections((err, n) => (err ? reject(err) : resolve(n))),
    );

  it('keeps a connection alive between requests, then closes it itself once idle, before the server would', async () => {
    client = new HttpClient(url, 4, 150);
    expect(await client.request('GET', '/')).to.deep.equal({ status: 200, body: { ok: true } });
    expect(await client.request('GET', '/')).to.deep.equal({ status: 200, body: { ok: true } });
    expect(await connections()).to.equal(1);
    await sleep(400);
    expect(await connections()).to.equal(0);
    expect((await client.request('GET', '/')).status).to.equal(200);
  });

  it('does not cut a request that takes longer than the idle time', async () => {
    server.removeAllListeners('request');
    server.on('request', (_req, res) => {
      setTimeout(() => res.end('slow'), 300);
    });
    client = new HttpClient(url, 1, 100);
    expect(await client.request('GET', '/')).to.deep.equal({ status: 200, body: 'slow' });
  });
});
