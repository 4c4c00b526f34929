import { expect } from 'chai';
import { request as httpRequest } from 'node:http';
import { loadConfig } from '../lib/config';
import { Broker } from '../lib/events/broker';
import { ChannelPool } from '../lib/grpc/client';
import { Lifecycle } from '../lib/lifecycle';
import { createLogger } from '../lib/log';
import { Metrics } from '../lib/metrics/registry';
import { keysFromSecret } from '../lib/trust/keys';
import { Trust } from '../lib/trust/trust';
import type { ServiceContext } from '../lib/service';
import { freePort } from '../test/support/mesh';
import { DataplatformMock, startDataplatformMock, type MockDeliveries } from './dataplatform';

const log = createLogger('silent');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('data platform mock', () => {
  let mock: DataplatformMock;
  let base: string;

  beforeEach(async () => {
    mock = new DataplatformMock({ path: '/events', log });
    base = `http://127.0.0.1:${await mock.listen('127.0.0.1', 0)}`;
  });
  afterEach(() => mock.close());

  const post = (body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal) =>
    fetch(`${base}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
      signal,
    });
  const deliveries = async () =>
    (await (await fetch(`${base}/deliveries`)).json()) as MockDeliveries;
  const control = async (body?: unknown) => {
    const res = await fetch(`${base}/control`, {
      method: body === undefined ? 'GET' : 'PUT',
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  const until = async (ok: () => Promise<boolean>, ms = 3000) => {
    const end = Date.now() + ms;
    while (!(await ok())) {
      if (Date.now() > end) throw new Error('condition not reached in time');
      await sleep(10);
    }
  };

  it('records an event and answers 200', async () => {
    const res = await post({ eventId: 'e1', amount: 5 });
    expect(res.status).to.equal(200);
    expect(await res.json()).to.deep.equal({ ok: true, duplicate: false });
    expect(await deliveries()).to.deep.equal({
      deliveries: [{ eventId: 'e1', count: 1, accepted: 1, body: { eventId: 'e1', amount: 5 } }],
      unique: 1,
      received: 1,
    });
  });

  it('deduplicates by eventId, counting arrivals and keeping the first body', async () => {
    await post({ eventId: 'e1', n: 1 });
    const again = await post({ eventId: 'e1', n: 2 });
    expect(await again.json()).to.deep.equal({ ok: true, duplicate: true });
    await post({ eventId: 'e2' });
    expect(await deliveries()).to.deep.equal({
      deliveries: [
        { eventId: 'e1', count: 2, accepted: 2, body: { eventId: 'e1', n: 1 } },
        { eventId: 'e2', count: 1, accepted: 1, body: { eventId: 'e2' } },
      ],
      unique: 2,
      received: 3,
    });
  });

  it('refuses what is not a JSON event, recording nothing', async () => {
    expect((await post({ eventId: 'e1' }, { 'content-type': 'text/plain' })).status).to.equal(415);
    expect((await post('{not json')).status).to.equal(400);
    expect((await post([{ eventId: 'e1' }])).status).to.equal(400);
    expect((await post({ id: 'e1' })).status).to.equal(400);
    expect((await post({ eventId: '' })).status).to.equal(400);
    expect((await post({ eventId: 'e1', pad: 'x'.repeat(1024 * 1024) })).status).to.equal(413);
    expect(await deliveries()).to.deep.equal({ deliveries: [], unique: 0, received: 0 });
  });

  it('fails in fail mode, still counting what arrived but accepting nothing', async () => {
    expect((await control({ mode: 'fail' })).body).to.include({ mode: 'fail' });
    expect((await post({ eventId: 'e1' })).status).to.equal(500);
    expect((await post({ eventId: 'e1' })).status).to.equal(500);
    await control({ mode: 'ok' });
    expect((await post({ eventId: 'e1' })).status).to.equal(200);
    expect((await deliveries()).deliveries).to.deep.equal([
      { eventId: 'e1', count: 3, accepted: 1, body: { eventId: 'e1' } },
    ]);
  });

  it('holds requests while stalling and answers them 503 when the mode changes', async () => {
    await control({ mode: 'stall' });
    const stalled = post({ eventId: 'e1' });
    await until(async () => (await control()).body.held === 1);
    const raced = await Promise.race([stalled.then(() => 'answered'), sleep(200)]);
    expect(raced).to.equal(undefined);
    expect(await control({ mode: 'ok' })).to.deep.equal({
      status: 200,
      body: { mode: 'ok', delayMs: 1000, held: 0 },
    });
    expect((await stalled).status).to.equal(503);
    expect((await post({ eventId: 'e1' })).status).to.equal(200);
    expect((await deliveries()).deliveries[0]).to.include({ count: 2, accepted: 1 });
  });

  it('forgets a stalled request whose client hung up, without accepting it', async () => {
    await control({ mode: 'stall' });
    const gaveUp = post({ eventId: 'e1' }, {}, AbortSignal.timeout(100));
    await until(async () => (await control()).body.held === 1);
    try {
      await gaveUp;
      expect.fail('the request should have timed out');
    } catch (err) {
      expect((err as Error).name).to.equal('TimeoutError');
    }
    await until(async () => (await control()).body.held === 0);
    await control({ mode: 'ok' });
    expect((await deliveries()).deliveries[0]).to.include({ count: 1, accepted: 0 });
  });

  it('answers after delayMs in slow mode, whatever the mode becomes meanwhile', async () => {
    await control({ mode: 'slow', delayMs: 200 });
    const start = Date.now();
    const slow = post({ eventId: 'e1' });
    await until(async () => (await control()).body.held === 1);
    await control({ mode: 'fail' });
    expect((await slow).status).to.equal(200);
    expect(Date.now() - start).to.be.at.least(190);
    expect((await control()).body).to.deep.equal({ mode: 'fail', delayMs: 200, held: 0 });
  });

  it('validates control changes and keeps delayMs when it is not given', async () => {
    expect((await control({ mode: 'broken' })).status).to.equal(400);
    expect((await control({ mode: 'slow', delayMs: -1 })).status).to.equal(400);
    expect((await control({ mode: 'slow', delayMs: 1.5 })).status).to.equal(400);
    expect((await control({ mode: 'slow', delayMs: '5' })).status).to.equal(400);
    expect((await control([])).status).to.equal(400);
    await control({ mode: 'slow', delayMs: 50 });
    expect((await control({ mode: 'ok' })).body).to.deep.equal({
      mode: 'ok',
      delayMs: 50,
      held: 0,
    });
  });

  it('resets on DELETE /deliveries', async () => {
    await post({ eventId: 'e1' });
    expect((await fetch(`${base}/deliveries`, { method: 'DELETE' })).status).to.equal(204);
    expect(await deliveries()).to.deep.equal({ deliveries: [], unique: 0, received: 0 });
  });

  it('answers 404 for unknown paths and 405 with Allow for wrong methods', async () => {
    expect((await fetch(`${base}/nope`)).status).to.equal(404);
    const wrong = await fetch(`${base}/events`);
    expect(wrong.status).to.equal(405);
    expect(wrong.headers.get('allow')).to.equal('POST');
    expect((await fetch(`${base}/control`, { method: 'POST' })).status).to.equal(405);
  });

  it('refuses to take events on a path it serves itself', () => {
    expect(() => new DataplatformMock({ path: '/control', log })).to.throw(/serves that path/);
  });

  it('answers held requests 503 on close, then stops listening', async () => {
    await control({ mode: 'stall' });
    // A raw request on its own connection: fetch would not see the answer of a closing server.
    const status = new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        `${base}/events`,
        { method: 'POST', headers: { 'content-type': 'application/json' } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify({ eventId: 'e1' }));
    });
    await until(async () => (await control()).body.held === 1);
    await mock.close();
    expect(await status).to.equal(503);
    try {
      await fetch(`${base}/deliveries`);
      expect.fail('the mock should be closed');
    } catch (err) {
      expect((err as Error).message).to.equal('fetch failed');
    }
  });
});

describe('startDataplatformMock', () => {
  const contextFor = (url: string): ServiceContext => {
    const config = loadConfig({ ...process.env, DATAPLATFORM_URL: url });
    return {
      config,
      log,
      lifecycle: new Lifecycle(log),
      channels: new ChannelPool(1000),
      // Never connects: the mock does not use the broker.
      broker: new Broker({ url: config.amqpUrl, exchange: config.events.exchange }, log),
      metrics: new Metrics({ defaultMetrics: false }),
      trust: new Trust(keysFromSecret(config.meshSecret)),
    };
  };

  it('listens on the port and path of DATAPLATFORM_URL and stops with the lifecycle', async () => {
    const port = await freePort();
    const ctx = contextFor(`http://127.0.0.1:${port}/ingest/events`);
    expect(await startDataplatformMock(ctx)).to.equal(port);
    const res = await fetch(`http://127.0.0.1:${port}/ingest/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ eventId: 'e1' }),
    });
    expect(res.status).to.equal(200);
    await ctx.lifecycle.stop();
    ctx.channels.close();
    try {
      await fetch(`http://127.0.0.1:${port}/deliveries`);
      expect.fail('the mock should be closed');
    } catch (err) {
      expect((err as Error).message).to.equal('fetch failed');
    }
  });

  it('refuses a DATAPLATFORM_URL it cannot serve', async () => {
    for (const url of ['https://127.0.0.1:8443/events', 'not a url']) {
      try {
        await startDataplatformMock(contextFor(url));
        expect.fail(`should refuse ${url}`);
      } catch (err) {
        expect((err as Error).message).to.match(/DATAPLATFORM_URL/);
      }
    }
  });
});
