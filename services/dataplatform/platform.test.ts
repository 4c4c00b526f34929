import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { DataPlatformClient, PlatformTimeoutError } from './platform';

describe('data platform client', () => {
  let server: Server;
  let url: string;
  let client: DataPlatformClient | undefined;
  let answer: (req: IncomingMessage, body: string) => { status: number; body?: string } | null;
  const received: { method?: string; type?: string; body: string }[] = [];

  beforeEach(async () => {
    received.length = 0;
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        received.push({ method: req.method, type: req.headers['content-type'], body });
        const a = answer(req, body);
        if (!a) return; // never answers
        res.writeHead(a.status, a.status === 307 ? { location: '/elsewhere' } : {});
        res.end(a.body ?? '');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
  });

  afterEach(async () => {
    client?.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('POSTs the body as JSON and answers the status, on one kept-alive connection', async () => {
    answer = () => ({ status: 202, body: '{"ok":true}' });
    client = new DataPlatformClient(url, 1000);
    expect(await client.post({ a: 1 })).to.equal(202);
    expect(await client.post({ b: 'é' })).to.equal(202);
    expect(received).to.deep.equal([
      { method: 'POST', type: 'application/json', body: '{"a":1}' },
      { method: 'POST', type: 'application/json', body: '{"b":"é"}' },
    ]);
    const open = await new Promise<number>((resolve, reject) =>
      server.getConnections((err, n) => (err ? reject(err) : resolve(n))),
    );
    expect(open).to.equal(1);
  });

  it('answers a redirect as it is, without following it', async () => {
    answer = () => ({ status: 307 });
    client = new DataPlatformClient(url, 1000);
    expect(await client.post({})).to.equal(307);
    expect(received).to.have.length(1);
  });

  it('gives up with a timeout error when no status comes in time', async () => {
    answer = () => null;
    client = new DataPlatformClient(url, 150);
    const started = Date.now();
    const err = await client.post({}).then(
      () => expect.fail('no answer should be a timeout'),
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(PlatformTimeoutError);
    expect((err as Error).name).to.equal('TimeoutError');
    expect(Date.now() - started).to.be.within(140, 1000);
  });
});
