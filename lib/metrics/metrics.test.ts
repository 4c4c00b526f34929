// The process registry (get-or-create, gauges read on scrape), the /metrics endpoint and the
// transaction counters. No infrastructure: everything in-process.
import { context, propagation, trace } from '@opentelemetry/api';
import {
  InMemorySpanExporter,
  NodeTracerProvider,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-node';
import { expect } from 'chai';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Lifecycle } from '../lifecycle';
import { createLogger } from '../log';
import { parseMetrics, samplesOf, scrape, valueOf } from '../../test/support/metrics';
import { freePort } from '../../test/support/mesh';
import { GRPC_SERVER_DURATION, OUTBOX_UNSENT, WAITING_ROOM_ACTIVE } from './catalog';
import { coalesce, Metrics, type MetricDef } from './registry';
import { serveMetrics, startMetrics } from './server';
import { createTxMetrics } from './tx';

const log = createLogger('silent');
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const REQUESTS: MetricDef<'kind'> = {
  name: 'test_requests_total',
  help: 'h',
  labelNames: ['kind'],
};

describe('Metrics registry', () => {
  it('has Node default metrics in a registry of its own', async () => {
    const a = new Metrics();
    const b = new Metrics();
    a.counter(REQUESTS).inc({ kind: 'x' });
    const text = await a.text();
    expect(valueOf(text, 'process_cpu_seconds_total')).to.be.a('number');
    expect(valueOf(text, 'nodejs_eventloop_lag_seconds')).to.be.a('number');
    expect(valueOf(text, 'test_requests_total', { kind: 'x' })).to.equal(1);
    // Another registry in the same process is untouched.
    expect(valueOf(await b.text(), 'test_requests_total')).to.equal(undefined);
    expect(a.contentType).to.match(/^text\/plain; version=0\.0\.4/);
  });

  it('returns the same metric for the same definition', async () => {
    const m = new Metrics({ defaultMetrics: false });
    const first = m.counter(REQUESTS);
    const again = m.counter({ ...REQUESTS, labelNames: ['kind'] });
    expect(again).to.equal(first);
    first.inc({ kind: 'a' });
    again.inc({ kind: 'a' });
    expect(m.histogram(GRPC_SERVER_DURATION)).to.equal(m.histogram(GRPC_SERVER_DURATION));
    expect(valueOf(await m.text(), 'test_requests_total', { kind: 'a' })).to.equal(2);
  });

  it('refuses a second, different definition of a name', () => {
    const m = new Metrics({ defaultMetrics: false });
    m.counter(REQUESTS);
    expect(() => m.gauge(REQUESTS)).to.throw(/already registered as a counter/);
    expect(() => m.counter({ ...REQUESTS, labelNames: ['other'] })).to.throw(/labels=kind/);
    m.histogram(GRPC_SERVER_DURATION);
    expect(() => m.histogram({ ...GRPC_SERVER_DURATION, buckets: [1, 2] })).to.throw(/buckets/);
    expect(() => m.gaugeOnScrape(REQUESTS, 'k', async () => [])).to.throw(/already registered/);
    // Names of the default metrics are taken too.
    const withDefaults = new Metrics();
    expect(() =>
      withDefaults.counter({ name: 'process_cpu_seconds_total', help: 'h', labelNames: [] }),
    ).to.throw();
  });

  it('reads scraped gauges from every source, on every scrape', async () => {
    const m = new Metrics({ defaultMetrics: false });
    let point = 3;
    m.gaugeOnScrape(OUTBOX_UNSENT, 'point', async () => [
      { labels: { service: 'point' }, value: point },
    ]);
    m.gaugeOnScrape(OUTBOX_UNSENT, 'concert', async () => [
      { labels: { service: 'concert' }, value: 7 },
    ]);
    let text = await m.text();
    expect(valueOf(text, 'outbox_unsent_events', { service: 'point' })).to.equal(3);
    expect(valueOf(text, 'outbox_unsent_events', { service: 'concert' })).to.equal(7);
    point = 0;
    text = await m.text();
    expect(valueOf(text, 'outbox_unsent_events', { service: 'point' })).to.equal(0);
  });

  it('leaves out a source that fails or is too slow, and a removed one', async () => {
    const m = new Metrics({ defaultMetrics: false, sourceTimeoutMs: 50 });
    let failing = true;
    m.gaugeOnScrape(OUTBOX_UNSENT, 'ok', async () => [{ labels: { service: 'ok' }, value: 1 }]);
    m.gaugeOnScrape(OUTBOX_UNSENT, 'down', async () => {
      if (failing) throw new Error('broker is down');
      return [{ labels: { service: 'down' }, value: 2 }];
    });
    const removeSlow = m.gaugeOnScrape(OUTBOX_UNSENT, 'slow', async () => {
      await sleep(500);
      return [{ labels: { service: 'slow' }, value: 3 }];
    });
    const started = Date.now();
    let text = await m.text();
    expect(Date.now() - started).to.be.lessThan(400);
    expect(samplesOf(text, 'outbox_unsent_events').map((s) => s.labels.service)).to.deep.equal([
      'ok',
    ]);
    failing = false;
    removeSlow();
    text = await m.text();
    expect(
      samplesOf(text, 'outbox_unsent_events')
        .map((s) => s.labels.service)
        .sort(),
    ).to.deep.equal(['down', 'ok']);
  });

  it('shows nothing, not 0, for an unlabelled gauge whose source fails', async () => {
    const m = new Metrics({ defaultMetrics: false });
    let up = false;
    m.gaugeOnScrape(WAITING_ROOM_ACTIVE, 'queue', async () => {
      if (!up) throw new Error('redis is down');
      return [{ labels: {}, value: 4 }];
    });
    let text = await m.text();
    expect(text).to.contain('# TYPE waiting_room_active gauge');
    expect(valueOf(text, 'waiting_room_active')).to.equal(undefined);
    up = true;
    text = await m.text();
    expect(valueOf(text, 'waiting_room_active')).to.equal(4);
  });

  it('reads its sources with tracing suppressed: a scrape starts no traces', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new NodeTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    provider.register();
    try {
      const m = new Metrics({ defaultMetrics: false });
      m.gaugeOnScrape(WAITING_ROOM_ACTIVE, 'queue', async () => {
        await sleep(1); // as a query would: the suppression must survive the await
        trace.getTracer('test').startSpan('scrape query').end();
        return [{ labels: {}, value: 1 }];
      });
      expect(valueOf(await m.text(), 'waiting_room_active')).to.equal(1);
      trace.getTracer('test').startSpan('traffic').end();
      expect(exporter.getFinishedSpans().map((s) => s.name)).to.deep.equal(['traffic']);
    } finally {
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    }
  });

  it('coalesce shares one in-flight call, then calls again', async () => {
    let calls = 0;
    const read = coalesce(async () => {
      calls++;
      await sleep(10);
      return calls;
    });
    expect(await Promise.all([read(), read(), read()])).to.deep.equal([1, 1, 1]);
    expect(await read()).to.equal(2);
  });

  it('two gauges fed by one coalesced source make one read per scrape', async () => {
    const m = new Metrics({ defaultMetrics: false });
    let reads = 0;
    const read = coalesce(async () => {
      reads++;
      await sleep(5);
      return { a: 1, b: 2 };
    });
    const A: MetricDef<never> = { name: 'test_a', help: 'h', labelNames: [] };
    const B: MetricDef<never> = { name: 'test_b', help: 'h', labelNames: [] };
    m.gaugeOnScrape(A, 's', async () => [{ labels: {}, value: (await read()).a }]);
    m.gaugeOnScrape(B, 's', async () => [{ labels: {}, value: (await read()).b }]);
    const text = await m.text();
    expect([valueOf(text, 'test_a'), valueOf(text, 'test_b'), reads]).to.deep.equal([1, 2, 1]);
  });
});

describe('transaction counters', () => {
  it('counts by every label, and are the same counters however often created', async () => {
    const m = new Metrics({ defaultMetrics: false });
    const tx = createTxMetrics(m);
    tx.transactions.inc({ flow: 'reserve', mode: 'saga', outcome: 'committed' });
    createTxMetrics(m).transactions.inc({ flow: 'reserve', mode: 'saga', outcome: 'committed' });
    tx.branchRetries.inc({ flow: 'pay', participant: 'point', action: 'try' }, 3);
    tx.compensations.inc({ flow: 'pay', step: 'usePoints' });
    tx.recoveryActions.inc({ state: 'COMMITTING', action: 'commit' });
    const text = await m.text();
    expect(
      valueOf(text, 'tx_total', { flow: 'reserve', mode: 'saga', outcome: 'committed' }),
    ).to.equal(2);
    expect(
      valueOf(text, 'tx_branch_retries_total', {
        flow: 'pay',
        participant: 'point',
        action: 'try',
      }),
    ).to.equal(3);
    expect(valueOf(text, 'tx_compensations_total', { flow: 'pay', step: 'usePoints' })).to.equal(1);
    expect(
      valueOf(text, 'tx_recovery_actions_total', { state: 'COMMITTING', action: 'commit' }),
    ).to.equal(1);
  });
});

describe('metrics endpoint', () => {
  it('answers GET /metrics with the text format, 404 elsewhere, 405 to other methods', async () => {
    const m = new Metrics();
    m.counter(REQUESTS).inc({ kind: 'served' }, 5);
    const server = await serveMetrics(m, '127.0.0.1', 0);
    const base = `http://127.0.0.1:${server.port}`;
    try {
      const text = await scrape(`${base}/metrics`);
      expect(valueOf(text, 'test_requests_total', { kind: 'served' })).to.equal(5);
      expect(valueOf(text, 'process_cpu_seconds_total')).to.be.a('number');
      expect(parseMetrics(text).length).to.be.greaterThan(10);
      expect((await fetch(`${base}/metrics?x=1`)).status).to.equal(200);
      const head = await fetch(`${base}/metrics`, { method: 'HEAD' });
      expect([head.status, await head.text()]).to.deep.equal([200, '']);
      for (const path of ['/', '/metrics/', '/metricsx', '/healthz']) {
        const res = await fetch(`${base}${path}`);
        expect(res.status, path).to.equal(404);
      }
      const post = await fetch(`${base}/metrics`, { method: 'POST' });
      expect(post.status).to.equal(405);
      expect(post.headers.get('allow')).to.equal('GET, HEAD');
    } finally {
      await server.close();
    }
    try {
      await fetch(`${base}/metrics`);
      expect.fail('the endpoint should be closed');
    } catch (err) {
      expect((err as Error).message).to.equal('fetch failed');
    }
  });

  it('closes with a kept-alive scraper connected', async () => {
    const server = await serveMetrics(new Metrics({ defaultMetrics: false }), '127.0.0.1', 0);
    await scrape(`http://127.0.0.1:${server.port}/metrics`); // fetch keeps the connection alive
    const started = Date.now();
    await server.close();
    expect(Date.now() - started).to.be.lessThan(1000);
  });

  it('startMetrics serves on the configured port until the lifecycle stops', async () => {
    const port = await freePort();
    const lifecycle = new Lifecycle(log);
    const metrics = await startMetrics(
      { metricsHost: '127.0.0.1', metricsPort: port },
      lifecycle,
      log,
    );
    metrics.counter(REQUESTS).inc({ kind: 'mesh' });
    const text = await scrape(`http://127.0.0.1:${port}/metrics`);
    expect(valueOf(text, 'test_requests_total', { kind: 'mesh' })).to.equal(1);
    await lifecycle.stop();
    try {
      await fetch(`http://127.0.0.1:${port}/metrics`);
      expect.fail('the endpoint should be closed');
    } catch (err) {
      expect((err as Error).message).to.equal('fetch failed');
    }
  });

  it('startMetrics on a port in use still gives the process its registry', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      const lifecycle = new Lifecycle(log);
      const metrics = await startMetrics(
        { metricsHost: '127.0.0.1', metricsPort: port },
        lifecycle,
        log,
      );
      metrics.counter(REQUESTS).inc({ kind: 'x' });
      expect(valueOf(await metrics.text(), 'test_requests_total')).to.equal(1);
      await lifecycle.stop();
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});
