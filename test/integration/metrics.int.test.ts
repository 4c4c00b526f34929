// /metrics of a process hosting the real point service and the real gateway (one registry, as
// with SERVICES=all): the series are there, and their counts move by exactly the traffic made.
import { expect } from 'chai';
import type { Config } from '../../lib/config';
import { dropDatabase } from '../../lib/db';
import { serveMetrics } from '../../lib/metrics/server';
import { startPoint } from '../../services/point/main';
import { signAccessToken } from '../../gateway/auth';
import { startGateway } from '../../gateway/main';
import { testContext, type TestContext } from '../support/context';
import { runId } from '../support/infra';
import { samplesOf, scrape, valueOf } from '../support/metrics';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('metrics of the point service behind the gateway', function () {
  this.timeout(60_000);
  let ctx: TestContext;
  let config: Config;
  let gateway = '';
  let metricsUrl = '';
  let token = '';
  const user = `mx${Date.now().toString(36)}`;

  before(async () => {
    ctx = await testContext(
      { DB_NAME_PREFIX: `${runId()}_`, POINT_GRPC_PORT: '0', GATEWAY_PORT: '0' },
      3000,
    );
    config = ctx.config;
    const pointPort = await startPoint(ctx);
    const down = '127.0.0.1:1';
    const gwConfig: Config = {
      ...config,
      grpcTargets: {
        ...config.grpcTargets,
        point: `127.0.0.1:${pointPort}`,
        queue: down,
        concert: down,
        reservation: down,
        payment: down,
        coordinator: down,
      },
    };
    gateway = `http://127.0.0.1:${await startGateway({ ...ctx, config: gwConfig })}`;
    const server = await serveMetrics(ctx.metrics, '127.0.0.1', 0);
    ctx.lifecycle.onStop('metrics http', () => server.close());
    metricsUrl = `http://127.0.0.1:${server.port}/metrics`;
    token = await signAccessToken(config.jwtSecret, { userId: user, ttlSeconds: 600 });
  });

  after(async () => {
    await ctx.stop();
    await dropDatabase(config.db.point);
  });

  async function call(method: string, path: string, body?: unknown): Promise<number> {
    const res = await fetch(`${gateway}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    await res.text();
    return res.status;
  }

  const grpcCount = (text: string, method: string, code: string) =>
    valueOf(text, 'grpc_server_duration_seconds_count', { service: 'point', method, code }) ?? 0;
  const httpCount = (text: string, method: string, route: string, code: string) =>
    valueOf(text, 'http_server_duration_seconds_count', { method, route, code }) ?? 0;

  /**
   * Scrapes until `settled` holds: the gateway records a request when its response has gone out,
   * which the client may see a moment before.
   */
  async function scrapeUntil(settled: (text: string) => boolean): Promise<string> {
    const deadline = Date.now() + 3000;
    let text = await scrape(metricsUrl);
    while (!settled(text) && Date.now() < deadline) {
      await sleep(20);
      text = await scrape(metricsUrl);
    }
    return text;
  }

  it('exposes the default, gRPC, HTTP and outbox series', async () => {
    const text = await scrape(metricsUrl);
    expect(valueOf(text, 'process_cpu_seconds_total')).to.be.a('number');
    expect(valueOf(text, 'nodejs_heap_size_used_bytes')).to.be.a('number');
    expect(text).to.contain('# TYPE grpc_server_duration_seconds histogram');
    expect(text).to.contain('# TYPE http_server_duration_seconds histogram');
    expect(valueOf(text, 'outbox_unsent_events', { service: 'point' })).to.be.a('number');
    expect(valueOf(text, 'outbox_lag_seconds', { service: 'point' })).to.be.a('number');
  });

  it('counts every call by method and code, in both histograms', async () => {
    const charge = '/api/v1/points/charge';
    const balance = '/api/v1/points/{user_id}';
    const before = await scrape(metricsUrl);

    for (let i = 0; i < 3; i++) expect(await call('POST', charge, { amount: 100 })).to.equal(200);
    expect(await call('POST', charge, { amount: -5 })).to.equal(400); // refused by the service
    expect(await call('POST', charge, { amount: 'x' })).to.equal(400); // refused by the gateway
    expect(await call('GET', `/api/v1/points/${user}`)).to.equal(200);
    expect(await call('GET', '/api/v1/points/someone_else')).to.equal(403);
    expect(await call('GET', '/no/such/path')).to.equal(404);

    const moved = (text: string) => ({
      grpcOk: grpcCount(text, 'Charge', 'OK') - grpcCount(before, 'Charge', 'OK'),
      grpcRefused:
        grpcCount(text, 'Charge', 'INVALID_ARGUMENT') -
        grpcCount(before, 'Charge', 'INVALID_ARGUMENT'),
      grpcBalance: grpcCount(text, 'GetBalance', 'OK') - grpcCount(before, 'GetBalance', 'OK'),
      http200: httpCount(text, 'POST', charge, '200') - httpCount(before, 'POST', charge, '200'),
      http400: httpCount(text, 'POST', charge, '400') - httpCount(before, 'POST', charge, '400'),
      balance200: httpCount(text, 'GET', balance, '200') - httpCount(before, 'GET', balance, '200'),
      balance403: httpCount(text, 'GET', balance, '403') - httpCount(before, 'GET', balance, '403'),
      unmatched:
        httpCount(text, 'GET', 'unmatched', '404') - httpCount(before, 'GET', 'unmatched', '404'),
    });
    const expected = {
      grpcOk: 3,
      grpcRefused: 1,
      grpcBalance: 1,
      http200: 3,
      http400: 2,
      balance200: 1,
      balance403: 1,
      unmatched: 1,
    };
    const after = await scrapeUntil((t) => JSON.stringify(moved(t)) === JSON.stringify(expected));
    expect(moved(after)).to.deep.equal(expected);

    // The histogram is whole: +Inf bucket = count, and time was measured.
    const labels = { service: 'point', method: 'Charge', code: 'OK' };
    expect(
      valueOf(after, 'grpc_server_duration_seconds_bucket', { ...labels, le: '+Inf' }),
    ).to.equal(valueOf(after, 'grpc_server_duration_seconds_count', labels));
    expect(valueOf(after, 'grpc_server_duration_seconds_sum', labels)).to.be.greaterThan(0);
    // Route templates only: no series carries a user id or a raw path.
    const routes = new Set(
      samplesOf(after, 'http_server_duration_seconds_count').map((s) => s.labels.route),
    );
    expect([...routes].filter((r) => r.includes(user) || r.includes('someone_else'))).to.deep.equal(
      [],
    );
    expect(routes.has('/no/such/path')).to.equal(false);
  });

  it('does not count health checks as gRPC traffic', async () => {
    // /readyz asks every routed service for its gRPC health (grpc.health.v1.Health/Check).
    expect(await call('GET', '/readyz')).to.equal(503); // the other services are down
    expect(await call('GET', '/healthz')).to.equal(200);
    const text = await scrapeUntil(
      (t) =>
        httpCount(t, 'GET', '/readyz', '503') >= 1 && httpCount(t, 'GET', '/healthz', '200') >= 1,
    );
    expect(httpCount(text, 'GET', '/readyz', '503')).to.equal(1);
    const methods = new Set(
      samplesOf(text, 'grpc_server_duration_seconds_count').map((s) => s.labels.method),
    );
    expect(methods.has('Check')).to.equal(false);
    expect(methods.has('Watch')).to.equal(false);
    expect([...methods].sort()).to.deep.equal(['Charge', 'GetBalance']);
  });
});
